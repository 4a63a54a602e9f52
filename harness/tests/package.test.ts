/**
 * The package as a consumer sees it: what `npm pack` ships, the `exports` entries and bins, the
 * version, `init`'s files and its refusal to overwrite, and the reusable Playwright configuration.
 * Needs `npm run build` (dist/) like the other tests that start the CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PACKAGE_ROOT, WORKSPACE_ROOT, PROJECT_ROOT, packageVersion } from '../paths.js';
import { initProject, dependencySpecFor, consumerFiles } from '../cli/init-command.js';
import { defineHarnessConfig, LIFECYCLE_DIR } from '../playwright/index.js';
import { CliError } from '../errors.js';

type Reporters = ReadonlyArray<readonly [string, Record<string, unknown>?]>;
type PackageJson = { version: string; exports: Record<string, string | { types: string; default: string }>; bin: Record<string, string>; types: string };
const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as PackageJson;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'harness', 'cli', 'main.js');

let dir: string;
test.beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-package-'))));
test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('npm pack ships dist, typings, the default model configuration and Dockerfiles, and nothing of CI, specs or harness tests', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  expect(files.filter((f) => f.startsWith('.ci/') || f.startsWith('specs/') || f.includes('harness/tests/') || f.endsWith('.model_config_save.yaml') || f.startsWith('.'))).toEqual([]);
  expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]); // no sources
  expect(files).toEqual(expect.arrayContaining([
    'dist/fixtures/index.js', 'dist/fixtures/index.d.ts', 'dist/fixtures/lifecycle/target.setup.js', 'dist/fixtures/lifecycle/run.setup.js',
    'dist/harness/index.d.ts', 'dist/harness/playwright/index.js', 'dist/harness/model-entry.js',
    'harness/model/default-config/tropic01-model.yml', 'harness/model/default-config/sh0-private.pem',
    'docker/model.Dockerfile', 'docker/tvl.Dockerfile', 'README.md', 'package.json',
  ]));
  expect(files.filter((f) => f.endsWith('.d.ts')).length).toBeGreaterThan(20);
});

test('every exports entry has types and a default that exist in dist, and the bins are built', () => {
  expect(Object.keys(pkg.exports).sort()).toEqual(['.', './config', './fixtures', './model', './package.json']);
  for (const [entry, target] of Object.entries(pkg.exports)) {
    if (entry === './package.json') continue;
    expect(typeof target, entry).toBe('object');
    const { types, default: js } = target as { types: string; default: string };
    expect(existsSync(path.join(PACKAGE_ROOT, types)), `${entry} types ${types}`).toBe(true);
    expect(existsSync(path.join(PACKAGE_ROOT, js)), `${entry} default ${js}`).toBe(true);
  }
  expect(existsSync(path.join(PACKAGE_ROOT, pkg.types))).toBe(true);
  for (const bin of Object.values(pkg.bin)) expect(existsSync(path.join(PACKAGE_ROOT, bin)), bin).toBe(true);
});

test('the fixtures and config entries load through the exports map and expose test, expect, spec and defineHarnessConfig', () => {
  // Resolved by package name from a folder that depends on nothing but this package (self-reference).
  const script = `const f = await import('tropic-harness/fixtures'); const c = await import('tropic-harness/config'); const m = await import('tropic-harness/model');
    console.log(JSON.stringify([typeof f.test, typeof f.expect, typeof f.spec, typeof f.knownFinding, typeof c.defineHarnessConfig, typeof c.tropicProjects, typeof m.ModelServer, typeof m.TropicModel, typeof m.loadModelConfig]));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: PACKAGE_ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(['function', 'function', 'function', 'function', 'function', 'function', 'function', 'function', 'function']);
});

test('--version prints the package.json version; main --help documents exit codes; init --help shows its defaults', () => {
  const v = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
  expect(v.status).toBe(0);
  expect(v.stdout.trim()).toBe(pkg.version);
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  expect(help.stdout).toMatch(/Exit codes: 0 success; 1 error/);
  expect(help.stdout).toMatch(/init \[options\] \[dir\]/);
  const init = spawnSync(process.execPath, [CLI, 'init', '--help'], { encoding: 'utf8' });
  expect(init.stdout).toContain(`(default: "${pkg.version}")`);
  expect(init.stdout).toMatch(/--force\s+replace files that already exist \(default: false\)/);
  expect(init.stdout).toMatch(/dir\s+project folder \(created when missing\) \(default: "\."\)/);
});

test('init writes a consumer project: dependency on this version, config through tropic-harness/config, example spec, env example', () => {
  const r = initProject(dir);
  expect(r.written.sort()).toEqual(['.env.example', '.gitignore', 'README.md', 'package.json', 'playwright.config.ts', 'specs/example.spec.ts', 'tsconfig.json']);
  const consumer = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; type: string };
  expect(consumer.devDependencies['tropic-harness']).toBe(packageVersion());
  expect(consumer.devDependencies['@playwright/test']).toBe((JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['@playwright/test']);
  expect(consumer.type).toBe('module');
  expect(readFileSync(path.join(dir, 'playwright.config.ts'), 'utf8')).toContain("from 'tropic-harness/config'");
  expect(readFileSync(path.join(dir, 'specs', 'example.spec.ts'), 'utf8')).toMatch(/from 'tropic-harness\/fixtures'[\s\S]*spec\('User API/);
  expect(readFileSync(path.join(dir, '.env.example'), 'utf8')).toMatch(/^TROPIC_TARGET=embedded$/m);
  expect(readFileSync(path.join(dir, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['node_modules/', 'reports/', 'test-results/', '.env']));
});

test('init refuses to overwrite any existing file (naming each, writing nothing) unless --force', () => {
  writeFileSync(path.join(dir, 'package.json'), '{"name":"mine"}\n');
  writeFileSync(path.join(dir, '.gitignore'), 'mine\n');
  let error: unknown;
  try {
    initProject(dir);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CliError);
  expect((error as CliError).message).toMatch(/already has package\.json, \.gitignore: nothing written \(use --force/);
  expect(existsSync(path.join(dir, 'playwright.config.ts'))).toBe(false);
  expect(readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe('{"name":"mine"}\n');
  // The CLI exits 1 on the refusal.
  const cli = spawnSync(process.execPath, [CLI, 'init', dir], { encoding: 'utf8' });
  expect(cli.status).toBe(1);
  expect(cli.stderr).toContain('TH_CLI');
  initProject(dir, { force: true });
  expect(readFileSync(path.join(dir, 'package.json'), 'utf8')).toContain('"tropic-harness"');
});

test('init --from: a tarball becomes a file: spec relative to the project; git URLs and versions are kept; a missing tarball is refused', () => {
  const tarball = path.join(dir, 'dl', 'tropic-harness-9.9.9.tgz');
  const project = path.join(dir, 'proj');
  expect(() => dependencySpecFor(tarball, project)).toThrow(/--from ".*tropic-harness-9\.9\.9\.tgz": no such file/);
  rmSync(path.join(dir, 'dl'), { recursive: true, force: true });
  spawnSync('mkdir', ['-p', path.join(dir, 'dl')]);
  writeFileSync(tarball, '');
  expect(dependencySpecFor(tarball, project)).toBe('file:../dl/tropic-harness-9.9.9.tgz');
  expect(dependencySpecFor('git+https://example.invalid/fw/tropic-harness.git#v0.1.0', project)).toBe('git+https://example.invalid/fw/tropic-harness.git#v0.1.0');
  expect(dependencySpecFor('github:owner/tropic-harness#main', project)).toBe('github:owner/tropic-harness#main');
  expect(dependencySpecFor('^0.1.0', project)).toBe('^0.1.0');
  expect(JSON.parse(consumerFiles(project, 'file:../dl/x.tgz')['package.json']!).devDependencies['tropic-harness']).toBe('file:../dl/x.tgz');
});

test('defineHarnessConfig: spec project with setup/teardown on the package lifecycle files, reports and outputs in the workspace', () => {
  const cfg = defineHarnessConfig({ workspace: dir, env: { TROPIC_CONTAINER_SPECS: '0' }, specs: { testDir: './my-specs' } });
  const projects = cfg.projects!;
  expect(projects.map((p) => p.name)).toEqual(['specs setup', 'specs teardown', 'specs']);
  const [setup, teardown, specs] = projects;
  expect(setup!.testDir).toBe(LIFECYCLE_DIR);
  expect(setup!.teardown).toBe('specs teardown');
  expect(specs!.dependencies).toEqual(['specs setup']);
  expect(specs!.testDir).toBe('./my-specs');
  for (const [p, base] of [[setup!, 'target.setup'], [teardown!, 'target.teardown']] as const) {
    const match = p.testMatch as RegExp;
    const file = ['.ts', '.js'].map((ext) => path.join(LIFECYCLE_DIR, base + ext)).find(existsSync)!;
    expect(file, `${base} in ${LIFECYCLE_DIR}`).toBeTruthy();
    expect(match.test(file)).toBe(true);
    expect(match.test(path.join(LIFECYCLE_DIR, `${base}.d.ts`))).toBe(false);
  }
  expect(existsSync(cfg.globalSetup as string)).toBe(true);
  expect(cfg.outputDir).toBe(path.join(dir, 'test-results'));
  const reporters = cfg.reporter as Reporters;
  expect(reporters.map((r) => r[0])).toEqual(['list', 'junit', 'html', 'allure-playwright']);
  expect(reporters[1]![1]!.outputFile).toBe(path.join(dir, 'reports', 'junit.xml'));
  expect(reporters[3]![1]!.resultsDir).toBe(path.join(dir, 'reports', 'allure-results'));
  expect(cfg.timeout).toBe(60_000);
  const withContainer = defineHarnessConfig({ workspace: dir, env: {}, containerSpecs: true, quiet: true });
  expect(withContainer.projects!.map((p) => p.name)).toEqual(['specs setup', 'specs teardown', 'specs', 'model-container setup', 'model-container teardown', 'model-container']);
  expect((withContainer.projects![5]!.use as { targetKind?: string }).targetKind).toBe('model-container');
});

test('defineHarnessConfig reads the workspace .env, not the package folder, and fails on a bad variable before any test', () => {
  writeFileSync(path.join(dir, '.env'), 'TROPIC_ALLURE_RESULTS=out/allure\nTROPIC_PAIRING_SLOT=9\n');
  expect(() => defineHarnessConfig({ workspace: dir, env: { TROPIC_CONTAINER_SPECS: '0' } })).toThrow(/TROPIC_PAIRING_SLOT="9"/);
  writeFileSync(path.join(dir, '.env'), 'TROPIC_ALLURE_RESULTS=out/allure\n');
  const cfg = defineHarnessConfig({ workspace: dir, env: { TROPIC_CONTAINER_SPECS: '0' } });
  expect((cfg.reporter as Reporters)[3]![1]!.resultsDir).toBe(path.join(dir, 'out', 'allure'));
});

test('PACKAGE_ROOT is the package, PROJECT_ROOT its alias, WORKSPACE_ROOT follows TROPIC_WORKSPACE', () => {
  expect(JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).name).toBe('tropic-harness');
  expect(PROJECT_ROOT).toBe(PACKAGE_ROOT);
  expect(WORKSPACE_ROOT).toBe(path.resolve(process.env.TROPIC_WORKSPACE || process.cwd()));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "const p = await import('tropic-harness/package.json', { with: { type: 'json' } }); const paths = await import(new URL('dist/harness/paths.js', 'file://' + process.argv[1] + '/').href); console.log(JSON.stringify([paths.WORKSPACE_ROOT, paths.PACKAGE_ROOT, p.default.name]));", PACKAGE_ROOT], { cwd: PACKAGE_ROOT, encoding: 'utf8', env: { ...process.env, TROPIC_WORKSPACE: dir } });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual([dir, PACKAGE_ROOT, 'tropic-harness']);
});
