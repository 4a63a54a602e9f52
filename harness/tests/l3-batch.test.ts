/**
 * A batch of L3 commands in flight (TropicSquare.l3Batch / pingBatch) against a real model server
 * on loopback: on a pipelining transport the whole batch goes out without waiting between
 * commands, yet the exchanges are exactly those of the same commands sent one after another; on a
 * serial transport the batch runs one command at a time with the same results; a chip that does
 * not answer as written ahead for aborts the batch with TH_L3_BATCH_ABORTED naming the item and
 * keeping what completed; an irreversible command is refused before anything is sent.
 */
import { test, expect } from '@playwright/test';
import { modelServerPerTest } from './model-server-per-test.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { L3BatchError, TropicSquare, type DriverAnnotation, type L3Reply, type TropicSquareOptions } from '../driver/tropic-square.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { seededRandom } from '../framelog/seeds.js';
import { HarnessError, ProtocolError, TargetError, TransportError } from '../errors.js';
import { L3_RESULT, encode, resultName } from '../protocol/l3.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';
import { annotate, MESSAGES_PER_PING, PING, PING_BATCH, ROUND_TRIPS_PER_PING, pingBatchMeasure } from '../bench/annotate.js';
import { FLOOR_OTHER_PROCESS } from '../bench/floor-rows.js';
import { driverRows } from '../bench/driver-rows.js';
import type { BenchRow } from '../bench/measure.js';
import { fixedRow as row } from './bench-rows.js';
import type { BenchTarget } from '../bench/bench-targets.js';

const key = loadPairingKey(resolveConfig({}));
const model = modelServerPerTest();

/**
 * A driver with a secure session on a fresh chip, both sides seeded the same way every time (so two
 * runs exchange the same bytes), recording every exchange after the handshake.
 */
async function sessionOn(pipeline: boolean, opts: TropicSquareOptions = {}) {
  model.server.freshChip('next host');
  model.server.chip.random = seededRandom('l3-batch model');
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: model.server.port, pipeline });
  const ts = new TropicSquare(t, { random: seededRandom('l3-batch host'), ...opts });
  await ts.startSecureSession(0, key);
  const exchanges: ExchangeRecord[] = [];
  t.on('exchange', (r: ExchangeRecord) => exchanges.push(r));
  return { t, ts, exchanges };
}

const wire = (xs: ExchangeRecord[]) => xs.map((x) => `${x.tag}:${Buffer.from(x.request).toString('hex')}>${x.replyTag}:${Buffer.from(x.reply ?? []).toString('hex')}`);
const show = (rs: L3Reply[]) => rs.map((r) => `${resultName(r.result)} ${Buffer.from(r.data).toString('hex')}`);

/** 64-byte Ping data, different for each item. */
const pingData = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(64).map((_, j) => (i * 64 + j) & 0xff));

test('16 Pings in flight: each gets its own echo, in order, in one socket write, with the exchanges of 16 Pings sent one after another', async () => {
  const datas = pingData(16);
  const runs: { writes: number; exchanges: string[]; nonces: number[]; echoes: Uint8Array[] }[] = [];
  for (const batched of [false, true]) {
    const { t, ts, exchanges } = await sessionOn(true);
    try {
      const nonce0 = [ts.session!.cmdNonce, ts.session!.resNonce];
      const writes = t.socketWrites;
      const echoes: Uint8Array[] = [];
      if (batched) echoes.push(...(await ts.pingBatch(datas)));
      else for (const d of datas) echoes.push(await ts.ping(d));
      runs.push({ writes: t.socketWrites - writes, exchanges: wire(exchanges), nonces: [ts.session!.cmdNonce - nonce0[0], ts.session!.resNonce - nonce0[1]], echoes });
      expect(ts.link.droppedPolls).toBe(0);
      expect(ts.link.outstanding).toBe(0);
    } finally {
      await t.close();
    }
  }
  const [serial, batch] = runs;
  expect(batch!.echoes).toEqual(datas);
  expect(serial!.echoes).toEqual(datas);
  // One Ping 64 B sent alone is one write (its request window and both polls together): 16 writes.
  expect(serial!.writes).toBe(16);
  // A Ping 64 B's result (86 bytes with RES_SIZE and tag) is one chunk, so every Ping may be written
  // behind the one before: all 16 are issued in one tick, which the transport writes at once.
  expect(batch!.writes).toBe(1);
  // Byte for byte the same exchanges (9 a Ping), sealed with 16 consecutive nonces each way.
  expect(batch!.exchanges).toHaveLength(16 * 9);
  expect(batch!.exchanges).toEqual(serial!.exchanges);
  expect(batch!.nonces).toEqual([16, 16]);
});

test('mixed commands in flight each get their own result, a refused read and a result of several chunks included, as sent one after another', async () => {
  const slotData = new Uint8Array(444).map((_, i) => (i * 7) & 0xff);
  const plaintexts = [
    encode.randomValueGet(16),
    encode.ping(Uint8Array.of(1, 2, 3)),
    encode.eccKeyRead(7), // an empty slot: the chip refuses with an L3 result
    encode.rMemDataRead(3), // 448 result bytes: four result chunks
    encode.ping(Uint8Array.of(4, 5)),
    encode.randomValueGet(200), // two result chunks, last in the batch
  ];
  const runs: { replies: L3Reply[]; exchanges: string[]; writes: number }[] = [];
  for (const batched of [false, true]) {
    const { t, ts, exchanges } = await sessionOn(true);
    try {
      await ts.memDataWrite(slotData, 3);
      const [before, writes] = [exchanges.length, t.socketWrites];
      const replies: L3Reply[] = [];
      if (batched) replies.push(...(await ts.l3Batch(plaintexts)));
      else for (const p of plaintexts) replies.push(await ts.l3Raw(p));
      runs.push({ replies, exchanges: wire(exchanges.slice(before)), writes: t.socketWrites - writes });
      expect(ts.link.droppedPolls).toBe(0);
      expect(ts.operations.slice(-plaintexts.length).map((o) => o.outcome)).toEqual(replies.map((r) => resultName(r.result)));
    } finally {
      await t.close();
    }
  }
  const [serial, batch] = runs;
  const r = batch!.replies;
  expect(r.map((x) => resultName(x.result))).toEqual(['OK', 'OK', 'INVALID_KEY', 'OK', 'OK', 'OK']);
  expect(r[0]!.data.length).toBe(3 + 16);
  expect(r[1]!.data).toEqual(Uint8Array.of(1, 2, 3));
  expect(r[3]!.data.subarray(3)).toEqual(slotData);
  expect(r[4]!.data).toEqual(Uint8Array.of(4, 5));
  expect(r[5]!.data.length).toBe(3 + 200);
  expect(show(batch!.replies)).toEqual(show(serial!.replies));
  expect(batch!.exchanges).toEqual(serial!.exchanges);
  // Serial: one write per command, and one more per multi-chunk result for its further chunks (8).
  // Batch: the first four in one write; R_Mem_Data_Read's further chunks in a second; the last two
  // in a third (written once that result was read); Random_Value_Get(200)'s second chunk in a fourth.
  expect(serial!.writes).toBe(8);
  expect(batch!.writes).toBe(4);
});

test('a batch on a serial transport runs one command at a time with the same results and exchanges', async () => {
  const plaintexts = [encode.ping(Uint8Array.of(9)), encode.randomValueGet(8), encode.eccKeyRead(2), ...pingData(3).map((d) => encode.ping(d))];
  const runs: { replies: L3Reply[]; exchanges: string[]; writes: number; messages: number }[] = [];
  for (const pipeline of [true, false]) {
    const { t, ts, exchanges } = await sessionOn(pipeline);
    try {
      const writes = t.socketWrites;
      const replies = await ts.l3Batch(plaintexts);
      runs.push({ replies, exchanges: wire(exchanges), writes: t.socketWrites - writes, messages: exchanges.length });
    } finally {
      await t.close();
    }
  }
  const [pipelined, serial] = runs;
  expect(show(serial!.replies)).toEqual(show(pipelined!.replies));
  expect(serial!.replies.map((r) => resultName(r.result))).toEqual(['OK', 'OK', 'INVALID_KEY', 'OK', 'OK', 'OK']);
  expect(serial!.exchanges).toEqual(pipelined!.exchanges);
  // Serial: every message its own write.
  expect(serial!.writes).toBe(serial!.messages);
  expect(pipelined!.writes).toBe(1);
});

test('a busy chip aborts a batch with TH_L3_BATCH_ABORTED naming the item; nothing is left in flight and a new session works', async () => {
  const { t, ts } = await sessionOn(true);
  try {
    // The first Ping's two polls answer not ready; the second Ping's request is already written behind them.
    model.server.faults.set({ busyPolls: 2 });
    const err = await ts.pingBatch(pingData(4)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(L3BatchError);
    const e = err as L3BatchError;
    expect(e.code).toBe('TH_L3_BATCH_ABORTED');
    expect([e.index, e.command, e.count, e.completed.length]).toEqual([0, 'PING', 4, 0]);
    expect(e.message).toContain('at item 0 of 4 (PING)');
    expect(e.cause).toBeInstanceOf(ProtocolError);
    expect((e.cause as ProtocolError).code).toBe('TH_L1_NO_RESPONSE');
    // Three later Pings were sealed and sent: the chip's nonces are unknown, the host session is gone.
    expect(ts.hasSession).toBe(false);
    expect(ts.link.outstanding).toBe(0);
    expect(ts.operations.slice(-4).map((o) => o.outcome)).toEqual(['no answer', 'no answer', 'no answer', 'no answer']);
    await ts.startSecureSession(0, key);
    expect(await ts.pingBatch(pingData(2))).toEqual(pingData(2));
  } finally {
    await t.close();
  }
});

test('a batch aborted by a transport error at a later item keeps the replies of the items before it', async () => {
  const { t, ts } = await sessionOn(true);
  try {
    const datas = pingData(5);
    // A Ping is 9 tagged messages (three chip-select windows): message 19 is the third Ping's CSN_LOW.
    model.server.faults.set({ exceptionAtFrame: 2 * 9 + 1 });
    const err = await ts.l3Batch(datas.map((d) => encode.ping(d))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(L3BatchError);
    const e = err as L3BatchError;
    expect([e.index, e.command, e.count]).toEqual([2, 'PING', 5]);
    expect(e.completed.map((r) => r.result)).toEqual([L3_RESULT.OK, L3_RESULT.OK]);
    expect(e.completed.map((r) => r.data)).toEqual(datas.slice(0, 2));
    expect(e.cause).toBeInstanceOf(TransportError);
    expect(e.message).toContain('after 2 completed');
    expect(ts.hasSession).toBe(false);
    expect(ts.link.outstanding).toBe(0);
    expect(ts.operations.slice(-5).map((o) => o.outcome)).toEqual(['OK', 'OK', 'no answer', 'no answer', 'no answer']);
    // The planted internal error rebuilt the chip: a new session, and the driver works again.
    await ts.startSecureSession(0, key);
    expect(await ts.ping(Uint8Array.of(7))).toEqual(Uint8Array.of(7));
  } finally {
    await t.close();
  }
});

test('an irreversible command in a batch is refused by the policy before anything of the batch is sent', async () => {
  const { t, ts, exchanges } = await sessionOn(true, { policy: (op) => `by this test's policy (${op.name})` });
  try {
    const writes = t.socketWrites;
    const err = await ts.l3Batch([encode.ping(Uint8Array.of(1)), encode.mcounterInit(3, 10), encode.ping(Uint8Array.of(2))]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as HarnessError).code).toBe('TH_IRREVERSIBLE_REFUSED');
    expect((err as Error).message).toContain('l3Batch item 1 of 3: MCounter_Init(index 3) is irreversible');
    expect(t.socketWrites).toBe(writes);
    expect(exchanges).toEqual([]);
    // Admission stops at the refused command; the one admitted before it was never sent.
    expect(ts.operations.slice(-2).map((o) => `${o.name} ${o.outcome}`)).toEqual(['Ping not sent', 'MCounter_Init refused']);
    // Nothing was sealed: the session goes on with the next nonce.
    expect(ts.hasSession).toBe(true);
    expect(await ts.ping(Uint8Array.of(5))).toEqual(Uint8Array.of(5));
  } finally {
    await t.close();
  }
});

test('a batch is one driver step; each command keeps its l3-command and l3-result annotations, in wire order', async () => {
  const annotations: DriverAnnotation[] = [];
  const { t, ts } = await sessionOn(true, { annotate: (a) => annotations.push(a) });
  try {
    annotations.length = 0;
    await ts.pingBatch([Uint8Array.of(1), new Uint8Array(2)]);
    await ts.l3Batch([encode.eccKeyRead(4)]);
  } finally {
    await t.close();
  }
  expect(annotations).toEqual([
    { kind: 'step-start', step: 'pingBatch', args: { count: 2, commands: ['PING', 'PING'] } },
    { kind: 'l3-command', command: 'PING', commandId: 1, args: { length: 1 } },
    { kind: 'l3-result', command: 'PING', result: L3_RESULT.OK, resultName: 'OK', length: 1 },
    { kind: 'l3-command', command: 'PING', commandId: 1, args: { length: 2 } },
    { kind: 'l3-result', command: 'PING', result: L3_RESULT.OK, resultName: 'OK', length: 2 },
    { kind: 'step-end', step: 'pingBatch' },
    { kind: 'step-start', step: 'l3Batch', args: { count: 1, commands: ['ECC_KEY_READ'] } },
    { kind: 'l3-command', command: 'ECC_KEY_READ', commandId: 0x62, args: {} },
    { kind: 'l3-result', command: 'ECC_KEY_READ', result: L3_RESULT.INVALID_KEY, resultName: 'INVALID_KEY', length: 0 },
    { kind: 'step-end', step: 'l3Batch' },
  ]);
});

test('bench: Pings in flight are measured on a pipelining target only, per Ping, and compared with the floor of one Ping at a time', async () => {
  const target = (pipeline: boolean): BenchTarget => ({ name: pipeline ? 'pipelined' : 'serial', host: '127.0.0.1', port: model.server.port, pipeline, startupMs: 0, stop: async () => undefined });
  const rows: BenchRow[] = [];
  for (const pipeline of [true, false]) rows.push(...(await driverRows(target(pipeline), { seconds: 0.1, pairingKey: key, only: 'in flight', progress: () => undefined })));
  const measured = rows.filter((r) => r.measure.includes('in flight'));
  expect(measured.map((r) => `${r.measure}: ${r.target} ${r.unit} ${r.note ?? ''}`)).toEqual([
    'L3 Ping 64 B, 16 in flight: pipelined ops/s ',
    'L3 Ping 64 B, 16 in flight: pipelined µs per batch of 16',
    'L3 Ping 64 B, 64 in flight: pipelined ops/s ',
    'L3 Ping 64 B, 64 in flight: pipelined µs per batch of 64',
  ]);
  for (const r of measured) expect(Number.isFinite(r.median) && r.median > 0, `${r.measure} ${r.unit} median ${r.median}`).toBe(true);

  const table: BenchRow[] = [
    row('loopback echo, 9 messages per write', FLOOR_OTHER_PROCESS, 'ops/s', 7_000),
    row(PING, 'model process, pipelined', 'ops/s', 3_500),
    row(MESSAGES_PER_PING, 'model process, pipelined', 'messages', 9),
    row(ROUND_TRIPS_PER_PING, 'model process, pipelined', 'round trips', 1),
    row(PING_BATCH, 'model process, pipelined', 'ops/s', 14_000),
    row(PING_BATCH, 'model container', 'ops/s', 9_000),
    row(pingBatchMeasure(64), 'model process, pipelined', 'ops/s', 21_000),
  ];
  annotate(table);
  const note = (measure: string, t: string) => table.find((r) => r.measure === measure && r.target === t)!.note;
  expect(note(PING, 'model process, pipelined')).toBe('50% of floor (loopback, other process: "loopback echo, 9 messages per write" 7000/s / 1 round trip = 7000/s)');
  expect(note(PING_BATCH, 'model process, pipelined')).toBe('200% of the L3 Ping 64 B floor (loopback, other process: "loopback echo, 9 messages per write" 7000/s / 1 round trip = 7000/s); 4.0x L3 Ping 64 B one at a time');
  expect(note(PING_BATCH, 'model container')).toBe(`no floor: ${ROUND_TRIPS_PER_PING} not measured`);
  expect(note(pingBatchMeasure(64), 'model process, pipelined')).toBe('300% of the L3 Ping 64 B floor (loopback, other process: "loopback echo, 9 messages per write" 7000/s / 1 round trip = 7000/s); 6.0x L3 Ping 64 B one at a time');
});
