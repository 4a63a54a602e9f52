/**
 * Hostile clients against the model server as users run it (`tropic-harness model serve`, a child
 * process on an ephemeral loopback port, short idle timeout): a storm of 50 simultaneous
 * connections while one client holds the chip, 64 KiB lengths, random bytes, a client that
 * connects and never sends, a client that floods and never reads. Asserted: the server never
 * exits (crashes 0), every reply parses as a tagged frame answering its request (its tag echoed,
 * or EXCEPTION / INVALID / UNSUPPORTED: off-protocol replies 0), waiting clients are served in
 * turn as documented (queued, unread, until the holder leaves or idles out), the server's memory
 * stays bounded under the flood, and a normal client is served afterwards. The figures are
 * printed and attached (hostile-figures.json).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';
import { TAG, TaggedFrameParser, encodeFrame, MODEL_SERVER_MAX_PAYLOAD, type TaggedFrame } from '../protocol/tagged-frame.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { RawClient } from './model-raw-client.js';

const IDLE_TIMEOUT_MS = 1500;
const ERROR_TAGS: number[] = [TAG.EXCEPTION, TAG.INVALID, TAG.UNSUPPORTED];

interface Figures {
  messagesSent: number;
  bytesSent: number;
  replies: number;
  offProtocolReplies: number;
  crashes: number;
  stormClients: number;
  stormServed: number;
  stormAnsweredWhileHeld: number;
  idleDisconnectFreedChip: boolean;
  floodBytesWritten: number;
  floodOutcome: string;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  rssPeakKiB: number;
}

const figures: Figures = {
  messagesSent: 0,
  bytesSent: 0,
  replies: 0,
  offProtocolReplies: 0,
  crashes: 0,
  stormClients: 50,
  stormServed: 0,
  stormAnsweredWhileHeld: 0,
  idleDisconnectFreedChip: false,
  floodBytesWritten: 0,
  floodOutcome: '',
  rssBeforeKiB: 0,
  rssAfterKiB: 0,
  rssPeakKiB: 0,
};

let server: ChildProcess;
let port = 0;
let serverOutput = '';
let exit: string | undefined;

/** VmRSS / VmHWM of the server process, KiB (Linux /proc). */
function memory(): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** The requests a byte stream holds, as the server frames them (oversize frames included: they are answered too). */
function requestsIn(bytes: Uint8Array): TaggedFrame[] {
  return new TaggedFrameParser(MODEL_SERVER_MAX_PAYLOAD, 'discard').push(bytes);
}

/** A reply answers its request when it echoes the request's tag or is one of the three error tags. */
function checkReplies(requests: TaggedFrame[], replies: TaggedFrame[]): void {
  figures.replies += replies.length;
  replies.forEach((r, i) => {
    const ok = i < requests.length && (r.tag === requests[i].tag || ERROR_TAGS.includes(r.tag));
    if (!ok) figures.offProtocolReplies++;
  });
}

/** Send bytes on a raw client, counting them. */
function send(c: RawClient, bytes: Uint8Array): void {
  figures.messagesSent += requestsIn(bytes).length;
  figures.bytesSent += bytes.length;
  c.sock.write(bytes);
}

async function collect(c: RawClient, n: number, timeoutMs = 20_000): Promise<TaggedFrame[]> {
  const out: TaggedFrame[] = [];
  for (let i = 0; i < n; i++) out.push(await c.next(timeoutMs));
  return out;
}

/** One chip-select window with a Get_Info CHIP_ID request: what a real host does first. */
const windowBytes = () => Buffer.concat([encodeFrame(TAG.CSN_LOW), encodeFrame(TAG.SPI_SEND, Uint8Array.of(0x01, 0x02, 0x01, 0x00, 0x2b, 0x92)), encodeFrame(TAG.CSN_HIGH)]);

test.describe.configure({ mode: 'serial', timeout: 120_000 });

test.beforeAll(async () => {
  server = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'main.js'), 'model', 'serve', '--port', '0', '--idle-timeout', String(IDLE_TIMEOUT_MS), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.on('exit', (code, sig) => {
    exit = sig ? `killed by ${sig}` : `exited with code ${code}`;
    figures.crashes++;
  });
  server.stderr!.on('data', (d: Buffer) => (serverOutput = (serverOutput + d.toString()).slice(-20_000)));
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.once('exit', () => reject(new Error(`model serve ${exit}: ${serverOutput}`)));
  });
  // Warm up with one normal client, so "before" is a server that has served.
  const c = await RawClient.open(port);
  send(c, windowBytes());
  checkReplies(requestsIn(windowBytes()), await collect(c, 3));
  c.sock.destroy();
  figures.rssBeforeKiB = memory().rss;
});

test.afterAll(async ({}, testInfo) => {
  if (server.exitCode === null && !server.killed) {
    const m = memory();
    figures.rssAfterKiB = m.rss;
    figures.rssPeakKiB = m.peak;
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    figures.crashes--; // our own SIGTERM is not a crash
  }
  const text = JSON.stringify(figures, null, 2);
  process.stdout.write(`model server under hostile clients: ${text}\n`);
  await testInfo.attach('hostile-figures.json', { body: text, contentType: 'application/json' });
});

test('a storm of 50 simultaneous connections while one holds the chip: the rest wait unread, then each is served in turn', async () => {
  const holder = await RawClient.open(port);
  send(holder, encodeFrame(TAG.CSN_LOW));
  checkReplies([{ tag: TAG.CSN_LOW, payload: new Uint8Array(0) }], await collect(holder, 1));
  const storm = await Promise.all(Array.from({ length: figures.stormClients - 1 }, () => RawClient.open(port)));
  for (const c of storm) send(c, windowBytes());
  // Documented: a second client is accepted but not read while the first is served.
  await new Promise((r) => setTimeout(r, 300));
  figures.stormAnsweredWhileHeld = storm.filter((c) => c.closed || (c as unknown as { frames: TaggedFrame[] }).frames.length > 0).length;
  expect(figures.stormAnsweredWhileHeld, 'clients answered while the chip was held').toBe(0);
  send(holder, encodeFrame(TAG.CSN_HIGH));
  checkReplies([{ tag: TAG.CSN_HIGH, payload: new Uint8Array(0) }], await collect(holder, 1));
  holder.sock.end();
  // Each waiting client is served once the one before it leaves.
  for (const c of storm) {
    checkReplies(requestsIn(windowBytes()), await collect(c, 3, 30_000));
    figures.stormServed++;
    c.sock.end();
  }
  expect(figures.stormServed).toBe(figures.stormClients - 1);
  expect(figures.offProtocolReplies).toBe(0);
  expect(exit, serverOutput).toBeUndefined();
});

test('64 KiB lengths: the payload is drained and answered EXCEPTION, the link stays in sync; a 64 KiB header cut short only drops that client', async () => {
  const c = await RawClient.open(port);
  const big = encodeFrame(TAG.SPI_SEND, randomBytes(0xffff));
  const stream = Buffer.concat([big, encodeFrame(TAG.CSN_LOW), big, encodeFrame(TAG.CSN_HIGH)]);
  send(c, stream);
  const replies = await collect(c, 4);
  checkReplies(requestsIn(stream), replies);
  expect(replies.map((r) => r.tag)).toEqual([TAG.EXCEPTION, TAG.CSN_LOW, TAG.EXCEPTION, TAG.CSN_HIGH]);
  c.sock.destroy();
  // A 64 KiB length followed by a little of its payload, then the client goes away mid-frame.
  const cut = await RawClient.open(port);
  send(cut, Buffer.concat([Uint8Array.of(TAG.SPI_SEND, 0xff, 0xff), randomBytes(1000)]));
  await new Promise((r) => setTimeout(r, 100));
  cut.sock.destroy();
  const after = await RawClient.open(port);
  send(after, windowBytes());
  checkReplies(requestsIn(windowBytes()), await collect(after, 3));
  after.sock.destroy();
  expect(figures.offProtocolReplies).toBe(0);
  expect(exit, serverOutput).toBeUndefined();
});

test('random bytes: every complete frame in them gets exactly one reply answering it, and the server stays up', async () => {
  for (let i = 0; i < 40; i++) {
    const c = await RawClient.open(port);
    // Random frames (random tags and payloads) and, every other client, raw random bytes.
    const bytes =
      i % 2
        ? randomBytes(4096)
        : Buffer.concat(Array.from({ length: 30 }, () => encodeFrame(randomBytes(1)[0], randomBytes(randomBytes(1)[0] % 64))));
    const requests = requestsIn(bytes);
    send(c, bytes);
    checkReplies(requests, await collect(c, requests.length));
    c.sock.destroy();
  }
  expect(figures.offProtocolReplies).toBe(0);
  expect(exit, serverOutput).toBeUndefined();
});

test('a client that connects and never sends loses the chip after the idle timeout; the next client is served', async () => {
  const silent = await RawClient.open(port);
  const next = await RawClient.open(port);
  send(next, windowBytes());
  // Served only after the silent client is dropped (idle timeout), not before.
  const replies = await collect(next, 3, IDLE_TIMEOUT_MS * 10);
  checkReplies(requestsIn(windowBytes()), replies);
  await silent.waitClosed();
  figures.idleDisconnectFreedChip = silent.closed && replies.length === 3;
  expect(figures.idleDisconnectFreedChip).toBe(true);
  next.sock.destroy();
  expect(exit, serverOutput).toBeUndefined();
});

test('a client that floods and never reads: the server stops reading it, its memory stays bounded, the next client is served after it leaves', async () => {
  const flood = net.connect(port, '127.0.0.1');
  await new Promise((r) => flood.once('connect', r));
  flood.on('error', () => {});
  flood.pause(); // never read
  // Inside a chip-select window every SPI_SEND is answered with as many bytes as it sent: replies pile up.
  // (Earlier random clients may have powered the chip off: chip state outlives a client.)
  flood.write(Buffer.concat([encodeFrame(TAG.RESET_TARGET), encodeFrame(TAG.POWER_ON), encodeFrame(TAG.CSN_LOW)]));
  figures.messagesSent += 3;
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => encodeFrame(TAG.SPI_SEND, new Uint8Array(200))));
  const perChunk = requestsIn(chunk).length;
  const deadline = Date.now() + 5000;
  // Write until the kernel and the server stop taking bytes (the server no longer reads us).
  while (Date.now() < deadline) {
    const more = flood.write(chunk);
    figures.floodBytesWritten += chunk.length;
    figures.bytesSent += chunk.length;
    figures.messagesSent += perChunk;
    if (!more) await Promise.race([new Promise((r) => flood.once('drain', r)), new Promise((r) => setTimeout(r, 500))]);
    if (flood.writableLength > 8 * chunk.length) break;
  }
  // The server stopped taking our bytes (backpressure), and once it had read nothing for the idle
  // timeout it dropped us: either way the flood is not in its memory.
  figures.floodOutcome = flood.closed || flood.destroyed ? 'disconnected by the server' : `not read (${flood.writableLength} bytes waiting in the client)`;
  expect(flood.closed || flood.destroyed || flood.writableLength > 0, 'the server stopped reading the flood').toBe(true);
  const during = memory();
  figures.rssPeakKiB = during.peak;
  // Bounded: the server holds at most its unread-reply bound and socket buffers, not the flood.
  expect(during.rss - figures.rssBeforeKiB, `RSS grew from ${figures.rssBeforeKiB} KiB to ${during.rss} KiB after ${figures.floodBytesWritten} bytes of flood`).toBeLessThan(64 * 1024);
  flood.destroy();
  const c = await RawClient.open(port);
  send(c, windowBytes());
  checkReplies(requestsIn(windowBytes()), await collect(c, 3, 30_000));
  c.sock.destroy();
  expect(exit, serverOutput).toBeUndefined();
});

test('afterwards a normal client is served: the driver reads CHIP_ID; crashes 0, off-protocol replies 0', async () => {
  const t = await TcpTransport.connect({ host: '127.0.0.1', port, connectTimeoutMs: 5000, ioTimeoutMs: 10_000 });
  try {
    expect((await new TropicSquare(t).chipId()).serial).toMatch(/^[0-9a-f]+$/);
  } finally {
    await t.close();
  }
  expect(server.exitCode, serverOutput).toBeNull();
  expect(figures.crashes).toBe(0);
  expect(figures.offProtocolReplies).toBe(0);
});
