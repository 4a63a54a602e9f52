/**
 * `tropic-harness framelog serve` as users run it: the built CLI as a child process on an
 * ephemeral port (read from what it prints). Our TcpTransport + TropicSquare driver running the
 * recorded sequence gets the recorded replies byte for byte; a pytropicsquare-style host (its tcp
 * transport's framing and L1 read pattern, written here by hand) gets the replies recorded from
 * the same host; a host that departs from the recorded host side is reported at its first
 * departure, and the server still stops cleanly on SIGTERM with its summary and exit 1.
 */
import { test, expect } from '@playwright/test';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from '../paths.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { FrameRecorder, parseFrameLog } from '../framelog/frame-log.js';
import { OperationRunner } from '../framelog/operations.js';
import { openReplayTarget } from '../framelog/replay-target.js';
import { deriveSeeds, seededRandom } from '../framelog/seeds.js';
import { encodeRequest, GET_INFO_OBJECT, L2_REQ, L2_STATUS } from '../protocol/l2.js';
import { PAIRING_KEY, SAMPLE_OPS, record, tmpDir } from './framelog-helpers.js';

const MAIN = path.join(PACKAGE_ROOT, 'dist', 'harness', 'cli', 'main.js');

interface Served {
  child: ChildProcessWithoutNullStreams;
  port: number;
  replies: number;
  out: () => string;
  err: () => string;
  /** SIGTERM, then the exit code (the server must stop by itself). */
  stop: () => Promise<number | null>;
}

/** Starts `framelog serve FILE --port 0` and reads the port it prints. */
async function serve(file: string): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'framelog', 'serve', file, '--port', '0'], { cwd: PACKAGE_ROOT, env: process.env });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const started = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving (\d+) recorded replies on 127\.0\.0\.1:(\d+)\n/.exec(out);
      if (m) resolve(m);
    });
    void exited.then((code) => reject(new Error(`framelog serve exited ${code} before serving: ${out}${err}`)));
  });
  return {
    child, port: Number(started[2]), replies: Number(started[1]), out: () => out, err: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * A host written the way pytropicsquare's TcpTransport talks: each message is tag (1), length
 * (2, LE), payload (at most 256 bytes); each reply's 3-byte header is read, its tag checked against
 * the one sent (INVALID 0xfd, UNSUPPORTED 0xfe and a mismatch are errors), then its payload.
 */
class PyStyleTcp {
  private buf = Buffer.alloc(0);
  private waiting?: () => void;
  private closed = false;
  /** Every reply payload, in order. */
  readonly replies: { tag: number; payload: string }[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiting?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  static connect(port: number): Promise<PyStyleTcp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new PyStyleTcp(s)));
      s.once('error', reject);
    });
  }

  private async recvExact(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`connection lost during receive (${this.buf.length}/${n} bytes)`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async communicate(tag: number, payload: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    if (payload.length > 256) throw new Error(`payload too large: ${payload.length} > 256`);
    this.sock.write(Buffer.concat([Buffer.from([tag, payload.length & 0xff, payload.length >> 8]), payload]));
    const head = await this.recvExact(3);
    if (head[0] === 0xfd) throw new Error(`server doesn't recognize tag ${tag}`);
    if (head[0] === 0xfe) throw new Error(`server doesn't support tag ${tag}`);
    if (head[0] !== tag) throw new Error(`tag mismatch: sent ${tag}, received ${head[0]}`);
    const len = head[1] | (head[2] << 8);
    if (len > 256) throw new Error(`invalid payload length ${len}`);
    const body = len ? await this.recvExact(len) : Buffer.alloc(0);
    this.replies.push({ tag: head[0], payload: body.toString('hex') });
    return new Uint8Array(body);
  }

  close(): void {
    this.sock.destroy();
  }
}

type Communicate = (tag: number, payload?: Uint8Array) => Promise<Uint8Array>;

/**
 * pytropicsquare's L1 over any `communicate`: a request in one chip-select window; a response read
 * as Get_Response (1 byte, CHIP_STATUS back), then STATUS+RSP_LEN, the data, and the CRC, each its own
 * transfer of zeros; RES_CONT continues with the next response.
 */
async function pyGetInfo(communicate: Communicate, objectId: number, block = 0): Promise<Uint8Array> {
  const transfer = (b: Uint8Array) => communicate(3, b);
  await communicate(1);
  await transfer(encodeRequest(L2_REQ.GET_INFO, Uint8Array.of(objectId, block)));
  await communicate(2);
  for (let polls = 0; polls < 50; polls++) {
    await communicate(1);
    const chipStatus = (await transfer(Uint8Array.of(L2_REQ.GET_RESPONSE)))[0];
    if (!(chipStatus & 1)) {
      await communicate(2);
      continue;
    }
    const [status, len] = await transfer(new Uint8Array(2));
    const data = len ? await transfer(new Uint8Array(len)) : new Uint8Array(0);
    await transfer(new Uint8Array(2));
    await communicate(2);
    if (status !== L2_STATUS.REQ_OK) throw new Error(`Get_Info answered status 0x${status.toString(16)}`);
    return data;
  }
  throw new Error('chip stayed busy');
}

const PY_READS: [number, number][] = [[GET_INFO_OBJECT.CHIP_ID, 0], [GET_INFO_OBJECT.RISCV_FW_VERSION, 0], [GET_INFO_OBJECT.SPECT_FW_VERSION, 0], [GET_INFO_OBJECT.X509_CERTIFICATE, 0], [GET_INFO_OBJECT.X509_CERTIFICATE, 1]];

test('our TcpTransport and TropicSquare driver running the recorded sequence get every recorded reply byte for byte; SIGTERM ends serve with exit 0', async () => {
  test.setTimeout(60_000);
  const { file, log, outcomes } = await record('serve-cli');
  const s = await serve(file);
  expect(s.replies).toBe(log.entries.length);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, receiveRetries: 0, ioTimeoutMs: 5000 });
  const client = new FrameRecorder(t);
  const got = [];
  try {
    const runner = new OperationRunner(t, { pairingKey: PAIRING_KEY }, { random: seededRandom((log.meta as { seeds: { host: string } }).seeds.host) });
    for (const o of SAMPLE_OPS) got.push(await runner.run(o));
  } finally {
    client.detach();
    await t.close();
  }
  expect(got).toEqual(outcomes);
  // Same host side, same replies, message for message.
  expect(client.entries.map((e) => [e.tag, e.tx])).toEqual(log.entries.map((e) => [e.tag, e.tx]));
  expect(client.entries.map((e) => [e.rtag, e.rx])).toEqual(log.entries.map((e) => [e.rtag, e.rx]));
  const code = await s.stop();
  expect(code, s.out() + s.err()).toBe(0);
  expect(s.out()).toContain(`answered ${log.entries.length} of ${log.entries.length}, departures 0, beyond the end 0`);
  expect(s.err()).not.toContain('departure');
});

test('a pytropicsquare-style host (its tagged-TCP framing and L1 read pattern, by hand) gets the replies recorded from the same host', async () => {
  test.setTimeout(60_000);
  // Record the host's traffic against a fresh embedded model (through our transport: same tags and bytes).
  const dir = tmpDir('serve-py');
  const file = path.join(dir, 'py.frame-log.jsonl');
  const target = await openReplayTarget('embedded');
  const rec = new FrameRecorder(target.transport, { file, header: { test: 'pytropicsquare-style Get_Info reads' } });
  const recorded: string[] = [];
  try {
    const viaModel: Communicate = (tag, payload) => target.transport.exchange(tag, payload);
    for (const [o, b] of PY_READS) recorded.push(Buffer.from(await pyGetInfo(viaModel, o, b)).toString('hex'));
  } finally {
    rec.detach();
    await target.close();
  }
  const log = parseFrameLog(readFileSync(file, 'utf8'), { file });
  expect(log.entries.length).toBeGreaterThan(PY_READS.length * 8);
  // pytropicsquare never sends a payload over 256 bytes: the log holds none.
  expect(Math.max(...log.entries.map((e) => e.tx.length / 2))).toBeLessThanOrEqual(256);

  const s = await serve(file);
  const py = await PyStyleTcp.connect(s.port);
  const served: string[] = [];
  try {
    for (const [o, b] of PY_READS) served.push(Buffer.from(await pyGetInfo((tag, payload) => py.communicate(tag, payload), o, b)).toString('hex'));
  } finally {
    py.close();
  }
  expect(served).toEqual(recorded);
  expect(served[0].length).toBeGreaterThan(0);
  expect(py.replies).toEqual(log.entries.map((e) => ({ tag: e.rtag ?? e.tag, payload: e.rx ?? '' })));
  expect(await s.stop(), s.err()).toBe(0);
  expect(s.out()).toContain(`answered ${log.entries.length} of ${log.entries.length}, departures 0`);
});

test('a host that departs from the recorded host side is reported at its first departure (step, expected and sent, L2 decoded); SIGTERM still stops serve with its summary and exit 1', async () => {
  test.setTimeout(60_000);
  const { file, log } = await record('serve-cli-departs');
  const s = await serve(file);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, receiveRetries: 0, ioTimeoutMs: 5000 });
  // Another host random source: another ephemeral key, so the Handshake_Req differs from the recorded one.
  const runner = new OperationRunner(t, { pairingKey: PAIRING_KEY }, { random: seededRandom(deriveSeeds('another host').host) });
  const got = [];
  for (const o of SAMPLE_OPS.slice(0, 3)) got.push(await runner.run(o));
  expect(got[0]).toEqual({ result: 'OK' }); // chipId: the same bytes as recorded
  // The recorded reply to another handshake does not authenticate: the host sees that, the server does not crash.
  expect(got[1]).toEqual({ result: 'error:TH_HANDSHAKE_AUTH' });
  const departures = s.err().split('\n').filter((l) => l.startsWith('departure at #'));
  expect(departures.length, s.err()).toBeGreaterThan(0);
  const handshakeSeq = log.entries.find((e) => e.l2?.kind === 'request' && e.l2.name === 'HANDSHAKE')!.seq;
  // The first departure is the handshake request's transfer (the CSN_HIGH closing its window carries the L2 summary).
  expect(departures[0]).toMatch(new RegExp(`^departure at #${handshakeSeq - 1} \\[step startSecureSession\\]: expected SPI_SEND 02[0-9a-f]+ \\(\\{"kind":"request","id":2,"name":"HANDSHAKE".*\\), got SPI_SEND 02[0-9a-f]+ \\(\\{"kind":"request","id":2,"name":"HANDSHAKE"`));
  // Stopped while the host is still connected: serve drops it and exits by itself.
  const code = await s.stop();
  await t.close();
  expect(code, s.out() + s.err()).toBe(1);
  expect(s.out()).toMatch(new RegExp(`answered \\d+ of ${log.entries.length}, departures ${departures.length}, beyond the end \\d+\\n$`));
  expect(s.err()).not.toMatch(/Error:|at .*\.js:\d+/); // no stack trace
});
