/**
 * Support for the target-killed tests: a small child Playwright run in a private workspace (its
 * own .env-free folder, reports/, test-results, pid files), with planted specs and a Playwright
 * configuration of its own, the project's reporters (Allure included) plus a JSON report. After
 * the run the caller reads what a nightly reader would: the Allure results, the tests Playwright
 * started, and what is left behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';
import { parseFrameLog } from '../framelog/frame-log.js';

export interface AllureResult {
  file: string;
  name: string;
  status: string;
  stage?: string;
  message: string;
  /** Attachment names (test level and every step), with their files in the results folder. */
  attachments: { name: string; source: string }[];
}

export interface StartedTest {
  title: string;
  project: string;
  status: string;
  errors: string[];
  annotations: { type: string; description?: string }[];
}

export interface ChildRun {
  exitCode: number | null;
  output: string;
  workspace: string;
  allureDir: string;
  allure: AllureResult[];
  /** Files in the Allure results folder that are results (`*-result.json`), parsed or not. */
  allureResultFiles: string[];
  /** Tests Playwright started (one result each: no retries), setup and teardown included. */
  started: StartedTest[];
}

/** A free loopback port (the listener is closed again; the child run takes it). */

/** A private workspace with planted files; `@root` in their text is replaced by the project's folder. */
export function plantWorkspace(prefix: string, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  // ES modules, as in the project; reporters named in the configuration resolve from this folder.
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), body.replaceAll('@root', PROJECT_ROOT));
  return dir;
}

/** The configuration most planted runs use: the project's own (defineHarnessConfig), one worker, a JSON report. */
export const harnessConfigFile = `import { defineHarnessConfig } from '@root/harness/playwright/index.js';
const workspace = process.env.TROPIC_WORKSPACE;
export default defineHarnessConfig({ workspace, specs: { testDir: workspace }, containerSpecs: false, workers: 1, timeout: 60_000, reporters: [['json', { outputFile: workspace + '/report.json' }]] });
`;

type JsonTest = { projectName: string; results: { status: string; errors?: { message?: string }[] }[]; annotations?: { type: string; description?: string }[] };
type JsonSuite = { specs?: { title: string; tests: JsonTest[] }[]; suites?: JsonSuite[] };

function startedTests(suites: JsonSuite[]): StartedTest[] {
  return suites.flatMap((s) => [
    ...(s.specs ?? []).flatMap((sp) =>
      sp.tests.flatMap((t) =>
        t.results.map((r) => ({ title: sp.title, project: t.projectName, status: r.status, errors: (r.errors ?? []).map((e) => e.message ?? ''), annotations: t.annotations ?? [] })),
      ),
    ),
    ...startedTests(s.suites ?? []),
  ]);
}

type RawStep = { attachments?: { name: string; source: string }[]; steps?: RawStep[] };
const attachmentsOf = (s: RawStep): { name: string; source: string }[] => [...(s.attachments ?? []), ...(s.steps ?? []).flatMap(attachmentsOf)];

function readAllure(dir: string): { files: string[]; results: AllureResult[] } {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('-result.json')) : [];
  const results: AllureResult[] = [];
  for (const f of files) {
    try {
      const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RawStep & { name: string; status: string; stage?: string; statusDetails?: { message?: string } };
      results.push({ file: f, name: r.name, status: r.status, stage: r.stage, message: r.statusDetails?.message ?? '', attachments: attachmentsOf(r) });
    } catch {
      /* counted by the caller: files vs parsed results */
    }
  }
  return { files, results };
}

/** Run `playwright test` on the workspace's configuration with `env` added; never throws for a failing run. */
export async function runChildPlaywright(workspace: string, env: Record<string, string>, config = 'playwright.config.ts'): Promise<ChildRun> {
  const cli = path.join(PROJECT_ROOT, 'node_modules', '@playwright', 'test', 'cli.js');
  const child = spawn(process.execPath, [cli, 'test', '--config', path.join(workspace, config)], {
    cwd: workspace,
    env: { ...process.env, CI: '', TROPIC_QUIET_PROJECTS: '1', TROPIC_WORKSPACE: workspace, TROPIC_ALLURE_RESULTS: 'reports/allure-results', TEST_WORKER_INDEX: '', TEST_PARALLEL_INDEX: '', ...env },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const allureDir = path.join(workspace, 'reports', 'allure-results');
  const { files, results } = readAllure(allureDir);
  let started: StartedTest[] = [];
  try {
    started = startedTests((JSON.parse(readFileSync(path.join(workspace, 'report.json'), 'utf8')) as { suites: JsonSuite[] }).suites);
  } catch {
    /* no JSON report: the caller's assertions say so with the output */
  }
  return { exitCode, output, workspace, allureDir, allure: results, allureResultFiles: files, started };
}

const FINAL_STATUSES = ['passed', 'failed', 'broken', 'skipped'];

/** Every started test has exactly one Allure result file, each parsing as a finished result. */
export function expectResultsComplete(run: ChildRun): void {
  expect(run.started.length, run.output).toBeGreaterThan(0);
  expect(run.allureResultFiles.length, `Allure result files vs started tests\n${run.output}`).toBe(run.started.length);
  expect(run.allure.length, 'every result file parses as JSON').toBe(run.allureResultFiles.length);
  for (const r of run.allure) {
    expect(FINAL_STATUSES, `${r.name}: status`).toContain(r.status);
    expect(r.stage, `${r.name}: stage`).toBe('finished');
  }
  expect(run.allure.map((r) => r.name).sort()).toEqual(run.started.map((t) => t.title).sort());
}

/** The killed test's Allure result carries its frame log (with the exchanges before the kill) and the target's log. */
export function expectAttachments(run: ChildRun, title: string, targetLog: string): void {
  const result = run.allure.find((r) => r.name === title);
  expect(result, `Allure result of "${title}"`).toBeTruthy();
  const names = result!.attachments.map((a) => a.name);
  expect(names).toEqual(expect.arrayContaining(['frame-log.jsonl', 'frame-log.decoded.txt', targetLog]));
  const frameLog = result!.attachments.find((a) => a.name === 'frame-log.jsonl')!;
  const parsed = parseFrameLog(readFileSync(path.join(run.allureDir, frameLog.source), 'utf8'), { lenient: true });
  expect(parsed.entries.length, 'exchanges recorded before the kill').toBeGreaterThan(0);
  const log = result!.attachments.find((a) => a.name === targetLog)!;
  expect(readFileSync(path.join(run.allureDir, log.source), 'utf8')).toMatch(/client .* connected/);
}

export const removeWorkspace = (dir: string): void => rmSync(dir, { recursive: true, force: true });
