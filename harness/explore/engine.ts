/**
 * Differential exploration: fast-check draws command sequences (`fc.commands`), each runs in
 * lockstep on the reference and the target from a fresh chip (`fc.asyncModelRun`, the reference
 * being the model of the target), and the first step whose observations differ fails the run.
 * fast-check then shrinks the sequence; a greedy pass removes whatever single steps it left that
 * the difference does not need. Known divergences (harness/findings) end their sequence and are
 * counted by name; a difference found once is not reported again (its later sightings are counted).
 */
import fc from 'fast-check';
import { TargetError } from '../errors.js';
import { seededRandom } from '../framelog/seeds.js';
import { compareObservations, type DifferenceKind, type ObservationDifference } from './compare.js';
import { StepRunner, isFatal, type Observation } from './execute.js';
import { matchKnownDivergence, type KnownMatch } from './known.js';
import type { Side } from './sides.js';
import { describeStep, stepArbitrary, stepName, type GenerationOptions, type Step } from './steps.js';

export interface LockstepOptions {
  pairingKey: Uint8Array;
  compareContent: boolean;
  irreversibleAllowed: boolean;
}

export interface StepOutcome {
  reference: Observation;
  target: Observation;
  difference?: ObservationDifference;
  known?: KnownMatch;
}

export interface SequenceResult {
  reference: Observation[];
  target: Observation[];
  /** Index of the first differing step. */
  failing?: number;
  difference?: ObservationDifference;
  known?: KnownMatch;
}

/** One reference and one target, stepped together from fresh chips. */
export class Lockstep {
  private ref?: StepRunner;
  private tgt?: StepRunner;
  private sequenceNumber = 0;

  constructor(readonly reference: Side, readonly target: Side, private readonly opts: LockstepOptions) {}

  async fresh(): Promise<void> {
    await Promise.all([this.reference.fresh(), this.target.fresh()]);
    // Seeded host randomness per sequence, so a replayed sequence sends the same ephemeral keys.
    const seed = (role: string) => Buffer.from(`explore ${role} ${this.sequenceNumber}`).toString('hex');
    this.sequenceNumber++;
    const runner = (side: Side) => new StepRunner(side.transport, { ...this.opts, poll: side.poll, random: seededRandom(seed(side.role)) });
    this.ref = runner(this.reference);
    this.tgt = runner(this.target);
  }

  async step(step: Step): Promise<StepOutcome> {
    if (!this.ref || !this.tgt) throw new TargetError('exploration step before fresh(): no sequence started', 'TH_EXPLORE');
    const reference = await this.ref.run(step);
    const target = await this.tgt.run(step);
    const difference = compareObservations(reference, target);
    if (!difference) return { reference, target };
    const known = matchKnownDivergence(step, reference, target, difference, { reference: this.reference.implementation, target: this.target.implementation });
    return { reference, target, difference, known };
  }

  /** Run a whole sequence from fresh chips, stopping at the first difference. */
  async runSequence(steps: Step[]): Promise<SequenceResult> {
    await this.fresh();
    const out: SequenceResult = { reference: [], target: [] };
    for (const [i, s] of steps.entries()) {
      const r = await this.step(s);
      out.reference.push(r.reference);
      out.target.push(r.target);
      if (r.difference) return { ...out, failing: i, difference: r.difference, known: r.known };
    }
    return out;
  }
}

/** Same difference: same kind at the same command. */
export const differenceSignature = (step: Step, d: ObservationDifference): string => `${d.kind} at ${stepName(step)}`;

export interface FoundDifference {
  signature: string;
  kind: DifferenceKind;
  /** The minimal sequence; its last step differs. */
  steps: Step[];
  reference: Observation[];
  target: Observation[];
  difference: ObservationDifference;
  /** Length of the sequence where it was first seen, before shrinking. */
  originalLength: number;
  /** fast-check's seed and path of the failing run (reproduces it with the same options). */
  seed: number;
  path?: string;
  /** Times it was seen again after it was first reported. */
  seenAgain: number;
}

export interface ExploreOptions extends LockstepOptions {
  reference: Side;
  target: Side;
  runs: number;
  seed: number;
  maxCommands: number;
  generation: GenerationOptions;
  /** Stop after this many distinct differences (default 5). */
  maxDifferences?: number;
  onProgress?: (p: ExploreProgress) => void;
}

export interface ExploreProgress {
  sequences: number;
  commands: number;
  differences: number;
  phase: 'exploring' | 'shrinking';
}

export interface ExploreReport {
  seed: number;
  runs: number;
  maxCommands: number;
  sequences: number;
  commands: number;
  shrinkRuns: number;
  differences: FoundDifference[];
  differencesByKind: Partial<Record<DifferenceKind, number>>;
  /** Known findings filtered, by id: how many sequences each ended. */
  knownFiltered: Record<string, { title: string; count: number }>;
  /** Irreversible steps not sent (none may run on this target). */
  skippedSteps: number;
  durationMs: number;
}

class DifferenceFound extends Error {
  constructor(readonly step: Step, readonly outcome: StepOutcome) {
    super(`${describeStep(step)}: ${outcome.difference!.kind} differs (reference ${outcome.difference!.reference}, target ${outcome.difference!.target})`);
  }
}

interface SequenceModel {
  state: { stopped: boolean };
}

class LockstepCommand implements fc.AsyncCommand<SequenceModel, Lockstep> {
  constructor(readonly step: Step, private readonly engine: Engine) {}
  check(m: Readonly<SequenceModel>): boolean {
    return !m.state.stopped;
  }
  async run(m: SequenceModel, ls: Lockstep): Promise<void> {
    const outcome = await this.engine.guard(() => ls.step(this.step));
    this.engine.countStep(outcome);
    if (!outcome.difference) return;
    if (outcome.known) {
      this.engine.countKnown(outcome.known);
      m.state.stopped = true;
      return;
    }
    const sig = differenceSignature(this.step, outcome.difference);
    if (this.engine.reported.has(sig)) {
      this.engine.seenAgain(sig);
      m.state.stopped = true;
      return;
    }
    this.engine.shrinking = true;
    throw new DifferenceFound(this.step, outcome);
  }
  toString(): string {
    return describeStep(this.step);
  }
}

/** The steps a counterexample ran (fast-check iterates its commands wrapped, with a `hasRan` flag). */
function ranSteps(cmds: Iterable<unknown>): Step[] {
  const out: Step[] = [];
  for (const c of cmds) {
    const w = c as { cmd?: LockstepCommand; hasRan?: boolean };
    if (w.cmd instanceof LockstepCommand) {
      if (w.hasRan !== false) out.push(w.cmd.step);
    } else if (c instanceof LockstepCommand) out.push(c.step);
  }
  return out;
}

class Engine {
  readonly reported = new Map<string, FoundDifference>();
  shrinking = false;
  fatal?: unknown;
  readonly report: ExploreReport;
  readonly lockstep: Lockstep;

  constructor(private readonly o: ExploreOptions) {
    this.lockstep = new Lockstep(o.reference, o.target, o);
    this.report = {
      seed: o.seed, runs: o.runs, maxCommands: o.maxCommands, sequences: 0, commands: 0, shrinkRuns: 0,
      differences: [], differencesByKind: {}, knownFiltered: {}, skippedSteps: 0, durationMs: 0,
    };
  }

  /** A link failure ends the exploration: remembered, and every later run fails at once. */
  async guard<T>(run: () => Promise<T>): Promise<T> {
    if (this.fatal) throw this.fatal;
    try {
      return await run();
    } catch (e) {
      if (isFatal(e)) this.fatal = e;
      throw e;
    }
  }

  countStep(o: StepOutcome): void {
    if (this.shrinking) return;
    this.report.commands++;
    if (o.reference.skipped) this.report.skippedSteps++;
  }
  countKnown(k: KnownMatch): void {
    if (this.shrinking) return;
    const entry = (this.report.knownFiltered[k.id] ??= { title: k.title, count: 0 });
    entry.count++;
  }
  seenAgain(sig: string): void {
    if (!this.shrinking) this.reported.get(sig)!.seenAgain++;
  }

  private progress(): void {
    this.o.onProgress?.({ sequences: this.report.sequences, commands: this.report.commands, differences: this.report.differences.length, phase: this.shrinking ? 'shrinking' : 'exploring' });
  }

  private async setup(): Promise<{ model: SequenceModel; real: Lockstep }> {
    await this.guard(() => this.lockstep.fresh());
    if (this.shrinking) this.report.shrinkRuns++;
    else this.report.sequences++;
    this.progress();
    return { model: { state: { stopped: false } }, real: this.lockstep };
  }

  async run(): Promise<ExploreReport> {
    const started = performance.now();
    const arb = stepArbitrary(this.o.generation).map((s) => new LockstepCommand(s, this));
    const maxDifferences = this.o.maxDifferences ?? 5;
    let done = 0;
    for (let round = 0; done < this.o.runs && this.reported.size < maxDifferences; round++) {
      this.shrinking = false;
      const seed = (this.o.seed + round * 7919) | 0;
      const property = fc.asyncProperty(fc.commands([arb], { maxCommands: this.o.maxCommands, size: 'max' }), async (cmds) => {
        await fc.asyncModelRun(() => this.setup(), cmds);
      });
      const details = await fc.check(property, { seed, numRuns: this.o.runs - done });
      if (this.fatal) throw new TargetError(`exploration stopped: a side's link failed: ${(this.fatal as Error).message}`, 'TH_TARGET_LOST', { cause: this.fatal });
      done += details.numRuns;
      if (!details.failed) break;
      if (!(details.errorInstance instanceof DifferenceFound)) {
        throw new TargetError(`exploration failed outside a comparison: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`, 'TH_EXPLORE', { cause: details.errorInstance });
      }
      const shrunk = ranSteps(details.counterexample?.[0] ?? []);
      const found = await this.minimize(shrunk, details.errorInstance);
      found.seed = seed;
      found.path = details.counterexamplePath ?? undefined;
      this.reported.set(found.signature, found);
      this.report.differences.push(found);
      this.report.differencesByKind[found.kind] = (this.report.differencesByKind[found.kind] ?? 0) + 1;
      this.progress();
    }
    this.report.durationMs = performance.now() - started;
    return this.report;
  }

  /** Cut the shrunk sequence at its difference and drop every single step it does not need. */
  private async minimize(shrunk: Step[], first: DifferenceFound): Promise<FoundDifference> {
    const signature = differenceSignature(first.step, first.outcome.difference!);
    const reproduces = async (steps: Step[]): Promise<SequenceResult | undefined> => {
      this.report.shrinkRuns++;
      const r = await this.guard(() => this.lockstep.runSequence(steps));
      return r.failing !== undefined && !r.known && differenceSignature(steps[r.failing], r.difference!) === signature ? r : undefined;
    };
    let steps = shrunk;
    let result = await reproduces(steps);
    if (!result) {
      // The shrunk sequence must reproduce; if it does not (a flaky side), keep the original failing step alone.
      steps = [first.step];
      result = (await reproduces(steps)) ?? { reference: [first.outcome.reference], target: [first.outcome.target], failing: 0, difference: first.outcome.difference };
    }
    steps = steps.slice(0, result.failing! + 1);
    for (let i = steps.length - 2; i >= 0; i--) {
      const candidate = [...steps.slice(0, i), ...steps.slice(i + 1)];
      const r = await reproduces(candidate);
      if (r) {
        steps = candidate.slice(0, r.failing! + 1);
        result = r;
        i = Math.min(i, steps.length - 1);
      }
    }
    const final = (await reproduces(steps)) ?? result;
    return {
      signature, kind: final.difference!.kind, steps, reference: final.reference, target: final.target, difference: final.difference!,
      originalLength: shrunk.length, seed: 0, seenAgain: 0,
    };
  }
}

/** Explore: `runs` sequences of up to `maxCommands` steps from `seed`, reference against target. */
export function explore(o: ExploreOptions): Promise<ExploreReport> {
  return new Engine(o).run();
}
