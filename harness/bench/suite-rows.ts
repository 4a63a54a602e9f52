/**
 * Whole-suite rows: the spec suite's wall time on the embedded model with 1 and 2 workers (Allure
 * results included, as `npm run suite` runs it) beside its floor (as many empty tests), the peak
 * resident memory of each worker process, and the per-test cost of the fixtures (target identity,
 * transport, frame log, attachments, Allure steps) measured apart from the specs' own work: N
 * trivial tests that take a `session` against N that take no fixture, the difference divided by N.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, dependencyFile } from '../paths.js';
import type { BenchRow } from './measure.js';

interface RunResult {
  wallMs: number;
  code: number | null;
  /** Peak VmHWM (kB) of every descendant process seen, by pid. */
  peaks: Map<number, { kb: number; cmd: string }>;
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(root);
  return out;
}

/** Run a command, sampling its descendants' peak memory every 100 ms. */
function runSampled(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(args[0]!, args.slice(1), { cwd: PROJECT_ROOT, env, stdio: 'ignore' });
    const peaks = new Map<number, { kb: number; cmd: string }>();
    const sample = setInterval(() => {
      for (const pid of descendants(child.pid!)) {
        try {
          const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
          if (kb > (peaks.get(pid)?.kb ?? 0)) peaks.set(pid, { kb, cmd });
        } catch {
          /* exited */
        }
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(sample);
      resolve({ wallMs: performance.now() - t0, code, peaks });
    });
  });
}

const playwright = dependencyFile('@playwright/test', 'cli.js');
const OVERHEAD_CONFIG = path.join(PROJECT_ROOT, 'harness', 'bench', 'overhead', 'overhead.config.ts');

/**
 * What the suite's size costs before any spec does anything: as many empty tests as the suite ran
 * (the fixtures module loaded, no fixture used), spread over the same workers test by test, with
 * Playwright's lightest reporter. Playwright's own work per test (dispatch, per-test output folder,
 * results to the runner) is in it; the specs' commands, the fixtures and the reports are not.
 */
export const SUITE_FLOOR = 'spec suite floor (empty tests)';

/** The tests a run reported to Allure (one result file each). */
function countResults(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('-result.json')).length;
  } catch {
    return 0;
  }
}

/** The floor's wall time (ms), or why it was not measured. */
async function floorWallMs(tests: number, workers: number, tmp: string): Promise<number | string> {
  if (tests === 0) return 'not measured: the suite run left no Allure results to count its tests by';
  const env = { ...process.env, TROPIC_BENCH_TESTS: String(tests), TROPIC_QUIET_PROJECTS: '1', CI: '' };
  const r = await runSampled([process.execPath, playwright, 'test', '-c', OVERHEAD_CONFIG, '--grep', 'bare', `--workers=${workers}`, '--fully-parallel', '--reporter=dot', '--output', path.join(tmp, `floor${workers}`)], env);
  return r.code === 0 ? r.wallMs : `not measured: the run of ${tests} empty tests exited ${r.code}`;
}

export async function suiteRows(progress: (line: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tropic-bench-'));
  try {
    for (const workers of [1, 2]) {
      progress(`spec suite, ${workers} worker(s)`);
      const results = path.join(tmp, `w${workers}`, 'allure-results');
      const env = { ...process.env, TROPIC_TARGET: 'embedded', TROPIC_ALLURE_RESULTS: results, TROPIC_QUIET_PROJECTS: '1', CI: '' };
      const r = await runSampled([process.execPath, playwright, 'test', '--project=specs', `--workers=${workers}`, '--output', path.join(tmp, `out${workers}`)], env);
      const tests = countResults(results);
      progress(`spec suite floor: ${tests} empty tests, ${workers} worker(s)`);
      const floor = await floorWallMs(tests, workers, tmp);
      const ran = r.code === 0 ? 'all passed' : `exit ${r.code}: the figure is not a clean run`;
      const note = typeof floor === 'number' ? `${ran}; ${tests} tests, ${((r.wallMs - floor) / 1000).toFixed(1)} s above their floor` : ran;
      const wk = `${workers} worker${workers > 1 ? 's' : ''}`;
      rows.push({ measure: 'spec suite wall time', target: `embedded, ${wk}`, unit: 's', min: r.wallMs / 1000, median: r.wallMs / 1000, p99: r.wallMs / 1000, note });
      const f = typeof floor === 'number' ? floor / 1000 : NaN;
      rows.push({ measure: SUITE_FLOOR, target: wk, unit: 's', min: f, median: f, p99: f, note: typeof floor === 'number' ? `${tests} empty tests, fully parallel, dot reporter` : floor });
      const workerPeaks = [...r.peaks.values()].filter((p) => p.cmd.includes('workerMain') || p.cmd.includes('processHost') || p.cmd.includes('worker')).map((p) => p.kb / 1024);
      if (workerPeaks.length) {
        const s = [...workerPeaks].sort((a, b) => a - b);
        rows.push({ measure: 'peak RSS per worker', target: `embedded, ${workers} worker${workers > 1 ? 's' : ''}`, unit: 'MiB', min: s[0]!, median: s[Math.floor(s.length / 2)]!, p99: s[s.length - 1]! });
      }
    }
    progress('fixture overhead per test');
    const N = 200;
    const timed = async (grep: string) => {
      const env = { ...process.env, TROPIC_TARGET: 'embedded', TROPIC_ALLURE_RESULTS: path.join(tmp, `o-${grep}`, 'allure-results'), TROPIC_BENCH_TESTS: String(N), TROPIC_QUIET_PROJECTS: '1', CI: '' };
      const r = await runSampled([process.execPath, playwright, 'test', '-c', OVERHEAD_CONFIG, '--grep', grep, '--workers=1', '--output', path.join(tmp, `o-${grep}-out`)], env);
      return r.wallMs;
    };
    const bare = await timed('bare');
    const withSession = await timed('session');
    const withTropic = await timed('tropic');
    const per = (ms: number) => (ms - bare) / N;
    rows.push({ measure: 'fixture overhead per test (tropic)', target: 'embedded', unit: 'ms', min: per(withTropic), median: per(withTropic), p99: per(withTropic), note: `${N} tests against ${N} bare tests` });
    rows.push({ measure: 'fixture overhead per test (session)', target: 'embedded', unit: 'ms', min: per(withSession), median: per(withSession), p99: per(withSession), note: 'tropic + secure session' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}
