/**
 * `tropic-harness framelog …`: decode, replay, find, serve, codegen, minimize (import is
 * registered by import-commands.ts). Exit codes: 0 match / success, 1 replay diverged or condition
 * not met, 2 usage or input error (bad option, unreadable or corrupt log), 3 target error (cannot
 * reach it, it stopped answering).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { intArg } from './args.js';
import { CliError, FrameLogError, HarnessError, TargetError, TimeoutError, TransportError } from '../errors.js';
import { parseFrameLog, type FrameLogHeader, type ParsedFrameLog } from '../framelog/frame-log.js';
import { decodeFrameLog, decodeLines } from '../framelog/decode.js';
import { renderHtml } from '../framelog/html.js';
import { formatDivergence, replayFrameLog, semanticReplay } from '../framelog/replay.js';
import { openReplayTarget } from '../framelog/replay-target.js';
import { findFrameLogs } from '../framelog/find.js';
import { FrameLogServer } from '../framelog/serve.js';
import { generateSpec, generateSpecFromLog } from '../framelog/codegen.js';
import { minimize } from '../framelog/minimize.js';
import { operationsFromAnnotations, type Operation } from '../framelog/operations.js';
import { describeRun, parseCondition, runOnFreshTarget } from '../framelog/reproduce.js';
import { seededRandom } from '../framelog/seeds.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { PACKAGE_ROOT, WORKSPACE_ROOT } from '../paths.js';
import { registerImportCommands } from './import-commands.js';

export const EXIT = { MATCH: 0, DIVERGED: 1, INPUT: 2, TARGET: 3 } as const;

function readLog(file: string, lenient = false): ParsedFrameLog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FrameLogError(`cannot read frame log ${file}: ${(e as Error).message}`, 'TH_FRAMELOG');
  }
  const log = parseFrameLog(text, { file, lenient });
  if (log.truncatedLine) process.stderr.write(`${file}: line ${log.truncatedLine} is cut short (the writer was stopped); read up to it\n`);
  if (log.skipped) process.stderr.write(`${file}: ${log.skipped} corrupt line(s) skipped (--lenient)\n`);
  return log;
}

/** Runs a command body; maps errors to the documented exit codes. */
function guarded<A extends unknown[]>(body: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (e) {
      const target = e instanceof TargetError || e instanceof TransportError || e instanceof TimeoutError;
      process.stderr.write(`tropic-harness framelog: ${(e as Error).message}\n`);
      process.exitCode = target ? EXIT.TARGET : e instanceof HarnessError ? EXIT.INPUT : EXIT.INPUT;
    }
  };
}

const seedsOf = (log: ParsedFrameLog) => (log.meta as FrameLogHeader).seeds ?? {};

function pairingKeyOption(v: string | undefined): Uint8Array {
  return loadPairingKey({ TROPIC_PAIRING_KEY: v ?? process.env.TROPIC_PAIRING_KEY });
}

function operationsOf(log: ParsedFrameLog, file: string): Operation[] {
  const ops = operationsFromAnnotations(log.annotations);
  if (!ops.length) {
    throw new FrameLogError(`${file} has no driver annotations (a v1 or imported log): its L3 commands cannot be re-executed; use replay --exact`, 'TH_FRAMELOG');
  }
  return ops;
}

const progress = (what: string) => (done: number, total: number) => process.stderr.write(`\r${what} ${done}/${total}${done === total ? '\n' : ''}`);

export function registerFrameLogCommands(program: Command): void {
  const fl = program.command('framelog').description('frame logs recorded by the fixtures (frame-log.jsonl attachments); docs/frame-log.md');
  // Usage errors (unknown option, missing argument) exit 2 like other input errors.
  fl.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.INPUT));
  // import: pcap/pcapng captures and libtropic LT_PRINT_SPI_DATA console logs (harness/framelog/import).
  registerImportCommands(fl);

  fl.command('decode <file>')
    .description('print one line per L2 request/response (with L3 commands and driver steps); --l1 every tagged message')
    .option('--l1', 'also every tagged message (CSN_LOW, SPI_SEND, CSN_HIGH, ...)')
    .option('--html <out>', 'write a self-contained HTML page instead of text')
    .option('--lenient', 'skip corrupt lines (counted) instead of failing')
    .action(guarded((file: string, o: { l1?: boolean; html?: string; lenient?: boolean }) => {
      const log = readLog(file, o.lenient);
      const opts = { l1: o.l1, annotations: log.annotations };
      if (o.html) {
        writeFileSync(o.html, renderHtml(decodeLines(log.entries, opts), log.meta, path.basename(file)));
        process.stderr.write(`wrote ${o.html}\n`);
      } else process.stdout.write(decodeFrameLog(log.entries, opts));
    }));

  fl.command('replay <file>')
    .description('reset a target and replay a frame log: --exact (byte for byte, default) or --semantic (the recorded operations through the driver)')
    .requiredOption('--target <embedded|host:port>', 'embedded (a fresh in-process model, seeded from the log) or host:port (RESET_TARGET first where supported)')
    .option('--exact', 'compare every reply byte for byte (default)')
    .option('--semantic', 're-run the recorded L2/L3 operations with a new session; compare statuses, result codes and lengths')
    .option('--io-timeout <ms>', 'reply timeout; the replay ends at the first one', intArg('--io-timeout', 1, 600_000), 5000)
    .option('--lenient', 'skip corrupt lines (counted) instead of failing')
    .option('--model-config <yaml>', 'model configuration for --target embedded')
    .option('--pairing-key <pem|hex>', 'pairing private key for --semantic (default TROPIC_PAIRING_KEY or the model test key)')
    .option('--slot <n>', 'pairing slot for --semantic sessions', intArg('--slot', 0, 3), 0)
    .option('--all', 'with --exact: go on after the first divergence and list them all')
    .action(guarded(async (file: string, o: { target: string; exact?: boolean; semantic?: boolean; ioTimeout: number; lenient?: boolean; modelConfig?: string; pairingKey?: string; slot: number; all?: boolean }) => {
      if (o.exact && o.semantic) throw new CliError('choose --exact or --semantic, not both', 'TH_CLI');
      const log = readLog(file, o.lenient);
      const key = o.semantic ? pairingKeyOption(o.pairingKey) : undefined;
      const ops = o.semantic ? operationsOf(log, file) : [];
      const target = await openReplayTarget(o.target, { modelSeed: seedsOf(log).model, modelConfig: o.modelConfig, ioTimeoutMs: o.ioTimeout });
      process.stderr.write(`target: ${target.reset}\n`);
      try {
        if (o.semantic) {
          const hostSeed = seedsOf(log).host;
          const r = await semanticReplay(ops, target.transport, { pairingKey: key!, slot: o.slot, random: hostSeed ? seededRandom(hostSeed) : undefined, onProgress: progress('operations') });
          process.stdout.write(`operations ${r.operations}, matched ${r.matched}, diverged ${r.diverged.length}\n`);
          for (const d of r.diverged.slice(0, 20)) process.stdout.write(`  op ${d.index + 1} ${d.op}: got ${d.actual.result}${d.actual.length !== undefined ? ` (${d.actual.length} B)` : ''}\n`);
          process.exitCode = r.diverged.length ? EXIT.DIVERGED : EXIT.MATCH;
          return;
        }
        const r = await replayFrameLog(log.entries, target.transport, { onProgress: progress('replayed'), stopAtFirst: !o.all });
        const pct = log.entries.length ? ((100 * r.matched) / log.entries.length).toFixed(1) : '100.0';
        process.stdout.write(`sent ${r.sent} of ${log.entries.length}, matched ${r.matched} (${pct}%), diverged ${r.diverged.length}, errors ${r.errors.length}\n`);
        if (r.diverged.length) process.stdout.write(`first divergence: ${formatDivergence(r.diverged[0])}\n`);
        for (const d of r.diverged.slice(1, 20)) process.stdout.write(`  ${formatDivergence(d)}\n`);
        for (const e of r.errors.slice(0, 20)) process.stdout.write(`  #${e.seq}: ${e.error}\n`);
        if (log.truncatedLine) process.stdout.write(`note: the log's last line (${log.truncatedLine}) was cut short and not replayed\n`);
        if (r.targetError) {
          process.stdout.write(`target stopped answering at #${r.targetError.seq}: ${r.targetError.error}\n`);
          process.exitCode = EXIT.TARGET;
        } else process.exitCode = r.diverged.length || r.errors.length ? EXIT.DIVERGED : EXIT.MATCH;
      } finally {
        await target.close();
      }
    }));

  fl.command('find <title-regex>')
    .description('copy the frame logs of tests whose title matches out of an Allure results folder, under readable names')
    .option('--results <dir>', 'Allure results folder', process.env.TROPIC_ALLURE_RESULTS ?? path.join(WORKSPACE_ROOT, 'reports', 'allure-results'))
    .option('--out <dir>', 'where the copies go', 'frame-logs')
    .action(guarded((pattern: string, o: { results: string; out: string }) => {
      const found = findFrameLogs(pattern, o.results, o.out);
      for (const f of found) process.stdout.write(`${f.file}\t${f.status}\t${f.test}\n`);
      if (!found.length) {
        process.stderr.write(`no frame log of a test matching /${pattern}/ in ${o.results}\n`);
        process.exitCode = EXIT.DIVERGED;
      }
    }));

  fl.command('serve <file>')
    .description("a mock chip on the tagged TCP protocol answering from the log's chip side; reports where the host departs from the recorded host side")
    .option('-p, --port <n>', 'port (0: any free port)', intArg('--port', 0, 65535), 28992)
    .option('-a, --address <host>', 'listen address', '127.0.0.1')
    .action(guarded(async (file: string, o: { port: number; address: string }) => {
      const log = readLog(file);
      const server = await new FrameLogServer(log.entries, (d) => process.stderr.write(`departure at #${d.seq}${d.step ? ` [step ${d.step}]` : ''}: expected ${d.expected}, got ${d.got}\n`)).start(o.port, o.address);
      process.stdout.write(`serving ${log.entries.length} recorded replies on ${o.address}:${server.port}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      process.stdout.write(`answered ${server.answered} of ${log.entries.length}, departures ${server.departures.length}, beyond the end ${server.beyondEnd}\n`);
      process.exitCode = server.departures.length ? EXIT.DIVERGED : EXIT.MATCH;
    }));

  fl.command('codegen <file>')
    .description('write a Playwright regression spec (fixtures + driver calls, recorded outcomes asserted) from a frame log')
    .option('--out <spec>', 'output file (default: stdout), e.g. specs/regressions/NAME.spec.ts')
    .option('--title <text>', 'test title (default: the recorded test, or the file name)')
    .action(guarded((file: string, o: { out?: string; title?: string }) => {
      const log = readLog(file);
      const text = generateSpecFromLog(log, { title: o.title ?? regressionTitle(log, file), sourceLog: file, root: o.out ? rootFrom(o.out) : undefined }, (l) => operationsOf(l, file));
      writeOut(o.out, text);
    }));

  fl.command('minimize <file>')
    .description('delta debugging over the recorded operations: the smallest sequence that still meets --until; writes its log and spec')
    .requiredOption('--until <condition>', '"result=NAME [on METHOD]", "diverges" (from the recording) or "differs" (with --against)')
    .option('--target <embedded|host:port>', 'where candidates run (reset before each)', 'embedded')
    .option('--against <embedded|host:port>', 'a second target: "differs" compares the two')
    .option('--model-config <yaml>', 'model configuration for --target embedded (e.g. with a faults: key); default: the project\'s')
    .option('--against-model-config <yaml>', 'model configuration for --against embedded; default: the project\'s')
    .option('--out-log <file>', 'the minimal sequence recorded as a frame log', 'minimized.frame-log.jsonl')
    .option('--out-spec <file>', 'its regression spec', '')
    .option('--pairing-key <pem|hex>', 'pairing private key (default TROPIC_PAIRING_KEY or the model test key)')
    .option('--io-timeout <ms>', 'reply timeout', intArg('--io-timeout', 1, 600_000), 5000)
    .action(guarded(async (file: string, o: { until: string; target: string; against?: string; modelConfig?: string; againstModelConfig?: string; outLog: string; outSpec: string; pairingKey?: string; ioTimeout: number }) => {
      const cond = parseCondition(o.until);
      if (cond.needsAgainst && !o.against) throw new CliError(`--until ${o.until} needs --against <target>`, 'TH_CLI');
      const log = readLog(file);
      const ops = operationsOf(log, file);
      const run = { pairingKey: pairingKeyOption(o.pairingKey), seeds: seedsOf(log), ioTimeoutMs: o.ioTimeout, modelConfig: o.modelConfig };
      const against = { ...run, modelConfig: o.againstModelConfig };
      const reproduces = async (c: Operation[]) => {
        const a = await runOnFreshTarget(c, o.target, run);
        const b = o.against ? await runOnFreshTarget(c, o.against, against) : undefined;
        return cond.holds(c, a, b);
      };
      let r: Awaited<ReturnType<typeof minimize<Operation>>>;
      try {
        r = await minimize(ops, reproduces, { onTest: (size, ok, n) => process.stderr.write(`\rtest ${n}: ${size} operations ${ok ? 'reproduce' : 'do not'}   `) });
      } catch (e) {
        if (!(e instanceof FrameLogError && e.code === 'TH_MINIMIZE')) throw e;
        process.stderr.write(`\n${e.message}\n`);
        process.exitCode = EXIT.DIVERGED; // the condition does not hold: nothing to minimize
        return;
      }
      process.stderr.write('\n');
      const outcomes = await runOnFreshTarget(r.items, o.target, { ...run, recordTo: o.outLog, header: { test: `minimized from ${file} until ${o.until}` } });
      const minimal = r.items.map((op, i) => ({ ...op, expect: outcomes[i] }) as Operation);
      process.stdout.write(`minimal: ${minimal.length} of ${ops.length} operations (${r.tests} tests) reproduce ${JSON.stringify(o.until)}:\n${describeRun(minimal, outcomes)}\n`);
      if (o.against) process.stdout.write(`the same on --against ${o.against}:\n${describeRun(r.items, await runOnFreshTarget(r.items, o.against, against))}\n`);
      process.stdout.write(`log: ${o.outLog}\n`);
      const specFile = o.outSpec || path.join('specs', 'regressions', `${path.basename(o.outLog).replace(/\.frame-log\.jsonl$|\.jsonl$/, '')}.spec.ts`);
      writeOut(specFile, generateSpec(minimal, { title: `${regressionTitle(log, file)} (minimized: ${o.until})`, sourceLog: o.outLog, root: rootFrom(specFile), note: `minimized until ${o.until}` }));
      process.stdout.write(`spec: ${specFile}\n`);
    }));
}

function regressionTitle(log: ParsedFrameLog, file: string): string {
  const test = (log.meta as FrameLogHeader).test;
  return `regression: ${typeof test === 'string' && test ? test : path.basename(file)}`;
}

/** The harness's root (where fixtures/ is) as an import path from the spec's folder. */
function rootFrom(specFile: string): string {
  const rel = path.relative(path.dirname(path.resolve(specFile)), PACKAGE_ROOT).split(path.sep).join('/');
  return rel === '' ? '.' : rel.startsWith('.') ? rel : `./${rel}`;
}

function writeOut(out: string | undefined, text: string): void {
  if (!out) {
    process.stdout.write(text);
    return;
  }
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, text);
  process.stderr.write(`wrote ${out}\n`);
}
