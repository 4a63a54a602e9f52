/**
 * Running operations on a fresh target and judging a condition on the outcomes: what `minimize`
 * tests each candidate with, and what codegen'd regressions are checked against.
 * Conditions: `result=NAME [on METHOD]` (some operation, of that method, ended with NAME: an L3
 * result, an L2 status, OK, or error:TH_CODE), `diverges` (some outcome differs from the recorded
 * one), `differs` (with a second target: the targets' outcomes differ).
 */
import { FrameLogError } from '../errors.js';
import { FrameRecorder, type FrameLogHeader } from './frame-log.js';
import { OperationRunner, describeOperation, type Operation, type Outcome } from './operations.js';
import { outcomeMatches } from './replay.js';
import { openReplayTarget } from './replay-target.js';
import { seededRandom, type RunSeeds } from './seeds.js';

export interface Condition {
  text: string;
  /** Needs outcomes from a second target. */
  needsAgainst: boolean;
  holds(ops: Operation[], outcomes: Outcome[], against?: Outcome[]): boolean;
}

export function parseCondition(text: string): Condition {
  const t = text.trim();
  const r = /^(?:result|status)\s*=\s*([\w:]+)(?:\s+on\s+(\w+))?$/.exec(t);
  if (r) {
    const [, name, method] = r;
    return { text: t, needsAgainst: false, holds: (ops, out) => out.some((o, i) => o.result === name && (!method || ops[i].method === method)) };
  }
  if (t === 'diverges') return { text: t, needsAgainst: false, holds: (ops, out) => out.some((o, i) => !outcomeMatches(ops[i].expect, o)) };
  if (t === 'differs') {
    return { text: t, needsAgainst: true, holds: (_ops, out, against) => !!against && out.some((o, i) => !outcomeMatches(against[i], o)) };
  }
  throw new FrameLogError(`--until ${JSON.stringify(text)} is not a condition: expected "result=NAME [on METHOD]", "diverges", or "differs" (with --against)`, 'TH_MINIMIZE');
}

export interface RunOptions {
  pairingKey: Uint8Array;
  slot?: number;
  seeds?: Partial<RunSeeds>;
  modelConfig?: string;
  ioTimeoutMs?: number;
  /** Record the run as a frame log to this file. */
  recordTo?: string;
  header?: Omit<FrameLogHeader, 'frameLog'>;
}

/** Runs the operations on a freshly reset target; returns one outcome per operation. */
export async function runOnFreshTarget(ops: Operation[], target: string, opts: RunOptions): Promise<Outcome[]> {
  const t = await openReplayTarget(target, { modelSeed: opts.seeds?.model, modelConfig: opts.modelConfig, ioTimeoutMs: opts.ioTimeoutMs });
  const recorder = opts.recordTo ? new FrameRecorder(t.transport, { file: opts.recordTo, header: { ...opts.header, seeds: opts.seeds } }) : undefined;
  try {
    const runner = new OperationRunner(t.transport, { pairingKey: opts.pairingKey, slot: opts.slot }, {
      random: opts.seeds?.host ? seededRandom(opts.seeds.host) : undefined,
      annotate: recorder?.annotate,
      sessionKeys: recorder?.sessionKeysListener, // only when the header says secrets are recorded
    });
    const out: Outcome[] = [];
    for (const op of ops) out.push(await runner.run(op));
    return out;
  } finally {
    recorder?.detach();
    await t.close();
  }
}

export const describeRun = (ops: Operation[], outcomes: Outcome[]): string =>
  ops.map((op, i) => `  ${describeOperation({ ...op, expect: undefined } as Operation)} → ${outcomes[i]?.result ?? '?'}${outcomes[i]?.length !== undefined ? ` (${outcomes[i].length} B)` : ''}`).join('\n');
