/**
 * `tropic-harness explore`: differential exploration of a target against a reference (docs/explore.md).
 * Exit codes: 0 no new difference, 1 new differences found (files written), 2 usage error (bad option
 * or configuration), 3 target error (a side cannot be reached, stopped answering, or cannot be
 * restored).
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { intArg } from './args.js';
import { ConfigError, HarnessError } from '../errors.js';
import { resolveConfig } from '../config/env.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { WORKSPACE_ROOT } from '../paths.js';
import { explore } from '../explore/engine.js';
import { openSide, parseImplementation, type Side } from '../explore/sides.js';
import { DEFAULT_ECC_SLOTS, DEFAULT_USER_DATA_SLOTS } from '../explore/steps.js';
import { describeDifference, writeDifference } from '../explore/artifacts.js';
import { summaryTable } from '../explore/summary.js';
import { knownTriggers } from '../explore/known.js';

export const EXPLORE_EXIT = { CLEAN: 0, DIFFERENCES: 1, USAGE: 2, TARGET: 3 } as const;

interface ExploreCliOptions {
  target: string;
  reference: string;
  runs: number;
  seed?: number;
  maxCommands: number;
  maxDifferences: number;
  out: string;
  specDir?: string;
  targetConfig?: string;
  referenceConfig?: string;
  targetImpl?: string;
  referenceImpl?: string;
  targetReset?: 'reset-target' | 'restore';
  compareContent?: boolean;
  corruption: boolean;
  avoidKnown?: boolean;
  progress: boolean;
}

const SIDE_FORM = /^(embedded|(tcp:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):\d{1,5})$/;
const sideArg = (name: string) => (v: string): string => {
  if (!SIDE_FORM.test(v)) throw new InvalidArgumentError(`${name} ${JSON.stringify(v)}: expected embedded or host:port`);
  return v;
};

export function registerExploreCommand(program: Command): void {
  const cmd = program
    .command('explore')
    .description('differential exploration: random command sequences on a target and a reference, differences shrunk to a minimal frame log and regression spec')
    .requiredOption('--target <embedded|host:port>', 'the target under test', sideArg('--target'))
    .option('--reference <embedded|host:port>', 'the reference (the oracle)', sideArg('--reference'), 'embedded')
    .option('--runs <n>', 'command sequences to explore', intArg('--runs', 1, 10_000_000), 100)
    .option('--seed <s>', 'fast-check seed (random when unset; printed)', intArg('--seed', -2147483648, 2147483647))
    .option('--max-commands <m>', 'most commands in a sequence', intArg('--max-commands', 1, 1000), 30)
    .option('--max-differences <n>', 'stop after this many distinct differences', intArg('--max-differences', 1, 1000), 5)
    .option('--out <dir>', 'where frame logs, decoded traces and specs of differences go', 'reports/explore')
    .option('--spec-dir <dir>', 'where the regression specs go (default: --out)')
    .option('--target-config <yaml>', 'embedded target: model configuration (e.g. with a faults: key)')
    .option('--reference-config <yaml>', 'embedded reference: model configuration')
    .option('--target-impl <name[@version]>', 'host:port target: what answers there, for known findings (ts-tvl@2.2, tropic01, tropic-harness-model)')
    .option('--reference-impl <name[@version]>', 'host:port reference: what answers there')
    .addOption(new Option('--target-reset <mode>', 'host:port target: how each sequence starts fresh (default: reset-target for ts-tvl and this model, restore otherwise)').choices(['reset-target', 'restore']))
    .option('--compare-content', 'also compare configuration-dependent data (default: only when both sides are embedded with the same configuration)')
    .option('--no-compare-content', 'compare statuses, results and lengths only')
    .option('--no-corruption', 'no corrupted CRCs, lengths, nonces or tags')
    .option('--avoid-known', 'do not generate steps that always meet a known finding of a side (sequences go deeper instead of ending there)')
    .option('--no-progress', 'no progress bar on stderr')
    .addHelpText('after', `\nExit codes: ${EXPLORE_EXIT.CLEAN} no new difference; ${EXPLORE_EXIT.DIFFERENCES} new differences (see --out); ${EXPLORE_EXIT.USAGE} usage or configuration error; ${EXPLORE_EXIT.TARGET} target error.\nIrreversible commands run on model targets, and on a restore target only with TROPIC_ALLOW_IRREVERSIBLE=1.`)
    .action(async (o: ExploreCliOptions) => {
      process.exitCode = await runExplore(o);
    });
  // Usage errors exit 2 (commander's default is 1, which here means "differences found").
  cmd.exitOverride((e) => {
    if (e.exitCode === 0) process.exit(0);
    process.exit(EXPLORE_EXIT.USAGE);
  });
}

async function runExplore(o: ExploreCliOptions): Promise<number> {
  let cfg;
  let pairingKey: Uint8Array;
  try {
    cfg = resolveConfig();
    pairingKey = loadPairingKey(cfg);
    if (o.targetConfig && o.target !== 'embedded') throw new ConfigError('--target-config applies to --target embedded only');
    if (o.referenceConfig && o.reference !== 'embedded') throw new ConfigError('--reference-config applies to --reference embedded only');
  } catch (e) {
    process.stderr.write(`tropic-harness explore: ${(e as Error).message}\n`);
    return EXPLORE_EXIT.USAGE;
  }
  const seed = o.seed ?? randomInt(0, 2 ** 31 - 1);
  const poll = { pollDelayMs: cfg.TROPIC_POLL_DELAY_MS, responseTimeoutMs: cfg.TROPIC_RESPONSE_TIMEOUT_MS };
  const restorePlan = { eccSlots: DEFAULT_ECC_SLOTS, userDataSlots: DEFAULT_USER_DATA_SLOTS };
  const sides: Side[] = [];
  try {
    const common = { pairingKey, pairingSlot: cfg.TROPIC_PAIRING_SLOT, poll, restorePlan };
    const reference = await openSide({ ...common, role: 'reference', spec: o.reference, modelConfig: o.referenceConfig, implementation: o.referenceImpl ? parseImplementation(o.referenceImpl, '--reference-impl') : undefined });
    sides.push(reference);
    const target = await openSide({ ...common, role: 'target', spec: o.target, modelConfig: o.targetConfig, implementation: o.targetImpl ? parseImplementation(o.targetImpl, '--target-impl') : undefined, reset: o.targetReset });
    sides.push(target);
    const restoring = [reference, target].some((s) => s.resetMode === 'restore');
    const irreversibleAllowed = !restoring || cfg.TROPIC_ALLOW_IRREVERSIBLE;
    const compareContent = o.compareContent ?? (o.reference === 'embedded' && o.target === 'embedded' && (o.referenceConfig ?? '') === (o.targetConfig ?? ''));
    const avoided = o.avoidKnown ? knownTriggers([reference.implementation, target.implementation]) : undefined;
    if (avoided) process.stderr.write(`not generating steps that always meet: ${avoided.ids.join(', ') || '(no known finding holds for these sides)'}\n`);
    const eccSlots = [reference, target].reduce<number[]>((slots, s) => (s.explorableEccSlots ? slots.filter((x) => s.explorableEccSlots!.includes(x)) : slots), DEFAULT_ECC_SLOTS);

    const bar = o.progress ? new cliProgress.SingleBar({ stream: process.stderr, format: 'explore [{bar}] {value}/{total} sequences | {commands} commands | {differences} differences | {phase}', hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(o.runs, 0, { commands: 0, differences: 0, phase: 'exploring' });
    let report;
    try {
      report = await explore({
        reference, target, pairingKey, compareContent, irreversibleAllowed,
        runs: o.runs, seed, maxCommands: o.maxCommands, maxDifferences: o.maxDifferences,
        generation: { irreversible: irreversibleAllowed, eccSlots, corruptionWeight: o.corruption ? 1 : 0, exclude: avoided?.triggers },
        onProgress: (p) => bar?.update(p.sequences, { commands: p.commands, differences: p.differences, phase: p.phase }),
      });
    } finally {
      bar?.stop();
    }

    const out = path.resolve(WORKSPACE_ROOT, o.out);
    for (const [i, d] of report.differences.entries()) {
      const files = await writeDifference(d, target, {
        dir: out, name: `difference-${seed}-${i + 1}`, specDir: o.specDir ? path.resolve(WORKSPACE_ROOT, o.specDir) : undefined,
        meta: { reference: reference.label, target: target.label, seed, compareContent },
        pairingKey, pairingSlot: cfg.TROPIC_PAIRING_SLOT, irreversibleAllowed,
      });
      process.stdout.write(`\n${describeDifference(d)}\n  frame log: ${files.frameLog}\n  decoded:   ${files.decoded}\n  spec:      ${files.spec}\n`);
    }
    process.stdout.write(`\n${summaryTable(report, { reference, target })}`);
    if (o.seed === undefined) process.stdout.write(`reproduce with --seed ${seed}\n`);
    return report.differences.length ? EXPLORE_EXIT.DIFFERENCES : EXPLORE_EXIT.CLEAN;
  } catch (e) {
    process.stderr.write(`tropic-harness explore: ${(e as Error).message}\n`);
    return e instanceof HarnessError && (e.code === 'TH_CONFIG' || e.code === 'TH_CLI' || e.code === 'TH_TARGET_URL') ? EXPLORE_EXIT.USAGE : EXPLORE_EXIT.TARGET;
  } finally {
    for (const s of sides) await s.close().catch((e: Error) => process.stderr.write(`tropic-harness explore: closing ${s.label}: ${e.message}\n`));
  }
}
