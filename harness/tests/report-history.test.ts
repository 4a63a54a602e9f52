/**
 * A nightly job on a reused workspace: three consecutive runs of a small suite through the
 * project's fixtures and Allure reporter, each followed by `tropic-harness report` with the same
 * history file. One planted spec fails, passes, then fails again (Allure's rule: a failure after a
 * pass that followed a failure is flaky). The third report must carry three runs of history, show
 * that spec as flaky and the steady ones as not, and each report must
 * be that run's own (the printed path is the fresh index.html, the results are that run's only).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';

const SPEC = `
import { test, expect } from ${JSON.stringify(path.join(PROJECT_ROOT, 'fixtures', 'index.js'))};
const run = Number(process.env.NIGHTLY_RUN);
test('steady: CHIP_ID answers', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toMatch(/^[0-9a-f]+$/);
});
test('planted flaky: passes on the second night only', async ({ tropic }) => {
  await tropic.getInfo(1);
  expect(run, 'planted failure on nights 1 and 3').toBe(2);
});
`;

const CONFIG = `
import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: '.',
  testMatch: /nightly\\.spec\\.ts$/,
  globalSetup: ${JSON.stringify(path.join(PROJECT_ROOT, 'fixtures', 'lifecycle', 'run.setup.ts'))},
  reporter: [['allure-playwright', { resultsDir: process.env.TROPIC_ALLURE_RESULTS }]],
});
`;

interface ReportedResult {
  name: string;
  status: string;
  flaky?: boolean;
  environment?: string;
  categories?: { name: string }[];
}

function reportedResults(reportDir: string): ReportedResult[] {
  const dir = path.join(reportDir, 'data', 'test-results');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as ReportedResult);
}

test('three nightly runs on one workspace: fresh results each night, history kept, the planted flaky spec marked flaky', async () => {
  test.setTimeout(240_000);
  // Inside the project (ignored by git) so the planted config resolves @playwright/test.
  mkdirSync(path.join(PROJECT_ROOT, 'reports', '.tmp'), { recursive: true });
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'reports', '.tmp', 'nightly-'));
  try {
    writeFileSync(path.join(dir, 'nightly.spec.ts'), SPEC);
    writeFileSync(path.join(dir, 'nightly.config.ts'), CONFIG);
    const results = path.join(dir, 'allure-results');
    const report = path.join(dir, 'allure-report');
    const history = path.join(dir, 'history.jsonl');
    for (const night of [1, 2, 3]) {
      const env = { ...process.env, TROPIC_TARGET: 'embedded', TROPIC_ALLURE_RESULTS: results, NIGHTLY_RUN: String(night), CI: '' };
      const run = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', '@playwright', 'test', 'cli.js'), 'test', '-c', path.join(dir, 'nightly.config.ts'), '--output', path.join(dir, 'out')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
      expect(run.status, run.stdout + run.stderr).toBe(night === 2 ? 0 : 1);
      // Each run's results are its own: two tests, never the sum of the nights.
      expect(readdirSync(results).filter((f) => f.endsWith('-result.json'))).toHaveLength(2);
      const gen = spawnSync(process.execPath, ['dist/harness/cli/main.js', 'report', '--results', results, '--output', report, '--history', history], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
      expect(gen.status, gen.stdout + gen.stderr).toBe(0);
      expect(gen.stdout).toContain(`report: ${path.join(report, 'index.html')}`);
      expect(existsSync(path.join(report, 'awesome')), 'the report is flattened into the printed folder, not nested').toBe(false);
      const shown = reportedResults(report);
      expect(shown).toHaveLength(2);
      const planted = shown.find((r) => r.name.startsWith('planted flaky'))!;
      expect(planted.status).toBe(night === 2 ? 'passed' : 'failed');
      // Allure 3 categories and environments come from the report's configuration.
      expect(planted.environment).toBe('embedded');
      if (night !== 2) expect(planted.categories?.map((c) => c.name)).toEqual(['Assertion failures']);
    }
    expect(readFileSync(history, 'utf8').trim().split('\n')).toHaveLength(3);
    const last = reportedResults(report);
    expect(last.find((r) => r.name.startsWith('planted flaky'))?.flaky, 'the fail-pass-fail spec is flaky').toBe(true);
    expect(last.find((r) => r.name.startsWith('steady'))?.flaky ?? false, 'the steady spec is not flaky').toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
