/**
 * Issue #9's "exact replay of every spec's log at 100% on the embedded model": the whole spec suite
 * runs on the embedded model in a child Playwright (its own output folder, JSON report and Allure
 * results in a temporary directory); every frame log it wrote is replayed byte for byte
 * (`framelog replay --exact`'s library calls, in process) on a fresh embedded model seeded from the
 * log's header, and must match every exchange.
 *
 * The one exclusion is a rule read from the log itself: a log with a `fault` annotation (the chaos
 * or modelFaults fixture was used: replies corrupted, dropped or stalled by a proxy, or faults
 * planted in the model) cannot replay exactly on a clean model. Every other log must.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { parseFrameLog, type FaultAnnotation, type FrameLogHeader, type ParsedFrameLog } from '../framelog/frame-log.js';
import { formatDivergence, replayFrameLog } from '../framelog/replay.js';
import { openReplayTarget } from '../framelog/replay-target.js';

type JsonSpec = { title: string; file: string; tags?: string[]; tests: { projectName?: string; results: { status: string }[] }[] };
type JsonSuite = { title?: string; file?: string; suites?: JsonSuite[]; specs?: JsonSpec[] };

interface SpecResult {
  /** As the frame log's header `test` names it: file > describe… > title. */
  titlePath: string;
  status: string;
  tags: string[];
}

/** The `specs` project's tests from a Playwright JSON report, with the title path the fixtures write into each log's header. */
function specResults(report: { suites: JsonSuite[] }): SpecResult[] {
  const out: SpecResult[] = [];
  const walk = (s: JsonSuite, parents: string[]): void => {
    const here = [...parents, s.title ?? ''];
    for (const sp of s.specs ?? []) {
      for (const t of sp.tests) {
        if (t.projectName !== 'specs') continue;
        const last = t.results[t.results.length - 1];
        out.push({ titlePath: [...here, sp.title].join(' > '), status: last?.status ?? 'not run', tags: (sp.tags ?? []).map((x) => (x.startsWith('@') ? x : `@${x}`)) });
      }
    }
    for (const c of s.suites ?? []) walk(c, here);
  };
  for (const top of report.suites) walk(top, []); // a top-level suite is a file: its title is the file's path
  return out;
}

function frameLogsUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return frameLogsUnder(p);
    return f === 'frame-log.jsonl' ? [p] : [];
  });
}

/** The run's own seed and secret recording are left to their defaults (seeds derived from each test's id). */
function withoutRunOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { TROPIC_SEED: _seed, TROPIC_RECORD_SECRETS: _secrets, ...rest } = env;
  return rest;
}

function runSpecSuite(dir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['playwright', 'test', '--project=specs', '--workers=2', '--reporter=json', `--output=${path.join(dir, 'test-results')}`], {
      cwd: PACKAGE_ROOT,
      env: {
        ...withoutRunOptions(process.env),
        CI: '',
        TROPIC_TARGET: 'embedded',
        TROPIC_QUIET_PROJECTS: '1',
        TROPIC_ALLURE_RESULTS: path.join(dir, 'allure-results'),
        PLAYWRIGHT_JSON_OUTPUT_NAME: path.join(dir, 'report.json'),
      },
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('every frame log of a whole spec run on the embedded model replays exactly at 100%, except the logs that record an injected fault', async () => {
  test.setTimeout(420_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-h9b-replay-suite-'));
  try {
    const started = performance.now();
    const run = await runSpecSuite(dir);
    const runSeconds = (performance.now() - started) / 1000;
    expect(run.code, `the spec run failed:\n${run.stderr.slice(-3000)}`).toBe(0);
    const results = specResults(JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as { suites: JsonSuite[] });
    const ran = results.filter((r) => r.status !== 'skipped');
    expect(ran.length, 'the run reported spec tests').toBeGreaterThan(0);
    expect(ran.filter((r) => r.status !== 'passed'), 'every spec test that ran passed').toEqual([]);

    // One log per spec test that ran, named by its header.
    const logs = frameLogsUnder(path.join(dir, 'test-results')).map((file) => ({ file, log: parseFrameLog(readFileSync(file, 'utf8'), { file }) }));
    const testOf = (l: ParsedFrameLog) => String((l.meta as FrameLogHeader).test);
    expect(logs.map((l) => testOf(l.log)).sort(), 'one frame log per spec test that ran, named in its header').toEqual(ran.map((r) => r.titlePath).sort());

    // The exclusion rule: the log records an injected fault.
    const faultsOf = (l: ParsedFrameLog) => l.annotations.filter((a): a is FaultAnnotation & { seq: number } => a.kind === 'fault');
    const excluded = logs.filter((l) => faultsOf(l.log).length > 0);
    const replayed = logs.filter((l) => faultsOf(l.log).length === 0);
    // The fault fixtures are used by the @faults specs: each of their logs carries the record.
    const faultTests = ran.filter((r) => r.tags.includes('@faults')).map((r) => r.titlePath).sort();
    expect(excluded.map((l) => testOf(l.log)).sort(), 'the logs with a fault record are those of the @faults specs').toEqual(faultTests);
    // Every other test talks to the chip on its recorded transport (a chaos test's traffic goes through the proxy's own link).
    expect(replayed.filter((l) => l.log.entries.length === 0).map((l) => testOf(l.log)), 'tests without a fault record whose log holds no exchange').toEqual([]);

    const replayStarted = performance.now();
    const failures: string[] = [];
    let exchanges = 0;
    for (const { file, log } of replayed) {
      const seeds = (log.meta as FrameLogHeader).seeds;
      expect(seeds?.model, `${file}: the header has the model seed`).toMatch(/^[0-9a-f]{64}$/);
      const target = await openReplayTarget('embedded', { modelSeed: seeds!.model });
      try {
        const r = await replayFrameLog(log.entries, target.transport, { stopAtFirst: true });
        exchanges += r.sent;
        const exact = r.sent === log.entries.length && r.matched === r.sent && r.diverged.length === 0 && r.errors.length === 0 && !r.targetError;
        if (!exact) failures.push(`${testOf(log)}: sent ${r.sent} of ${log.entries.length}, matched ${r.matched}; ${[...r.diverged.map(formatDivergence), ...r.errors.map((e) => `#${e.seq} error ${e.error}`), r.targetError ? `target stopped at #${r.targetError.seq}: ${r.targetError.error}` : ''].filter(Boolean).join('; ')}`);
      } finally {
        await target.close();
      }
    }
    const replaySeconds = (performance.now() - replayStarted) / 1000;

    const reasons = new Map<string, number>();
    for (const l of excluded) {
      const via = [...new Set(faultsOf(l.log).map((f) => f.via))].sort().join('+');
      const reason = via === 'chaos' ? 'chaos proxy faults (its link is not recorded)' : via === 'model' ? 'faults planted in the model' : `faults via ${via}`;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    console.log(
      [
        `spec run: ${ran.length} tests ran (${results.length - ran.length} skipped), ${runSeconds.toFixed(1)} s`,
        `frame logs: ${logs.length}; replayed exactly: ${replayed.length - failures.length} of ${replayed.length}, ${exchanges} exchanges, ${replaySeconds.toFixed(1)} s`,
        `excluded: ${excluded.length} (${[...reasons].map(([why, n]) => `${n} ${why}`).join(', ')})`,
      ].join('\n'),
    );
    expect(failures, 'logs without a fault record that did not replay exactly at 100%').toEqual([]);
    expect(exchanges).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
