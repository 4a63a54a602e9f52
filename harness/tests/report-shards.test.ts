/**
 * The README's many-machines recipe, run as written: the spec suite in two shards, each with its
 * own results folder (as on two machines), then one Allure report over both results folders
 * (Allure 3's own multi-input, through `tropic-harness report --results <parent>`) and one merged
 * HTML/JUnit report from the shards' blob reports (`playwright merge-reports`). Every test of the
 * suite appears exactly once in each merged report.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';

const GREP = 'Get_Info_Req';
const cli = path.join(PROJECT_ROOT, 'node_modules', '@playwright', 'test', 'cli.js');

test('two shards merge into one Allure report and one Playwright report, each test once', async () => {
  test.setTimeout(240_000);
  mkdirSync(path.join(PROJECT_ROOT, 'reports', '.tmp'), { recursive: true });
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'reports', '.tmp', 'shards-'));
  try {
    // How many spec tests the grep selects, from Playwright's own listing.
    const list = spawnSync(process.execPath, [cli, 'test', '--project=specs', '--grep', GREP, '--list', '--reporter=json'], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, TROPIC_QUIET_PROJECTS: '1' } });
    expect(list.status, list.stderr).toBe(0);
    const listed = (list.stdout.match(/"title":/g) ?? []).length;
    expect(listed).toBeGreaterThan(5);
    for (const shard of [1, 2]) {
      const machine = path.join(dir, `machine${shard}`);
      const env = { ...process.env, TROPIC_TARGET: 'embedded', TROPIC_BLOB: '1', TROPIC_ALLURE_RESULTS: path.join(machine, 'allure-results'), TROPIC_QUIET_PROJECTS: '1', CI: '' };
      const r = spawnSync(process.execPath, [cli, 'test', '--project=specs', '--grep', GREP, `--shard=${shard}/2`, '--output', path.join(machine, 'out')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    // Allure: one report over both machines' results folders (a parent of several is expanded).
    const gather = path.join(dir, 'all-results');
    for (const shard of [1, 2]) cpSync(path.join(dir, `machine${shard}`, 'allure-results'), path.join(gather, `machine${shard}`), { recursive: true });
    const report = path.join(dir, 'allure-report');
    const gen = spawnSync(process.execPath, ['dist/harness/cli/main.js', 'report', '--results', gather, '--output', report, '--history', path.join(dir, 'h.jsonl')], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(gen.status, gen.stdout + gen.stderr).toBe(0);
    const names = readdirSync(path.join(report, 'data', 'test-results')).map((f) => (JSON.parse(readFileSync(path.join(report, 'data', 'test-results', f), 'utf8')) as { fullName?: string; name: string }).fullName ?? '');
    const specs = names.filter((n) => n.includes('.spec.ts'));
    expect(specs.length).toBeGreaterThan(10);
    expect(new Set(specs).size, 'each spec test once').toBe(specs.length);
    expect(gen.stdout).toMatch(/from 2 folders/);

    // Playwright: the blob reports of both machines merged into one JUnit file.
    const blobs = path.join(dir, 'blobs');
    mkdirSync(blobs);
    for (const shard of [1, 2]) for (const f of readdirSync(path.join(dir, `machine${shard}`, 'blob-report'))) cpSync(path.join(dir, `machine${shard}`, 'blob-report', f), path.join(blobs, f));
    const junit = path.join(dir, 'merged', 'junit.xml');
    const merge = spawnSync(process.execPath, [cli, 'merge-reports', '--config', 'playwright.merge.config.ts', blobs], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, TROPIC_MERGED_JUNIT: junit, TROPIC_MERGED_HTML: path.join(dir, 'merged', 'html') } });
    expect(merge.status, merge.stdout + merge.stderr).toBe(0);
    const xml = readFileSync(junit, 'utf8');
    const cases = [...xml.matchAll(/<testcase name="([^"]*)" classname="([^"]*)"/g)].filter((m) => m[2]!.includes('.spec.ts'));
    expect(cases.length).toBe(specs.length);
    expect(new Set(cases.map((m) => `${m[2]} ${m[1]}`)).size).toBe(cases.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
