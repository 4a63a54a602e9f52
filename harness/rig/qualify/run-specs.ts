/**
 * One spec run against one rig: `npx playwright test --project=specs` with TROPIC_TARGET=rig,
 * its own Allure results, JUnit and Playwright report under the chip's folder, its console output
 * in a log file. The qualification holds the rig's lease, so the run must not lease again
 * (TROPIC_RIGS is removed) and uses one worker (one chip).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WORKSPACE_ROOT } from '../../paths.js';

export interface SpecRunOptions {
  rigUrl: string;
  rigName: string;
  /** Folder of this run's output (allure-results/, junit.xml, playwright-report/, test-results/, log). */
  dir: string;
  allowIrreversible: boolean;
  /** Regular expression (Playwright --grep) and its inverse. */
  grep?: string;
  grepInvert?: string;
  /** Keep results already in the folder (a second run of the same chip). */
  keepResults?: boolean;
  logName: string;
  env?: NodeJS.ProcessEnv;
}

export interface SpecOutcome {
  title: string;
  status: string;
  tags: string[];
  message?: string;
}

export interface SpecRunSummary {
  exitCode: number;
  log: string;
  passed: number;
  failed: number;
  skipped: number;
  failures: SpecOutcome[];
}

export function specRunEnv(o: SpecRunOptions, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...o.env,
    TROPIC_TARGET: 'rig',
    TROPIC_RIG: o.rigUrl,
    TROPIC_RIG_NAME: o.rigName,
    TROPIC_ALLOW_IRREVERSIBLE: o.allowIrreversible ? '1' : '0',
    TROPIC_ALLURE_RESULTS: path.join(o.dir, 'allure-results'),
    TROPIC_KEEP_RESULTS: o.keepResults ? '1' : '0',
    TROPIC_QUIET_PROJECTS: '1',
  };
  delete env.TROPIC_RIGS;
  delete env.TROPIC_BLOB;
  return env;
}

export async function runSpecs(o: SpecRunOptions): Promise<{ exitCode: number; log: string }> {
  mkdirSync(o.dir, { recursive: true });
  const args = ['playwright', 'test', '--project=specs', '--workers=1', `--output=${path.join(o.dir, 'test-results')}`];
  if (o.grep) args.push('--grep', o.grep);
  if (o.grepInvert) args.push('--grep-invert', o.grepInvert);
  const log = path.join(o.dir, o.logName);
  const out = createWriteStream(log);
  out.write(`$ npx ${args.join(' ')}\n# TROPIC_TARGET=rig TROPIC_RIG=${o.rigUrl} TROPIC_ALLOW_IRREVERSIBLE=${o.allowIrreversible ? 1 : 0}\n`);
  const child = spawn('npx', args, { cwd: WORKSPACE_ROOT, env: specRunEnv(o), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  await new Promise<void>((resolve) => out.end(resolve));
  return { exitCode, log };
}

interface AllureResult {
  name?: string;
  fullName?: string;
  status?: string;
  labels?: { name: string; value: string }[];
  statusDetails?: { message?: string };
}

/** Spec outcomes in an Allure results folder (the setup/teardown tests of the lifecycle projects left out). */
export function specOutcomes(resultsDir: string): SpecOutcome[] {
  let files: string[];
  try {
    files = readdirSync(resultsDir).filter((f) => f.endsWith('-result.json'));
  } catch {
    return [];
  }
  const out: SpecOutcome[] = [];
  for (const f of files) {
    let r: AllureResult;
    try {
      r = JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as AllureResult;
    } catch {
      continue;
    }
    if (!r.fullName?.startsWith('specs/')) continue;
    out.push({
      title: r.fullName ?? r.name ?? f,
      status: r.status ?? 'unknown',
      tags: (r.labels ?? []).filter((l) => l.name === 'tag').map((l) => l.value),
      message: r.statusDetails?.message?.split('\n')[0],
    });
  }
  return out.sort((a, b) => a.title.localeCompare(b.title));
}

export function summarizeOutcomes(outcomes: SpecOutcome[], exitCode: number, log: string): SpecRunSummary {
  const failures = outcomes.filter((o) => o.status === 'failed' || o.status === 'broken');
  return {
    exitCode,
    log,
    passed: outcomes.filter((o) => o.status === 'passed').length,
    failed: failures.length,
    skipped: outcomes.filter((o) => o.status === 'skipped').length,
    failures,
  };
}

/** Titles of the specs a run would select (`--list`), e.g. the irreversible specs a qualification refuses. */
export async function listSpecs(o: Pick<SpecRunOptions, 'grep' | 'grepInvert' | 'rigUrl' | 'rigName' | 'dir'>): Promise<string[]> {
  const args = ['playwright', 'test', '--project=specs', '--list'];
  if (o.grep) args.push('--grep', o.grep);
  if (o.grepInvert) args.push('--grep-invert', o.grepInvert);
  const child = spawn('npx', args, { cwd: WORKSPACE_ROOT, env: specRunEnv({ ...o, allowIrreversible: false, logName: '' }), stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  // Lines read "  [specs] › specs/file.spec.ts:12:3 › describe › title @tag"; setup and teardown projects are left out.
  return stdout
    .split('\n')
    .map((l) => /^\s*\[specs\] › (.+)$/.exec(l)?.[1])
    .filter((t): t is string => !!t)
    .map((t) => t.replace(/:\d+:\d+ › /, ' › '))
    .sort();
}
