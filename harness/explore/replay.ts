/**
 * Replaying an exploration sequence on one chip, as a generated regression spec does: the same
 * runner as exploration (so the same bytes go out), observations returned for the spec to compare
 * with what the reference answered. On a chip without reset (a rig) what the steps may change is
 * read first and put back afterwards, pass or fail.
 */
import { LIMITS } from '../protocol/l3.js';
import { classifyL3 } from '../driver/operations.js';
import { seededRandom } from '../framelog/seeds.js';
import type { PollOptions } from '../driver/l2-link.js';
import type { L1Transport } from '../transport/l1-transport.js';
import type { DriverAnnotation } from '../driver/tropic-square.js';
import { StepRunner, type Observation } from './execute.js';
import { restoreToSnapshot, takeRestoreSnapshot, type RestorePlan } from './restore.js';
import { describeStep, type Step } from './steps.js';

export interface ReplayStepsOptions {
  pairingKey: Uint8Array;
  pairingSlot?: number;
  compareContent: boolean;
  irreversibleAllowed: boolean;
  /** Read what the steps may change before, and put it back after (a chip without reset). */
  restore?: boolean;
  poll?: PollOptions;
  /** Frame-log annotations: one driver step per exploration step. */
  annotate?: (a: DriverAnnotation) => void;
  /** Arguments of step `i`'s `step-start` annotation (an exploration frame log's steps, see frame-log.ts). */
  stepArgs?: (i: number) => Record<string, unknown>;
}

/** The ECC and User Data slots a sequence's L3 commands touch. */
export function restorePlanOf(steps: Step[]): RestorePlan {
  const plan: RestorePlan = { eccSlots: [], userDataSlots: [] };
  for (const s of steps) {
    if (s.kind !== 'l3') continue;
    const t = classifyL3(Buffer.from(s.plain, 'hex')).touches;
    if (t?.kind === 'ecc-slot' && t.slot < LIMITS.ECC_SLOTS && !plan.eccSlots.includes(t.slot)) plan.eccSlots.push(t.slot);
    if (t?.kind === 'r-mem-slot' && t.slot < LIMITS.USER_DATA_SLOTS && !plan.userDataSlots.includes(t.slot)) plan.userDataSlots.push(t.slot);
  }
  return plan;
}

export async function replaySteps(transport: L1Transport, steps: Step[], o: ReplayStepsOptions): Promise<Observation[]> {
  const access = { transport, pairingKey: o.pairingKey, pairingSlot: o.pairingSlot ?? 0, poll: o.poll };
  const snapshot = o.restore ? await takeRestoreSnapshot(access, restorePlanOf(steps)) : undefined;
  // Same host randomness as the exploration's first sequence on this side.
  const runner = new StepRunner(transport, { ...o, random: seededRandom(Buffer.from('explore target replay').toString('hex')) });
  const out: Observation[] = [];
  try {
    for (const [i, s] of steps.entries()) {
      const name = describeStep(s);
      o.annotate?.({ kind: 'step-start', step: name, args: o.stepArgs?.(i) ?? {} });
      const obs = await runner.run(s);
      o.annotate?.({ kind: 'step-end', step: name });
      out.push(obs);
    }
  } finally {
    if (snapshot) await restoreToSnapshot(access, snapshot);
  }
  return out;
}
