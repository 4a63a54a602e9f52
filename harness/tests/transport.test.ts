/**
 * TcpTransport against real loopback TCP servers that split, merge, delay, drop and misanswer
 * replies. No mocks: each scenario is a small net.Server speaking the tagged protocol.
 */
import net from 'node:net';
import { test, expect } from '@playwright/test';
import { TcpTransport, type StateEvent } from '../transport/tcp-transport.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';
import { TAG, TaggedFrameParser, encodeFrame } from '../protocol/tagged-frame.js';
import { TransportError, TransportTagError, TimeoutError, ProtocolError } from '../errors.js';

type Behaviour = (sock: net.Socket, tag: number, payload: Uint8Array, n: number) => void;

async function server(behaviour: Behaviour): Promise<{ port: number; close: () => Promise<void>; connections: () => number }> {
  let n = 0;
  let conns = 0;
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    conns++;
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    const p = new TaggedFrameParser();
    sock.on('data', (d) => {
      for (const f of p.push(d)) behaviour(sock, f.tag, f.payload, n++);
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => conns,
    close: () => new Promise<void>((r) => (socks.forEach((s) => s.destroy()), srv.close(() => r()))),
  };
}

const echo: Behaviour = (sock, tag, payload) => sock.write(encodeFrame(tag, tag === TAG.SPI_SEND ? payload.map((b) => b ^ 0xff) : new Uint8Array(0)));

test('a reply split into single-byte segments is framed exactly', async () => {
  const s = await server((sock, tag, payload) => {
    const f = encodeFrame(tag, payload);
    f.forEach((b, i) => setTimeout(() => sock.write(Uint8Array.of(b)), i));
  });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port });
  expect(await t.transfer(Uint8Array.of(1, 2, 3, 4, 5))).toEqual(Uint8Array.of(1, 2, 3, 4, 5));
  await t.close();
  await s.close();
});

test('two frames arriving in one segment are both delivered, in order', () => {
  const p = new TaggedFrameParser();
  const both = new Uint8Array([...encodeFrame(TAG.SPI_SEND, Uint8Array.of(7)), ...encodeFrame(TAG.WAIT)]);
  const frames = p.push(both.subarray(0, 2)).concat(p.push(both.subarray(2)));
  expect(frames.map((f) => f.tag)).toEqual([TAG.SPI_SEND, TAG.WAIT]);
  expect(frames[0].payload).toEqual(Uint8Array.of(7));
  expect(p.midFrame).toBe(false);
});

test('a delayed reply within the timeout is accepted; sequence numbers count every exchange', async () => {
  const s = await server((sock, tag, payload) => setTimeout(() => echo(sock, tag, payload, 0), 150));
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, ioTimeoutMs: 1000 });
  const seqs: number[] = [];
  t.on('exchange', (r: { seq: number }) => seqs.push(r.seq));
  await t.csnLow();
  expect(await t.transfer(Uint8Array.of(0))).toEqual(Uint8Array.of(0xff));
  await t.csnHigh();
  expect(seqs).toEqual([0, 1, 2]);
  await t.close();
  await s.close();
});

test('no reply: bounded receive retries, then a TimeoutError', async () => {
  const s = await server(() => {});
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, ioTimeoutMs: 100, receiveRetries: 2, resyncOnConnect: false });
  const started = performance.now();
  const e = await t.csnLow().catch((x: unknown) => x);
  expect(e).toBeInstanceOf(TimeoutError);
  expect((e as Error).message).toContain('3 waits of 100 ms');
  expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  await t.close();
  await s.close();
});

for (const [answer, code] of [[TAG.EXCEPTION, 'TH_TCP_EXCEPTION'], [TAG.INVALID, 'TH_TCP_INVALID'], [TAG.UNSUPPORTED, 'TH_TCP_UNSUPPORTED']] as const) {
  test(`answer tag 0x${answer.toString(16)} becomes ${code} naming the tag sent`, async () => {
    const s = await server((sock) => sock.write(encodeFrame(answer)));
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, resyncOnConnect: false });
    const e = (await t.powerOn().catch((x: unknown) => x)) as TransportTagError;
    expect(e).toBeInstanceOf(TransportTagError);
    expect(e.code).toBe(code);
    expect(e.sentTag).toBe(TAG.POWER_ON);
    expect(e.message).toContain('POWER_ON');
    await t.close();
    await s.close();
  });
}

test('a reply tag that does not echo the request is a ProtocolError', async () => {
  const s = await server((sock) => sock.write(encodeFrame(TAG.WAIT)));
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, resyncOnConnect: false });
  const e = (await t.csnHigh().catch((x: unknown) => x)) as ProtocolError;
  expect(e.code).toBe('TH_TCP_TAG_MISMATCH');
  await t.close();
  await s.close();
});

test('an SPI reply of the wrong length is a ProtocolError carrying the reply', async () => {
  const s = await server((sock, tag) => sock.write(encodeFrame(tag, Uint8Array.of(1))));
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port });
  const e = (await t.transfer(Uint8Array.of(1, 2)).catch((x: unknown) => x)) as ProtocolError;
  expect(e.code).toBe('TH_TCP_SPI_LENGTH');
  expect(e.frame).toEqual(Uint8Array.of(1));
  await t.close();
  await s.close();
});

test('payloads over the maximum are refused before sending', async () => {
  const s = await server(echo);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, maxPayload: 16 });
  const e = (await t.transfer(new Uint8Array(17)).catch((x: unknown) => x)) as TransportError;
  expect(e.code).toBe('TH_TCP_PAYLOAD');
  expect(t.sequence).toBe(0);
  await t.close();
  await s.close();
});

test('an oversize reply length is refused', async () => {
  const s = await server((sock) => sock.write(Uint8Array.of(TAG.SPI_SEND, 0xff, 0xff)));
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, maxPayload: 257, resyncOnConnect: false });
  const e = (await t.transfer(Uint8Array.of(1)).catch((x: unknown) => x)) as ProtocolError;
  expect(e.code).toBe('TH_TCP_OVERSIZE');
  await t.close();
  await s.close();
});

test('connect failure reports every address tried', async () => {
  const s = await server(echo);
  const port = s.port;
  await s.close();
  const e = (await TcpTransport.connect({ host: 'localhost', port, connectTimeoutMs: 500 }).catch((x: unknown) => x)) as TransportError;
  expect(e.code).toBe('TH_TCP_CONNECT');
  expect(e.message).toMatch(/tried \d+ address/);
  expect(e.message).toContain(`:${port}`);
});

test('opt-in reconnect: the link drops once, the exchange is retried on a new connection that starts with CSN_HIGH; state degraded', async () => {
  // Tags each connection received, in order; the server drops the first connection on its CSN_LOW.
  const seen: number[][] = [];
  const byConn = new Map<net.Socket, number[]>();
  const s = await server((sock, tag, payload) => {
    if (!byConn.has(sock)) seen.push(byConn.set(sock, []).get(sock)!);
    byConn.get(sock)!.push(tag);
    if (tag === TAG.CSN_LOW && seen.length === 1) sock.destroy();
    else echo(sock, tag, payload, 0);
  });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, reconnect: true });
  const states: StateEvent[] = [];
  t.on('state', (e: StateEvent) => states.push(e));
  await t.csnLow(); // server drops the link on this one; retried on the new connection
  await t.csnHigh();
  expect(s.connections()).toBe(2);
  expect(seen).toEqual([
    [TAG.CSN_HIGH, TAG.CSN_LOW],
    [TAG.CSN_HIGH, TAG.CSN_LOW, TAG.CSN_HIGH],
  ]);
  expect(t.state).toBe('degraded');
  expect(states.map((x) => x.state)).toContain('degraded');
  await t.close();
  await t.close(); // idempotent
  expect(t.state).toBe('closed');
  await s.close();
});

test('without reconnect, a dropped link fails the exchange with TH_TCP_CLOSED', async () => {
  const s = await server((sock) => sock.destroy());
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, resyncOnConnect: false });
  const e = (await t.csnLow().catch((x: unknown) => x)) as TransportError;
  expect(e.code).toBe('TH_TCP_CLOSED');
  expect(t.localAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  await t.close();
  await s.close();
});

test('pipelined: a chip-select window reaches the server before any reply, replies matched in order', async () => {
  // The server holds every reply until it has seen all three messages of the window: a transport
  // that waits for each reply (the default) would deadlock here and time out.
  const held: [net.Socket, number, Uint8Array][] = [];
  const s = await server((sock, tag, payload) => {
    held.push([sock, tag, payload]);
    if (held.length === 3) for (const [k, t, p] of held.splice(0)) echo(k, t, p, 0);
  });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, pipeline: true, ioTimeoutMs: 500, receiveRetries: 0, resyncOnConnect: false });
  const [, back] = await Promise.all([t.csnLow(), t.transfer(Uint8Array.of(1, 2, 3)), t.csnHigh()]);
  expect(back).toEqual(Uint8Array.of(0xfe, 0xfd, 0xfc));
  await t.close();

  const serial = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, ioTimeoutMs: 300, receiveRetries: 0, resyncOnConnect: false });
  const window = Promise.all([serial.csnLow(), serial.transfer(Uint8Array.of(1)), serial.csnHigh()]);
  await expect(window).rejects.toBeInstanceOf(TimeoutError);
  await serial.close();
  await s.close();
});

test('pipelined window(): one write for CSN_LOW, SPI_SEND and CSN_HIGH, three exchanges recorded in order, the bytes clocked back', async () => {
  const s = await server(echo);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, pipeline: true, resyncOnConnect: false });
  const recs: { seq: number; tag: number; request: number[]; reply?: number[] }[] = [];
  t.on('exchange', (r: ExchangeRecord) => recs.push({ seq: r.seq, tag: r.tag, request: [...r.request], reply: r.reply && [...r.reply] }));
  const before = t.socketWrites;
  const [a, b] = await Promise.all([t.window(Uint8Array.of(1, 2)), t.window(Uint8Array.of(3))]);
  expect([...a, ...b]).toEqual([0xfe, 0xfd, 0xfc]);
  expect(t.socketWrites - before).toBe(1); // both windows issued in one tick: one write
  expect(recs).toEqual([
    { seq: 0, tag: TAG.CSN_LOW, request: [], reply: [] },
    { seq: 1, tag: TAG.SPI_SEND, request: [1, 2], reply: [0xfe, 0xfd] },
    { seq: 2, tag: TAG.CSN_HIGH, request: [], reply: [] },
    { seq: 3, tag: TAG.CSN_LOW, request: [], reply: [] },
    { seq: 4, tag: TAG.SPI_SEND, request: [3], reply: [0xfc] },
    { seq: 5, tag: TAG.CSN_HIGH, request: [], reply: [] },
  ]);
  await t.close();
  await s.close();
});

test('pipelined window(): a failing CSN_LOW rejects the window with its error, chip select is still raised, and the next exchange gets its own reply', async () => {
  const seen: number[] = [];
  const s = await server((sock, tag, payload, n) => {
    seen.push(tag);
    if (n === 0) sock.write(encodeFrame(TAG.EXCEPTION));
    else echo(sock, tag, payload, n);
  });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, pipeline: true, resyncOnConnect: false });
  const e = await t.window(Uint8Array.of(9)).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(TransportTagError);
  expect((e as TransportTagError).code).toBe('TH_TCP_EXCEPTION');
  expect(await t.transfer(Uint8Array.of(0x0f))).toEqual(Uint8Array.of(0xf0));
  expect(seen).toEqual([TAG.CSN_LOW, TAG.SPI_SEND, TAG.CSN_HIGH, TAG.SPI_SEND]);
  await t.close();
  await s.close();
});

test('pipelined: a lost reply times out the exchange waiting for it, and every exchange behind it fails with TH_TCP_LINK_LOST', async () => {
  const s = await server((sock, tag, payload, n) => {
    if (n === 0) echo(sock, tag, payload, n); // the server stops answering after the first
  });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, pipeline: true, ioTimeoutMs: 150, receiveRetries: 0, resyncOnConnect: false });
  const results = await Promise.allSettled([t.csnLow(), t.transfer(Uint8Array.of(1)), t.csnHigh(), t.csnLow()]);
  expect(results[0].status).toBe('fulfilled');
  expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
  expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'TH_TCP_LINK_LOST' });
  expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'TH_TCP_LINK_LOST' });
  await t.close();
  await s.close();
});

test('pipelined: an oversize payload fails in its turn without being written; the exchanges around it are answered', async () => {
  const seen: number[] = [];
  const s = await server((sock, tag, payload, n) => {
    seen.push(payload.length);
    echo(sock, tag, payload, n);
  });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, pipeline: true, resyncOnConnect: false, maxPayload: 8 });
  const results = await Promise.allSettled([t.transfer(Uint8Array.of(1)), t.transfer(new Uint8Array(9)), t.transfer(Uint8Array.of(2))]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'TH_TCP_PAYLOAD' });
  expect(seen).toEqual([1, 1]);
  expect(t.sequence).toBe(2); // a message never sent takes no sequence number
  await t.close();
  await s.close();
});

test('pipelined: 20,000 exchanges issued at once are all answered and settled in order (no recursion per reply)', async () => {
  const s = await server(echo);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: s.port, pipeline: true, resyncOnConnect: false });
  const order: number[] = [];
  const all = Array.from({ length: 20_000 }, (_, i) => t.transfer(Uint8Array.of(i & 0xff)).then((r) => (order.push(i), r[0])));
  const replies = await Promise.all(all);
  expect(replies.every((r, i) => r === (~i & 0xff))).toBe(true);
  expect(order.every((v, i) => v === i)).toBe(true);
  await t.close();
  await s.close();
});

test('pipeline and reconnect together are refused', async () => {
  await expect(TcpTransport.connect({ host: '127.0.0.1', port: 1, pipeline: true, reconnect: true })).rejects.toMatchObject({ code: 'TH_TCP_OPTIONS' });
});
