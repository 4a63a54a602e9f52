/**
 * The package as a consumer sees it: what `npm pack` ships, the `exports` entries and bins, the
 * version, `init`'s files and its refusal to overwrite, and the reusable Playwright configuration.
 * Needs `npm run build` (dist/) like the other tests that start the CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PACKAGE_ROOT, WORKSPACE_ROOT, PROJECT_ROOT, packageVersion } from '../paths.js';
import { initProject, dependencySpecFor, consumerFiles, nextSteps, NEXT_COMMANDS } from '../cli/init-command.js';
import { assembleModelContext, installedClosure, MODEL_RUNTIME_PACKAGES, runtimeClosure } from '../targets/image-context.js';
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
  expect(init.stdout.replace(/\s+/g, " ")).toMatch(/--no-lock do not run `npm install --package-lock-only --ignore-scripts --no-audit --no-fund` \(offline\)/);
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
  // On the embedded target (the default) the model runs in each worker: no lifecycle projects.
  const embedded = defineHarnessConfig({ workspace: dir, env: { TROPIC_CONTAINER_SPECS: '0' }, specs: { testDir: './my-specs' } });
  expect(embedded.projects!.map((p) => p.name)).toEqual(['specs']);
  expect(embedded.projects![0]!.dependencies).toEqual([]);
  const cfg = defineHarnessConfig({ workspace: dir, env: { TROPIC_CONTAINER_SPECS: '0' }, specs: { testDir: './my-specs', lifecycle: true } });
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
  expect(reporters.map((r) => r[0])).toEqual([expect.stringMatching(/worker-loss\.reporter\.[jt]s$/), 'list', 'junit', 'html', expect.stringMatching(/report[\\/]allure-reporter\.[jt]s$/)]);
  expect(reporters[2]![1]!.outputFile).toBe(path.join(dir, 'reports', 'junit.xml'));
  expect(reporters[4]![1]!.resultsDir).toBe(path.join(dir, 'reports', 'allure-results'));
  expect(cfg.timeout).toBe(60_000);
  const withContainer = defineHarnessConfig({ workspace: dir, env: {}, containerSpecs: true, quiet: true });
  expect(withContainer.projects!.map((p) => p.name)).toEqual(['specs', 'model-container setup', 'model-container teardown', 'model-container']);
  expect((withContainer.projects![3]!.use as { targetKind?: string }).targetKind).toBe('model-container');
  expect(withContainer.projects![3]!.dependencies).toEqual(['model-container setup']);
});

test('defineHarnessConfig reads the workspace .env, not the package folder, and fails on a bad variable before any test', () => {
  writeFileSync(path.join(dir, '.env'), 'TROPIC_ALLURE_RESULTS=out/allure\nTROPIC_PAIRING_SLOT=9\n');
  expect(() => defineHarnessConfig({ workspace: dir, env: { TROPIC_CONTAINER_SPECS: '0' } })).toThrow(/TROPIC_PAIRING_SLOT="9"/);
  writeFileSync(path.join(dir, '.env'), 'TROPIC_ALLURE_RESULTS=out/allure\n');
  const cfg = defineHarnessConfig({ workspace: dir, env: { TROPIC_CONTAINER_SPECS: '0' } });
  expect((cfg.reporter as Reporters).find((r) => /allure-reporter\.[jt]s$/.test(r[0]))![1]!.resultsDir).toBe(path.join(dir, 'out', 'allure'));
});

test('PACKAGE_ROOT is the package, PROJECT_ROOT its alias, WORKSPACE_ROOT follows TROPIC_WORKSPACE', () => {
  expect(JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).name).toBe('tropic-harness');
  expect(PROJECT_ROOT).toBe(PACKAGE_ROOT);
  expect(WORKSPACE_ROOT).toBe(path.resolve(process.env.TROPIC_WORKSPACE || process.cwd()));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "const p = await import('tropic-harness/package.json', { with: { type: 'json' } }); const paths = await import(new URL('dist/harness/paths.js', 'file://' + process.argv[1] + '/').href); console.log(JSON.stringify([paths.WORKSPACE_ROOT, paths.PACKAGE_ROOT, p.default.name]));", PACKAGE_ROOT], { cwd: PACKAGE_ROOT, encoding: 'utf8', env: { ...process.env, TROPIC_WORKSPACE: dir } });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual([dir, PACKAGE_ROOT, 'tropic-harness']);
});

/** The commands of a shell block, comments and blank lines left out. */
const commandsOf = (block: string) => block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);

/** The first ```bash block of `text` that contains `marker`, as commands. */
const blockWith = (text: string, marker: string) => commandsOf([...text.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(marker)) ?? '');

test('init --no-lock writes no lock and prints cd, npm install, npx playwright test; the guide and the scaffold README show the npm ci and the npm install variants', () => {
  const project = path.join(dir, 'fw specs');
  const cli = spawnSync(process.execPath, [CLI, 'init', 'fw specs', '--no-lock'], { cwd: dir, encoding: 'utf8' });
  expect(cli.status, cli.stderr).toBe(0);
  expect(cli.stdout).toContain(`next:\n  cd 'fw specs'\n  npm install\n  npx playwright test\n`);
  expect(cli.stdout).not.toContain('npm ci\n');
  expect(existsSync(path.join(project, 'package-lock.json'))).toBe(false);
  expect(nextSteps('.', true)).toEqual(['npm ci', 'npx playwright test']);
  expect(nextSteps('.', false)).toEqual(['npm install', 'npx playwright test']);
  // docs/use-in-your-repository.md: the first block under "Start a project" runs init, then exactly
  // what it prints with the lock written; the --no-lock block then exactly what that prints.
  const guide = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'use-in-your-repository.md'), 'utf8');
  const section = guide.slice(guide.indexOf('### Start a project'));
  const locked = blockWith(section, 'npx tropic-harness init fw-specs ');
  expect(locked[0]).toMatch(/^npx tropic-harness init fw-specs /);
  expect(locked[0]).not.toContain('--no-lock');
  expect(locked.slice(1, 1 + nextSteps('fw-specs', true).length)).toEqual(nextSteps('fw-specs', true));
  const unlocked = blockWith(section, '--no-lock');
  expect(unlocked[0]).toMatch(/^npx tropic-harness init fw-specs .*--no-lock$/);
  expect(unlocked.slice(1)).toEqual(nextSteps('fw-specs', false));
  // The scaffold's README starts from inside the project: npm ci first, npm install for a project without a lock.
  const readme = readFileSync(path.join(project, 'README.md'), 'utf8');
  expect(blockWith(readme, 'npm ci').slice(0, NEXT_COMMANDS.withLock.length)).toEqual([...NEXT_COMMANDS.withLock]);
  expect(blockWith(readme, 'npm install')).toEqual([...NEXT_COMMANDS.withoutLock]);
});

/** The built CLI as a child process, without blocking this process (a test server may need to answer it). */
function cliAsync(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('init whose lock npm cannot make (registry unreachable, npm not on PATH) keeps the scaffold, prints npm\'s error and the npm install steps, and exits 1 with TH_INIT_LOCK', async () => {
  test.setTimeout(120_000);
  // A "registry" on loopback that drops every connection: npm fails as on a dead network, at once.
  const registry = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  const port = (registry.address() as AddressInfo).port;
  try {
    const env = { ...process.env, npm_config_registry: `http://127.0.0.1:${port}/`, npm_config_fetch_retries: '0', npm_config_cache: path.join(dir, 'npm-cache'), npm_config_update_notifier: 'false' };
    const r = await cliAsync(['init', 'fw-specs'], dir, env);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/resolving the dependencies into package-lock\.json \(npm install --package-lock-only --ignore-scripts --no-audit --no-fund\)/);
    expect(r.stdout).not.toContain('next:');
    expect(r.stdout).not.toMatch(/package-lock\.json written/);
    expect(r.stderr).toMatch(/TH_INIT_LOCK \[cli\] package-lock\.json not written in .*fw-specs: `npm install --package-lock-only[^`]*` exited 1 after [\d.]+ s:\n/);
    expect(r.stderr).toMatch(new RegExp(`npm error .*(ECONNRESET|socket hang up|127\\.0\\.0\\.1:${port})`));
    expect(r.stderr).not.toMatch(/npm error\s+at /); // npm's stack frames left out
    expect(r.stderr).toContain('Run `npm install` there once');
    expect(r.stderr).toContain('\n  cd fw-specs\n  npm install\n  npx playwright test');
    for (const f of ['package.json', 'playwright.config.ts', 'specs/example.spec.ts', 'README.md']) expect(existsSync(path.join(dir, 'fw-specs', f)), f).toBe(true);
    expect(existsSync(path.join(dir, 'fw-specs', 'package-lock.json'))).toBe(false);
  } finally {
    registry.close();
  }
  // Without npm on PATH (node started by its absolute path).
  const noNpm = await cliAsync(['init', 'other'], dir, { ...process.env, PATH: path.join(dir, 'no-such-bin') });
  expect(noNpm.status, noNpm.stdout + noNpm.stderr).toBe(1);
  expect(noNpm.stderr).toMatch(/TH_INIT_LOCK \[cli\] package-lock\.json not written in .*other: `npm install[^`]*` could not start: npm is not on PATH/);
  expect(noNpm.stderr).toContain('\n  cd other\n  npm install\n  npx playwright test');
  expect(existsSync(path.join(dir, 'other', 'package.json'))).toBe(true);
});

test('in a checkout the model image closure found from the package equals package-lock.json\'s', () => {
  const fromLock = runtimeClosure(JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof runtimeClosure>[0], MODEL_RUNTIME_PACKAGES);
  expect(installedClosure(PACKAGE_ROOT, MODEL_RUNTIME_PACKAGES).map((p) => path.relative(PACKAGE_ROOT, p))).toEqual(fromLock);
  expect(fromLock.length).toBeGreaterThan(MODEL_RUNTIME_PACKAGES.length);
});

test('the model image context from an installed package (no package-lock.json): the package at node_modules/tropic-harness, its packages around it, and the model server loads from it alone', () => {
  test.setTimeout(120_000);
  // A consumer as npm lays it out: dependencies hoisted beside node_modules/tropic-harness, one nested.
  const consumer = path.join(dir, 'consumer');
  const modules = path.join(consumer, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const entry of readdirSync(path.join(PACKAGE_ROOT, 'node_modules'))) {
    if (entry !== '.bin' && entry !== 'tropic-harness') symlinkSync(path.join(PACKAGE_ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  const installed = path.join(modules, 'tropic-harness');
  cpSync(path.join(PACKAGE_ROOT, 'dist', 'harness'), path.join(installed, 'dist', 'harness'), { recursive: true, filter: (f) => !f.includes(`${path.sep}tests`) && !f.endsWith('.map') });
  cpSync(path.join(PACKAGE_ROOT, 'harness', 'model', 'default-config'), path.join(installed, 'harness', 'model', 'default-config'), { recursive: true });
  cpSync(path.join(PACKAGE_ROOT, 'docker', 'model.Dockerfile'), path.join(installed, 'docker', 'model.Dockerfile'));
  cpSync(path.join(PACKAGE_ROOT, 'package.json'), path.join(installed, 'package.json'));
  cpSync(path.join(PACKAGE_ROOT, 'node_modules', 'yaml'), path.join(installed, 'node_modules', 'yaml'), { recursive: true, dereference: true });
  expect(existsSync(path.join(installed, 'package-lock.json'))).toBe(false);

  const ctx = assembleModelContext('docker/model.Dockerfile', installed);
  try {
    expect(ctx.buildArgs).toEqual({ PACKAGE_DIR: 'node_modules/tropic-harness' });
    expect(ctx.packages).toBe(installedClosure(PACKAGE_ROOT, MODEL_RUNTIME_PACKAGES).length);
    const pkgInCtx = path.join(ctx.dir, 'node_modules', 'tropic-harness');
    for (const f of ['dist/harness/cli/model-server.js', 'harness/model/default-config/tropic01-model.yml', 'package.json', 'node_modules/yaml/package.json']) expect(existsSync(path.join(pkgInCtx, f)), f).toBe(true);
    // The nested yaml is the one Node finds from the package; the hoisted copy is not needed.
    expect(existsSync(path.join(ctx.dir, 'node_modules', 'yaml'))).toBe(false);
    for (const p of ['zod', 'commander', '@peculiar/x509', '@noble/curves']) expect(existsSync(path.join(ctx.dir, 'node_modules', p, 'package.json')), p).toBe(true);
    for (const tool of ['typescript', 'playwright', '@playwright/test', 'allure', 'testcontainers', 'dockerode']) expect(existsSync(path.join(ctx.dir, 'node_modules', tool)), tool).toBe(false);
    expect(readFileSync(path.join(ctx.dir, 'Dockerfile'), 'utf8')).toMatch(/ARG PACKAGE_DIR=\.\n[\s\S]*WORKDIR \/app\/\$\{PACKAGE_DIR\}/);
    // What the container runs, run here from the context alone (nothing above it has node_modules).
    const r = spawnSync(process.execPath, ['dist/harness/cli/model-server.js', 'dump-logging-cfg'], { cwd: pkgInCtx, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/handlers:/);
  } finally {
    ctx.dispose();
  }
  expect(existsSync(ctx.dir)).toBe(false);
});

test('the model image context names the missing package when a dependency is not installed', () => {
  const installed = path.join(dir, 'node_modules', 'tropic-harness');
  mkdirSync(path.join(installed, 'dist', 'harness', 'cli'), { recursive: true });
  writeFileSync(path.join(installed, 'dist', 'harness', 'cli', 'model-server.js'), '');
  writeFileSync(path.join(installed, 'package.json'), '{"name":"tropic-harness","version":"0.0.0"}');
  expect(() => assembleModelContext('docker/model.Dockerfile', installed)).toThrow(/package commander \(needed by the model server\) is not installed where Node finds it from .*node_modules\/tropic-harness/);
});
