/**
 * Speculative Get_Response polls (harness/driver/l2-link.ts) against a real model server on
 * loopback: on a pipelining transport a request and its first poll go out in one write, and an L3
 * command's result poll with its last chunk, yet the exchanges are exactly a serial host's; a busy
 * chip is still polled until it answers; a poll issued ahead for a result that never comes is
 * dropped before the next request instead of being taken as that request's response.
 */
import { test, expect } from '@playwright/test';
import { modelServerPerTest } from './model-server-per-test.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { seededRandom } from '../framelog/seeds.js';
import { L2StatusError } from '../errors.js';
import { GET_INFO_OBJECT } from '../protocol/l2.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';

const key = loadPairingKey(resolveConfig({}));
const model = modelServerPerTest();

/** A driver on a fresh connection, recording every exchange (tag, request bytes, reply bytes). */
async function driver(pipeline: boolean) {
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: model.server.port, pipeline });
  const exchanges: ExchangeRecord[] = [];
  t.on('exchange', (r: ExchangeRecord) => exchanges.push(r));
  return { t, ts: new TropicSquare(t, { random: seededRandom('speculative-polls') }), exchanges };
}

const wire = (xs: ExchangeRecord[]) => xs.map((x) => `${x.tag}:${Buffer.from(x.request).toString('hex')}>${x.replyTag}:${Buffer.from(x.reply ?? []).toString('hex')}`);

test('an L3 Ping is one socket write on a pipelining link and the same nine exchanges as a serial host', async () => {
  const results: { writes: number; exchanges: string[] }[] = [];
  for (const pipeline of [false, true]) {
    model.server.freshChip('next host');
    model.server.chip.random = seededRandom('model');
    const { t, ts, exchanges } = await driver(pipeline);
    try {
      await ts.startSecureSession(0, key);
      const before = exchanges.length;
      const writes = t.socketWrites;
      expect(await ts.ping(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
      results.push({ writes: t.socketWrites - writes, exchanges: wire(exchanges.slice(before)) });
      expect(ts.link.droppedPolls).toBe(0);
    } finally {
      await t.close();
    }
  }
  const [serial, pipelined] = results;
  expect(serial!.exchanges).toHaveLength(9);
  expect(serial!.writes).toBe(9);
  expect(pipelined!.writes).toBe(1);
  expect(pipelined!.exchanges).toEqual(serial!.exchanges);
});

test('a multi-chunk result is polled for all at once once its first chunk gives the size', async () => {
  const { t, ts } = await driver(true);
  try {
    await ts.startSecureSession(0, key);
    const data = new Uint8Array(1000).map((_, i) => i & 0xff);
    const writes = t.socketWrites;
    expect(await ts.ping(data)).toEqual(data);
    // The 1019-byte command packet (RES_SIZE, command, 1000 bytes, tag) is 5 chunks of up to 252
    // bytes: 5 writes, the last with the first result poll. The result (1019 bytes too) comes in
    // 128-byte chunks: the other 7 are polled for in one more write.
    expect(t.socketWrites - writes).toBe(6);
    expect(ts.link.droppedPolls).toBe(0);
  } finally {
    await t.close();
  }
});

test('a busy chip answering not-ready is still polled until it answers, speculative polls counted as polls', async () => {
  const { t, ts } = await driver(true);
  try {
    await ts.startSecureSession(0, key);
    model.server.faults.set({ busyPolls: 3 });
    const busyBefore = ts.link.busyPolls;
    expect(await ts.ping(Uint8Array.of(9))).toEqual(Uint8Array.of(9));
    expect(ts.link.busyPolls - busyBefore).toBe(3);
    expect(model.server.faults.settings.busyPolls).toBe(0);
  } finally {
    await t.close();
  }
});

test('a result poll issued ahead of a command the chip refuses is dropped, not taken as the next response', async () => {
  const { t, ts } = await driver(true);
  try {
    await ts.startSecureSession(0, key);
    model.server.resetChip('the chip forgets the session; the host does not');
    const err = await ts.ping(Uint8Array.of(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(L2StatusError);
    expect((err as L2StatusError).statusName).toBe('NO_SESSION');
    // The next request gets its own response: a chip ID, not the stale poll's NO_RESP.
    const id = await ts.getInfo(GET_INFO_OBJECT.CHIP_ID);
    expect(ts.link.droppedPolls).toBe(1);
    expect(id.length).toBe(128);
  } finally {
    await t.close();
  }
});
