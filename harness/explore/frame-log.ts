/**
 * An exploration's minimal sequence inside a frame log, so that the frame-log codegen can turn the
 * log into a regression spec (and `tropic-harness framelog codegen` works on it like on any log):
 * the header's `explore` key says where the sequence came from (seed, sides, the difference), and
 * each exploration step's `step-start` annotation carries the step as data with what the reference
 * and the target answered. Read back with a schema: a hand-edited log fails here, naming the line,
 * not later as a spec that does not compile.
 */
import { z } from 'zod';
import { FrameLogError } from '../errors.js';
import type { ParsedFrameLog } from '../framelog/frame-log.js';
import { DIFFERENCE_KINDS, type ObservationDifference } from './compare.js';
import type { Observation } from './execute.js';
import type { Step } from './steps.js';

/** Header key of an exploration frame log. */
export const EXPLORE_HEADER_KEY = 'explore';

export interface ExplorationHeader {
  /** fast-check seed (and counterexample path) of the run that found the difference. */
  seed: number;
  path?: string;
  /** Labels of the two sides. */
  reference: string;
  target: string;
  /** Were configuration-dependent data compared (the observations hold `data` then)? */
  compareContent: boolean;
  /** Same kind at the same command (engine.ts `differenceSignature`). */
  signature: string;
  difference: ObservationDifference;
  /** Length of the sequence where it was first seen, before shrinking. */
  originalLength: number;
}

/** One exploration step with what each side answered to it during the exploration. */
export interface RecordedStep {
  step: Step;
  reference: Observation;
  target: Observation;
}

export interface ExplorationLog {
  header: ExplorationHeader;
  steps: RecordedStep[];
}

const byte = z.number().int().min(0).max(255);
const hexBytes = z.string().regex(/^(?:[0-9a-f]{2})*$/i, 'hex bytes');
const StepSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('get-info'), object: byte, block: byte }),
  z.strictObject({ kind: z.literal('handshake'), slot: byte, ephemeral: z.enum(['random', 'zero']) }),
  z.strictObject({ kind: z.literal('abort') }),
  z.strictObject({ kind: z.literal('resend') }),
  z.strictObject({ kind: z.literal('sleep'), mode: byte }),
  z.strictObject({ kind: z.literal('startup'), mode: byte }),
  z.strictObject({ kind: z.literal('get-log') }),
  z.strictObject({ kind: z.literal('raw-l2'), id: byte, data: hexBytes, corrupt: z.enum(['crc', 'len+1', 'len-1']).optional() }),
  z.strictObject({ kind: z.literal('l3'), plain: hexBytes.min(2), chunk: z.number().int().min(1).max(252).optional(), corrupt: z.enum(['nonce-skip', 'nonce-reuse', 'tag']).optional() }),
]);
const ObservationSchema = z.strictObject({
  l2: z.array(z.string()).optional(),
  l3: z.string().optional(),
  length: z.number().int().optional(),
  data: z.string().optional(),
  check: z.string().optional(),
  error: z.string().optional(),
  skipped: z.string().optional(),
});
const StepArgsSchema = z.object({ explore: StepSchema, reference: ObservationSchema, target: ObservationSchema });
const HeaderSchema = z.object({
  seed: z.number().int(),
  path: z.string().optional(),
  reference: z.string(),
  target: z.string(),
  compareContent: z.boolean(),
  signature: z.string(),
  difference: z.object({ kind: z.enum(DIFFERENCE_KINDS), reference: z.string(), target: z.string() }),
  originalLength: z.number().int().min(0),
});

// The schemas must describe the types exactly (compile-time check both ways).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemasMatchTypes: [Same<z.infer<typeof StepSchema>, Step>, Same<z.infer<typeof ObservationSchema>, Observation>] = [true, true];
void schemasMatchTypes;

/** The `step-start` arguments of one exploration step. */
export function stepStartArgs(r: RecordedStep): Record<string, unknown> {
  return { explore: r.step, reference: r.reference, target: r.target };
}

const where = (issue: z.core.$ZodIssue): string => `${issue.path.join('.') || '(top)'}: ${issue.message}`;

/** The exploration in a frame log, or undefined when the log is not an exploration's. */
export function readExplorationLog(log: ParsedFrameLog, file: string): ExplorationLog | undefined {
  const raw = (log.meta as Record<string, unknown>)[EXPLORE_HEADER_KEY];
  if (raw === undefined) return undefined;
  const header = HeaderSchema.safeParse(raw);
  if (!header.success) throw new FrameLogError(`${file}: header key "${EXPLORE_HEADER_KEY}" is not an exploration header (${header.error.issues.map(where).join('; ')})`, 'TH_FRAMELOG');
  const steps: RecordedStep[] = [];
  for (const a of log.annotations) {
    if (a.kind !== 'step-start' || a.args?.explore === undefined) continue;
    const args = StepArgsSchema.safeParse(a.args);
    if (!args.success) throw new FrameLogError(`${file}: exploration step ${steps.length + 1} (annotation before exchange #${a.seq}) cannot be read: ${args.error.issues.map(where).join('; ')}`, 'TH_FRAMELOG');
    steps.push({ step: args.data.explore, reference: args.data.reference, target: args.data.target });
  }
  if (!steps.length) throw new FrameLogError(`${file}: an exploration header but no exploration steps (step-start annotations with an "explore" argument)`, 'TH_FRAMELOG');
  return { header: header.data, steps };
}
