/**
 * Driver-level rows for one target: one tagged exchange, Get_Info, the secure-session handshake,
 * L3 Ping 64 B and 4 KiB (64 B also with 16 and 64 in flight on pipelining targets), ECDSA and EdDSA signing, R-memory write/read at the slot size the chip
 * reports (444 B on FW 1.x and ts-tvl < 2.3, 475 B on FW 2.x), a fresh chip (RESET_TARGET, and the
 * in-memory rebuild where the model is in this process), and the tagged messages an L3 command
 * costs against the protocol's minimum.
 */
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { TAG } from '../protocol/tagged-frame.js';
import { L2_MAX_DATA } from '../protocol/l2.js';
import { TAG_LEN } from '../protocol/session.js';
import { measureOp, opRows, summarize, timeEach, type BenchRow } from './measure.js';
import type { BenchTarget } from './bench-targets.js';
import { PING, PING_BATCH_SIZES, pingBatchMeasure } from './annotate.js';

export interface DriverRowOptions {
  seconds: number;
  pairingKey: Uint8Array;
  /** Only measures whose name contains this text (case-insensitive). */
  only?: string;
  progress: (line: string) => void;
}

/**
 * Fewest tagged messages an L3 command can take: every chip-select window is CSN_LOW, SPI_SEND,
 * CSN_HIGH; each command chunk is one request window plus one window reading its REQ_CONT/REQ_OK,
 * and each result chunk one window.
 */
export function minimumMessages(commandBytes: number, resultBytes: number): number {
  const chunks = (n: number) => Math.ceil((2 + n + TAG_LEN) / L2_MAX_DATA);
  return 3 * (2 * chunks(commandBytes) + chunks(resultBytes));
}

export async function driverRows(target: BenchTarget, o: DriverRowOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const wanted = (measure: string) => !o.only || measure.toLowerCase().includes(o.only.toLowerCase());
  const t = await TcpTransport.connect({ host: target.host, port: target.port, ioTimeoutMs: 30_000, pipeline: target.pipeline });
  try {
    const ts = new TropicSquare(t);
    // A measure the target refuses (e.g. ts-tvl's 444-byte User Data slots) is a row saying so, not the end of the run.
    // `perCall`: operations one call does (a batch), so ops/s counts operations and µs is per call.
    const run = async (measure: string, op: () => Promise<unknown>, note?: string, perCall = 1) => {
      if (!wanted(measure)) return;
      o.progress(`${target.name}: ${measure}`);
      try {
        const m = await measureOp(op, o.seconds);
        const [ops, us] = opRows(measure, target.name, perCall === 1 ? m : { ...m, rates: m.rates.map((r) => r * perCall) }, note);
        rows.push(ops!, perCall === 1 ? us! : { ...us!, note: `per batch of ${perCall}` });
      } catch (e) {
        rows.push({ measure, target: target.name, unit: 'ops/s', min: NaN, median: NaN, p99: NaN, note: `not measured: ${(e as Error).message.split('\n')[0]}` });
      }
    };
    await run('one tagged exchange', () => t.exchange(TAG.WAIT, new Uint8Array(4)));
    await run('Get_Info', () => ts.getInfo(1));
    await run('handshake', () => ts.startSecureSession(0, o.pairingKey));
    await ts.startSecureSession(0, o.pairingKey);
    const small = new Uint8Array(64).fill(1);
    await run(PING, () => ts.ping(small));
    // Several Pings in flight need a transport that writes without waiting for replies.
    if (target.pipeline) {
      for (const size of PING_BATCH_SIZES) {
        const batch = Array.from({ length: size }, () => small);
        await run(pingBatchMeasure(size), () => ts.pingBatch(batch), undefined, size);
      }
    }
    await run('L3 Ping 4 KiB', () => ts.ping(new Uint8Array(4096).fill(2)));
    if (wanted('ECDSA sign') || wanted('EdDSA sign')) {
      await ts.eccKeyGenerate(0, 'P256');
      await ts.eccKeyGenerate(1, 'ED25519');
      const hash = new Uint8Array(32).fill(3);
      await run('ECDSA sign', () => ts.ecdsaSign(0, hash));
      await run('EdDSA sign', () => ts.eddsaSign(1, small));
      await ts.eccKeyErase(0);
      await ts.eccKeyErase(1);
    }
    // ts-tvl < 2.3 keeps 444-byte slots whatever its FW version says (known finding ts-tvl-r-mem-444-bytes).
    const slotSize = target.name === 'ts-tvl' ? 444 : await ts.userDataSlotSize();
    const data = new Uint8Array(slotSize).fill(5);
    await run(`R-mem write ${slotSize} B`, async () => {
      await ts.memDataErase(0);
      await ts.memDataWrite(data, 0);
    }, 'erase + write');
    await ts.memDataWrite(data, 0).catch(() => undefined);
    await run(`R-mem read ${slotSize} B`, () => ts.memDataRead(0));
    await ts.memDataErase(0);

    const messagesWanted = wanted('messages per L3 command') || wanted('messages per L3 Ping 64 B');
    if (messagesWanted || wanted('round trips per L3 Ping 64 B')) {
      // Round trips are socket writes: serial, one per message; pipelined, one per write of messages issued together.
      const [before, writesBefore] = [t.sequence, t.socketWrites];
      await ts.ping(small);
      const [used, trips] = [t.sequence - before, t.socketWrites - writesBefore];
      const min = minimumMessages(1 + small.length, 1 + small.length);
      if (messagesWanted) rows.push({ measure: 'messages per L3 Ping 64 B', target: target.name, unit: 'messages', min: used, median: used, p99: used, note: `protocol minimum ${min}` });
      if (wanted('round trips per L3 Ping 64 B')) rows.push({ measure: 'round trips per L3 Ping 64 B', target: target.name, unit: 'round trips', min: trips, median: trips, p99: trips, note: `socket writes, ${target.pipeline ? 'pipelined' : 'serial'} transport` });
    }
    if (wanted('fresh chip')) {
      o.progress(`${target.name}: fresh chip`);
      const rt = await timeEach(100, () => t.resetTarget().catch(() => undefined));
      rows.push({ measure: 'fresh chip (RESET_TARGET)', target: target.name, unit: 'ms', ...summarize(rt) });
      if (target.resetInMemory) rows.push({ measure: 'fresh chip (in-memory)', target: target.name, unit: 'ms', ...summarize(await timeEach(200, () => target.resetInMemory!())) });
    }
  } finally {
    await t.close();
  }
  if (wanted('start-up')) rows.push({ measure: 'target start-up', target: target.name, unit: 'ms', min: target.startupMs, median: target.startupMs, p99: target.startupMs });
  return rows;
}
