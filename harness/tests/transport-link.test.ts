/**
 * TcpTransport's link discipline against real loopback servers: a timed-out exchange ends the
 * link so its late reply can never answer another exchange (serial and pipelined), every new
 * connection starts with CSN_HIGH, and a pipelined chip-select window is one socket write.
 */
import { test, expect } from '@playwright/test';
import { TcpTransport, type StateEvent } from '../transport/tcp-transport.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';
import { TAG } from '../protocol/tagged-frame.js';
import { HarnessError, TimeoutError, TransportError, TransportTagError } from '../errors.js';
import { echo, loopbackServer, reply, type Connection } from './transport-loopback.js';

const inverted = (req: number[]): Uint8Array => Uint8Array.from(req, (b) => b ^ 0xff);
const isFirst = (payload: Uint8Array): boolean => payload.length === 2 && payload[0] === 1 && payload[1] === 1;

type Outcome = { reply: Uint8Array } | { error: unknown };
const outcome = (p: Promise<Uint8Array>): Promise<Outcome> => p.then((r) => ({ reply: r }), (e: unknown) => ({ error: e }));

/** The exchange either failed with a typed harness error or got the answer to its own request. */
function expectOwnReplyOrTyped(o: Outcome, request: number[]): void {
  if ('reply' in o) expect(o.reply).toEqual(inverted(request));
  else expect(o.error).toBeInstanceOf(HarnessError);
}

/**
 * Holds its reply to SPI_SEND [1,1]; the next frame on that connection releases it just ahead of
 * its own reply: exactly what a slow server does to a client that has stopped waiting.
 */
function lateFirstReply(): (conn: Connection, tag: number, payload: Uint8Array) => void {
  const held = new Map<Connection, () => void>();
  return (conn, tag, payload) => {
    if (tag === TAG.SPI_SEND && isFirst(payload)) {
      held.set(conn, () => echo(conn, tag, payload));
      return;
    }
    held.get(conn)?.();
    held.delete(conn);
    echo(conn, tag, payload);
  };
}

test('serial: after a timed-out exchange the late reply never answers the next one; later exchanges fail TH_TCP_LINK_LOST', async () => {
  const s = await loopbackServer(lateFirstReply());
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, ioTimeoutMs: 200, receiveRetries: 0 });
  const states: StateEvent[] = [];
  t.on('state', (e: StateEvent) => states.push(e));

  const first = await outcome(t.transfer(Uint8Array.of(1, 1)));
  expect('error' in first && first.error).toBeInstanceOf(TimeoutError);
  const second = await outcome(t.transfer(Uint8Array.of(2, 2)));
  const third = await outcome(t.transfer(Uint8Array.of(3, 3)));
  expectOwnReplyOrTyped(second, [2, 2]);
  expectOwnReplyOrTyped(third, [3, 3]);
  // Without reconnect the link is gone: both fail, typed, naming the timeout as the cause.
  for (const o of [second, third]) {
    const e = (o as { error: TransportError }).error;
    expect(e.code).toBe('TH_TCP_LINK_LOST');
    expect(e.cause).toBeInstanceOf(TimeoutError);
  }
  expect(states.map((x) => x.state)).toEqual(['degraded']);
  expect(t.state).toBe('degraded');
  // Nothing was sent on the connection after the timeout.
  expect(s.connections).toHaveLength(1);
  expect(s.connections[0].frames.map((f) => f.tag)).toEqual([TAG.CSN_HIGH, TAG.SPI_SEND]);
  await t.close();
  await s.close();
});

test('serial with reconnect: after a timeout the next exchanges run on a new connection, CSN_HIGH first, each with its own reply', async () => {
  const s = await loopbackServer(lateFirstReply());
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, ioTimeoutMs: 200, receiveRetries: 0, reconnect: true });

  const first = await outcome(t.transfer(Uint8Array.of(1, 1)));
  expect('error' in first && first.error).toBeInstanceOf(TimeoutError);
  const second = await outcome(t.transfer(Uint8Array.of(2, 2)));
  const third = await outcome(t.transfer(Uint8Array.of(3, 3)));
  expect(second).toEqual({ reply: inverted([2, 2]) });
  expect(third).toEqual({ reply: inverted([3, 3]) });
  expect(s.connections).toHaveLength(2);
  expect(s.connections[1].frames.map((f) => [f.tag, ...f.payload])).toEqual([[TAG.CSN_HIGH], [TAG.SPI_SEND, 2, 2], [TAG.SPI_SEND, 3, 3]]);
  expect(t.state).toBe('degraded');
  await t.close();
  await s.close();
});

test('pipelined: a timed-out exchange fails every exchange queued behind it; their late replies are never matched', async () => {
  // The server answers the resync, then holds every SPI reply until told to release them all.
  const held: (() => void)[] = [];
  const s = await loopbackServer((conn, tag, payload) => (tag === TAG.SPI_SEND ? held.push(() => echo(conn, tag, payload)) : echo(conn, tag, payload)));
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, ioTimeoutMs: 300, receiveRetries: 0, pipeline: true });

  const pending = [t.transfer(Uint8Array.of(1, 1)), t.transfer(Uint8Array.of(2, 2)), t.transfer(Uint8Array.of(3, 3))].map(outcome);
  const first = await pending[0];
  expect('error' in first && first.error).toBeInstanceOf(TimeoutError);
  for (const release of held.splice(0)) release(); // the late replies, in order
  const [second, third] = await Promise.all(pending.slice(1));
  expectOwnReplyOrTyped(second, [2, 2]);
  expectOwnReplyOrTyped(third, [3, 3]);
  expect((second as { error: TransportError }).error.code).toBe('TH_TCP_LINK_LOST');
  expect((third as { error: TransportError }).error.code).toBe('TH_TCP_LINK_LOST');
  // All three had been written before the timeout (that is what pipelining does).
  expect(s.connections[0].frames.map((f) => f.tag)).toEqual([TAG.CSN_HIGH, TAG.SPI_SEND, TAG.SPI_SEND, TAG.SPI_SEND]);
  await t.close();
  await s.close();
});

test('every new connection starts with CSN_HIGH before any exchange; resyncOnConnect: false sends nothing first', async () => {
  const s = await loopbackServer(echo);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port });
  expect(s.connections[0].frames.map((f) => f.tag)).toEqual([TAG.CSN_HIGH]);
  expect(t.sequence).toBe(0); // link management, not an exchange of the test
  await t.csnLow();
  expect(s.connections[0].frames.map((f) => f.tag)).toEqual([TAG.CSN_HIGH, TAG.CSN_LOW]);
  await t.close();

  const quiet = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, resyncOnConnect: false });
  await quiet.csnLow();
  expect(s.connections[1].frames.map((f) => f.tag)).toEqual([TAG.CSN_LOW]);
  await quiet.close();
  await s.close();
});

test('a resync CSN_HIGH that gets no reply or an error tag fails the connect, typed', async () => {
  const silent = await loopbackServer(() => {});
  const e1 = await TcpTransport.connect({ host: '127.0.0.1', port: silent.port, ioTimeoutMs: 100, receiveRetries: 1 }).catch((x: unknown) => x);
  expect(e1).toBeInstanceOf(TimeoutError);
  expect((e1 as Error).message).toContain('resync CSN_HIGH got no reply within 200 ms');
  await silent.close();

  const failing = await loopbackServer((conn) => reply(conn, TAG.EXCEPTION));
  const e2 = await TcpTransport.connect({ host: '127.0.0.1', port: failing.port }).catch((x: unknown) => x);
  expect(e2).toBeInstanceOf(TransportTagError);
  expect((e2 as TransportTagError).code).toBe('TH_TCP_EXCEPTION');
  expect((e2 as TransportTagError).sentTag).toBe(TAG.CSN_HIGH);
  await failing.close();
});

test('pipelined: a chip-select window (CSN_LOW, SPI_SEND, CSN_HIGH) is one socket write; serial mode writes each message alone', async () => {
  const s = await loopbackServer(echo);
  const piped = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, pipeline: true });
  const before = piped.socketWrites;
  const [, back] = await Promise.all([piped.csnLow(), piped.transfer(Uint8Array.of(7, 8, 9)), piped.csnHigh()]);
  expect(back).toEqual(inverted([7, 8, 9]));
  expect(piped.socketWrites - before).toBe(1);
  // The server read the window in one piece: 3 + 6 + 3 bytes.
  expect(s.connections[0].chunks.at(-1)).toBe(12);
  expect(s.connections[0].frames.slice(1).map((f) => f.tag)).toEqual([TAG.CSN_LOW, TAG.SPI_SEND, TAG.CSN_HIGH]);
  await piped.close();

  const serial = await TcpTransport.connect({ host: '127.0.0.1', port: s.port });
  const start = serial.socketWrites;
  await Promise.all([serial.csnLow(), serial.transfer(Uint8Array.of(7, 8, 9)), serial.csnHigh()]);
  expect(serial.socketWrites - start).toBe(3);
  await serial.close();
  await s.close();
});

test('exchange records keep the bytes sent and received (no text encoding in the transport)', async () => {
  const s = await loopbackServer(echo);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port });
  const recs: ExchangeRecord[] = [];
  t.on('exchange', (r: ExchangeRecord) => recs.push(r));
  await t.transfer(Uint8Array.of(0x10, 0x20));
  expect(recs).toHaveLength(1);
  expect(recs[0].request).toBeInstanceOf(Uint8Array);
  expect(recs[0].request).toEqual(Uint8Array.of(0x10, 0x20));
  expect(recs[0].reply).toEqual(inverted([0x10, 0x20]));
  expect(recs[0].replyTag).toBe(TAG.SPI_SEND);
  await t.close();
  await s.close();
});
