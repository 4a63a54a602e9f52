/**
 * Benchmarks for `npm run bench`: decode throughput and exact replay against the embedded model,
 * in exchanges per second, over a log recorded here (Ping and Get_Info through a seeded session).
 */
import { ModelServer } from '../model/server.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { FrameRecorder, parseFrameLog, type ParsedFrameLog } from './frame-log.js';
import { decodeFrameLog } from './decode.js';
import { replayFrameLog } from './replay.js';
import { OperationRunner } from './operations.js';
import { seededRandom, deriveSeeds } from './seeds.js';

export interface BenchFigure {
  name: string;
  exchanges: number;
  seconds: number;
  perSecond: number;
}

/** Records a log of `pings` L3 Pings (with the handshake and certificate reads) on a seeded embedded model. */
export async function recordBenchLog(pings = 200): Promise<ParsedFrameLog> {
  const seeds = deriveSeeds('framelog-bench');
  const server = await new ModelServer({ port: 0 }).start();
  server.chip.random = seededRandom(seeds.model);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
  const rec = new FrameRecorder(t, { header: { seeds } });
  try {
    const runner = new OperationRunner(t, { pairingKey: loadPairingKey({ TROPIC_PAIRING_KEY: undefined }) }, { random: seededRandom(seeds.host), annotate: rec.annotate });
    for (let i = 0; i < pings; i++) await runner.run({ layer: 'l3', method: 'ping', args: { length: 64 } });
  } finally {
    rec.detach();
    await t.close();
    await server.close();
  }
  return parseFrameLog(rec.toJsonl());
}

export async function benchDecode(log: ParsedFrameLog, seconds = 2): Promise<BenchFigure> {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < seconds * 1000) {
    decodeFrameLog(log.entries, { annotations: log.annotations });
    n += log.entries.length;
  }
  const s = (performance.now() - start) / 1000;
  return { name: 'frame-log decode', exchanges: n, seconds: s, perSecond: n / s };
}

export async function benchExactReplay(log: ParsedFrameLog, seconds = 2): Promise<BenchFigure> {
  const seed = (log.meta as { seeds?: { model?: string } }).seeds?.model;
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < seconds * 1000) {
    const server = await new ModelServer({ port: 0 }).start();
    if (seed) server.chip.random = seededRandom(seed);
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, receiveRetries: 0 });
    try {
      const r = await replayFrameLog(log.entries, t);
      if (r.diverged.length || r.errors.length) throw new RangeError(`replay benchmark: ${r.diverged.length} divergences, ${r.errors.length} errors`);
      n += r.sent;
    } finally {
      await t.close();
      await server.close();
    }
  }
  const s = (performance.now() - start) / 1000;
  return { name: 'frame-log exact replay (embedded)', exchanges: n, seconds: s, perSecond: n / s };
}

/** Both figures over one recorded log. */
export async function benchFrameLog(seconds = 2): Promise<BenchFigure[]> {
  const log = await recordBenchLog();
  return [await benchDecode(log, seconds), await benchExactReplay(log, seconds)];
}
