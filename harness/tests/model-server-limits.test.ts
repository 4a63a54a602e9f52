/**
 * The model server's limits over real loopback TCP: replies to one read in one write, a client
 * that never reads its replies is no longer read (bounded memory) and the next client is served
 * after it leaves, a silent client is dropped after the idle timeout so a waiting one is served,
 * and a frame over the length limit is discarded and answered EXCEPTION without losing sync.
 */
import net from 'node:net';
import { test, expect } from '@playwright/test';
import { ModelServer, DEFAULT_MAX_UNREAD_REPLY_BYTES, REPLIES_PER_WRITE } from '../model/server.js';
import { MODEL_SERVER_MAX_PAYLOAD, TAG, encodeFrame } from '../protocol/tagged-frame.js';
import { RawClient } from './model-raw-client.js';

let server: ModelServer;
const logs: string[] = [];
test.afterEach(async () => {
  await server?.close();
  logs.length = 0;
});
const start = (opts: ConstructorParameters<typeof ModelServer>[0] = {}) =>
  new ModelServer({ port: 0, log: (level, msg) => logs.push(`${level} ${msg}`), ...opts }).start().then((s) => (server = s));

test('the replies to the frames of one read go out together, a long read in parts of REPLIES_PER_WRITE replies', async () => {
  await start();
  const c = await RawClient.open(server.port);
  const frames = Array.from({ length: 100 }, (_, i) => encodeFrame(i % 2 ? TAG.CSN_HIGH : TAG.CSN_LOW));
  c.sock.write(Buffer.concat(frames));
  for (let i = 0; i < 100; i++) expect((await c.next()).tag).toBe(i % 2 ? TAG.CSN_HIGH : TAG.CSN_LOW);
  expect(server.stats.frames).toBe(100);
  expect(server.stats.reads).toBeLessThan(100);
  // each read costs one write, plus one for every full part of REPLIES_PER_WRITE replies
  expect(server.stats.writes).toBeLessThanOrEqual(server.stats.reads + Math.floor(100 / REPLIES_PER_WRITE));
  expect(server.stats.writes).toBeGreaterThanOrEqual(Math.ceil(100 / REPLIES_PER_WRITE));
  c.close();
});

test('a client that floods and never reads is no longer read: queued replies stay bounded; the next client is served after it leaves', async () => {
  await start({ idleTimeoutMs: 0 });
  const flooder = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => flooder.once('connect', r));
  flooder.pause(); // never reads a reply
  const spi = encodeFrame(TAG.SPI_SEND, new Uint8Array(MODEL_SERVER_MAX_PAYLOAD));
  const batch = Buffer.concat([encodeFrame(TAG.CSN_LOW), ...Array.from({ length: 256 }, () => spi)]);
  let sent = 0;
  // Write until the flooder's own socket cannot take more (the server stopped reading), at most 64 MiB.
  while (sent < 64 * 1024 * 1024) {
    sent += batch.length;
    if (!flooder.write(batch)) {
      const drained = await Promise.race([new Promise((r) => flooder.once('drain', () => r(true))), new Promise((r) => setTimeout(() => r(false), 1500))]);
      if (!drained) break;
    }
  }
  expect(sent).toBeLessThan(64 * 1024 * 1024); // the server stopped reading before the flood ended
  expect(server.stats.backpressurePauses).toBeGreaterThanOrEqual(1);
  // Replies queued in the server: at most the bound plus the replies to one read (64 KiB reads).
  expect(server.stats.peakUnreadReplyBytes).toBeLessThanOrEqual(DEFAULT_MAX_UNREAD_REPLY_BYTES + 128 * 1024);
  expect(logs.some((l) => /leaves \d+ reply bytes unread; not reading its requests/.test(l))).toBe(true);
  console.log(`flood: ${sent} bytes written before the server stopped reading; peak queued replies ${server.stats.peakUnreadReplyBytes} bytes`);

  const next = await RawClient.open(server.port);
  next.sock.write(encodeFrame(TAG.CSN_HIGH));
  await expect(next.next(300)).rejects.toThrow('no reply'); // still waiting for the flooder
  flooder.destroy();
  expect((await next.next()).tag).toBe(TAG.CSN_HIGH);
  next.close();
});

test('a flooding client that starts reading again gets every reply (drain resumes reading)', async () => {
  await start({ idleTimeoutMs: 0 });
  const c = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  c.pause();
  const spi = encodeFrame(TAG.SPI_SEND, new Uint8Array(MODEL_SERVER_MAX_PAYLOAD));
  const batch = Buffer.concat(Array.from({ length: 256 }, () => spi));
  let frames = 1;
  c.write(encodeFrame(TAG.CSN_LOW));
  for (;;) {
    frames += 256;
    if (!c.write(batch)) {
      const drained = await Promise.race([new Promise((r) => c.once('drain', () => r(true))), new Promise((r) => setTimeout(() => r(false), 1000))]);
      if (!drained) break;
    }
  }
  expect(server.stats.backpressurePauses).toBeGreaterThanOrEqual(1);
  // every reply echoes its request's size: CSN_LOW 3 bytes, each SPI_SEND 3 + 257
  const expected = 3 + (frames - 1) * (3 + MODEL_SERVER_MAX_PAYLOAD);
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    c.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= expected) resolve();
    });
    c.on('close', () => reject(new Error(`closed after ${received} of ${expected} reply bytes`)));
    c.resume();
  });
  expect(received).toBe(expected);
  expect(server.stats.frames).toBe(frames);
  expect(logs.some((l) => /read its replies; reading its requests again/.test(l))).toBe(true);
  c.destroy();
});

test('a client silent for idleTimeoutMs is disconnected and logged; the waiting client is served', async () => {
  await start({ idleTimeoutMs: 400 });
  const holder = await RawClient.open(server.port);
  expect((await holder.ask(TAG.CSN_LOW)).tag).toBe(TAG.CSN_LOW);
  const waiting = await RawClient.open(server.port);
  waiting.sock.write(encodeFrame(TAG.CSN_HIGH));
  expect((await waiting.next(10_000)).tag).toBe(TAG.CSN_HIGH);
  await holder.waitClosed();
  expect(server.stats.idleDisconnects).toBe(1);
  expect(logs.some((l) => /sent nothing for 400 ms; disconnected/.test(l))).toBe(true);
  waiting.close();
});

test('frames over the length limit are discarded and answered EXCEPTION; the link stays in sync', async () => {
  await start();
  const c = await RawClient.open(server.port);
  await c.ask(TAG.CSN_LOW);
  // exactly the limit is served
  expect((await c.ask(TAG.SPI_SEND, new Uint8Array(MODEL_SERVER_MAX_PAYLOAD))).payload.length).toBe(MODEL_SERVER_MAX_PAYLOAD);
  // one byte over, then the largest length the field can declare, sent in pieces, then a valid frame
  const big = encodeFrame(TAG.SPI_SEND, new Uint8Array(0xffff).fill(0xaa));
  c.sock.write(Buffer.concat([encodeFrame(TAG.SPI_SEND, new Uint8Array(MODEL_SERVER_MAX_PAYLOAD + 1)), big.subarray(0, 1000)]));
  expect((await c.next()).tag).toBe(TAG.EXCEPTION);
  for (let off = 1000; off < big.length; off += 7000) c.sock.write(big.subarray(off, off + 7000));
  c.sock.write(encodeFrame(TAG.CSN_HIGH));
  expect((await c.next()).tag).toBe(TAG.EXCEPTION);
  expect((await c.next()).tag).toBe(TAG.CSN_HIGH);
  expect(server.stats.protocolErrors).toBe(2);
  expect(server.stats.exceptions).toBe(0);
  c.close();
});
