/**
 * Known divergences seen during exploration: a difference that matches the shape of a registered
 * finding (harness/findings) on a side whose implementation and version the finding holds for is
 * filtered, counted and named in the summary; never dropped silently. The shapes here say what each
 * finding looks like at the step where it shows.
 */
import { KNOWN_FINDINGS, matchFinding, type FindingId } from '../findings/registry.js';
import type { TargetImplementation } from '../targets/target.js';
import { L3_CMD, LIMITS } from '../protocol/l3.js';
import type { Observation } from './execute.js';
import type { ObservationDifference } from './compare.js';
import type { Step } from './steps.js';

type Shape = (step: Step, a: Observation, b: Observation, d: ObservationDifference) => boolean;

const either = (a: Observation, b: Observation, p: (o: Observation) => boolean): boolean => p(a) !== p(b);
const exception = (o: Observation): boolean => o.error === 'TH_TCP_EXCEPTION';
const status = (o: Observation): string | undefined => o.l2?.[0];

/** Findings exploration can meet; the others (e.g. a server dying on a reset connection) have no step shape. */
const SHAPES: Partial<Record<FindingId, Shape>> = {
  'ts-tvl-ignores-req-len': (s, a, b) => s.kind === 'raw-l2' && (s.corrupt === 'len+1' || s.corrupt === 'len-1') && either(a, b, (o) => status(o) === 'CRC_ERR'),
  'ts-tvl-short-first-l3-chunk': (s, a, b) => s.kind === 'l3' && (s.chunk ?? 252) < 18 && either(a, b, exception),
  'ts-tvl-all-zero-ephemeral-key': (s, a, b) => s.kind === 'handshake' && s.ephemeral === 'zero' && either(a, b, exception),
  'ts-tvl-cfg-sleep-mode-address': (s, a, b) => s.kind === 'sleep' && either(a, b, (o) => status(o) === 'RESP_DISABLED'),
  'ts-tvl-get-log-when-disabled': (s, a, b) => s.kind === 'get-log' && either(a, b, (o) => status(o) === 'RESP_DISABLED'),
  'ts-tvl-r-mem-444-bytes': (s, a, b, d) =>
    s.kind === 'l3' && Number.parseInt(s.plain.slice(0, 2), 16) === L3_CMD.R_MEM_DATA_WRITE && s.plain.length / 2 - 4 > LIMITS.USER_DATA_SLOT_FW1 && d.kind === 'l3-result' && either(a, b, (o) => o.l3 === 'FAIL'),
};

/**
 * Steps that meet a finding whatever the state (the shapes above whose condition is the step alone).
 * Left out of generation with --avoid-known, so sequences on a side with the finding go deeper
 * instead of ending at it.
 */
const TRIGGERS: Partial<Record<FindingId, (step: Step) => boolean>> = {
  'ts-tvl-ignores-req-len': (s) => s.kind === 'raw-l2' && (s.corrupt === 'len+1' || s.corrupt === 'len-1'),
  'ts-tvl-short-first-l3-chunk': (s) => s.kind === 'l3' && (s.chunk ?? 252) < 18,
  'ts-tvl-all-zero-ephemeral-key': (s) => s.kind === 'handshake' && s.ephemeral === 'zero',
  'ts-tvl-r-mem-444-bytes': (s) => s.kind === 'l3' && Number.parseInt(s.plain.slice(0, 2), 16) === L3_CMD.R_MEM_DATA_WRITE && s.plain.length / 2 - 4 > LIMITS.USER_DATA_SLOT_FW1,
};

/** Does a step always meet a finding that holds for one of these implementations? (The findings it meets, by id.) */
export function knownTriggers(implementations: TargetImplementation[]): { ids: FindingId[]; triggers: (step: Step) => boolean } {
  const held = KNOWN_FINDINGS.filter((f) => TRIGGERS[f.id] && implementations.some((impl) => matchFinding(f, impl).holds));
  return { ids: held.map((f) => f.id), triggers: (step) => held.some((f) => TRIGGERS[f.id]!(step)) };
}

export interface KnownMatch {
  id: FindingId;
  title: string;
  /** The side whose implementation the finding holds for. */
  side: 'reference' | 'target';
}

/** The registered finding this difference is, on a side it holds for; undefined for a new difference. */
export function matchKnownDivergence(
  step: Step,
  reference: Observation,
  target: Observation,
  difference: ObservationDifference,
  implementations: { reference: TargetImplementation; target: TargetImplementation },
): KnownMatch | undefined {
  for (const f of KNOWN_FINDINGS) {
    if (!SHAPES[f.id]?.(step, reference, target, difference)) continue;
    for (const side of ['target', 'reference'] as const) {
      if (matchFinding(f, implementations[side]).holds) return { id: f.id, title: f.title, side };
    }
  }
  return undefined;
}
