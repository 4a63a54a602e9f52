/**
 * The package as a firmware team installs it: `npm pack` of the built dist/ (npm test builds first), `tropic-harness init` a consumer
 * in a temp folder, install the tarball without any registry, then `npx playwright test` there:
 * the example spec and one spec of this project's suite (copied, importing from
 * 'tropic-harness/fixtures') run on the embedded model, with the package's setup and teardown
 * projects from node_modules, and the results land in the consumer's reports/.
 *
 * Installing offline: `npm install --offline` is tried first (it works when the npm cache holds
 * every dependency's metadata); without that, the consumer's node_modules links this project's
 * installed dependencies and the tarball is unpacked as node_modules/tropic-harness, bins linked
 * as npm would.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PACKAGE_ROOT } from '../paths.js';

test.describe.configure({ mode: 'serial' });

const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const COPIED_TITLE = 'CHIP_ID is 128 bytes and decodes';
let tmp: string;
let consumer: string;
let tarball: string;
let run: SpawnSyncReturns<string>;

test.beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tropic-consumer-'));
  consumer = path.join(tmp, 'fw-specs');
});
test.afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A child environment without this run's tropic-harness and Playwright worker variables. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TROPIC_|TEST_|TVL_|FORCE_COLOR)/.test(k)));
  return { ...env, TROPIC_QUIET_PROJECTS: '1', ...extra };
}

const sh = (cmd: string, args: string[], cwd: string, timeout = 240_000) => spawnSync(cmd, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout });

test('npm pack of the built package makes a tarball holding the fixtures entry and its types', async () => {
  test.setTimeout(300_000);
  // Never rebuild here: tsc rewriting dist/ while other workers' tests run the built CLI makes
  // them read half-written modules. `npm test` builds before any test; alone, build first.
  expect(existsSync(path.join(PACKAGE_ROOT, 'dist/fixtures/index.js')), 'run `npm run build` first').toBe(true);
  // --ignore-scripts: `prepare` would run the build.
  const pack = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], PACKAGE_ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  tarball = path.join(tmp, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
  const list = sh('tar', ['-tzf', tarball], tmp);
  expect(list.stdout.split('\n')).toEqual(expect.arrayContaining(['package/dist/fixtures/index.js', 'package/dist/fixtures/index.d.ts', 'package/dist/fixtures/lifecycle/target.setup.js', 'package/harness/model/default-config/tropic01-model.yml']));
});

test('init scaffolds a consumer whose tropic-harness dependency is the tarball', () => {
  const r = sh(process.execPath, [path.join(PACKAGE_ROOT, pkg.bin['tropic-harness']!), 'init', consumer, '--from', tarball], tmp);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('npm install');
  const consumerPkg = JSON.parse(readFileSync(path.join(consumer, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  expect(consumerPkg.devDependencies['tropic-harness']).toBe(`file:../${path.basename(tarball)}`);
  expect(existsSync(path.join(consumer, 'specs', 'example.spec.ts'))).toBe(true);
});

/** Link this project's installed dependencies and unpack the tarball as npm would install it. */
function linkInstall(): void {
  const modules = path.join(consumer, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  mkdirSync(path.join(modules, '.bin'), { recursive: true });
  for (const entry of readdirSync(path.join(PACKAGE_ROOT, 'node_modules'))) {
    if (entry === '.bin' || entry === 'tropic-harness') continue;
    symlinkSync(path.join(PACKAGE_ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  const target = path.join(modules, 'tropic-harness');
  mkdirSync(target);
  const untar = sh('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'], consumer);
  expect(untar.status, untar.stderr).toBe(0);
  symlinkSync('../@playwright/test/cli.js', path.join(modules, '.bin', 'playwright'));
  for (const [name, file] of Object.entries(pkg.bin)) {
    chmodSync(path.join(target, file), 0o755);
    symlinkSync(path.join('..', 'tropic-harness', file), path.join(modules, '.bin', name));
  }
}

test('the tarball installs without a registry and its exports resolve from the consumer', () => {
  test.setTimeout(300_000);
  const offline = sh('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], consumer);
  const method = offline.status === 0 ? 'npm install --offline (npm cache)' : 'linked dependencies + unpacked tarball';
  test.info().annotations.push({ type: 'install', description: offline.status === 0 ? method : `${method}; npm install --offline: ${offline.stderr.split('\n').find((l) => /ENOTCACHED|error/.test(l)) ?? offline.status}` });
  if (offline.status !== 0) linkInstall();
  const resolve = sh(process.execPath, ['--input-type=module', '-e', "for (const s of ['tropic-harness', 'tropic-harness/fixtures', 'tropic-harness/config', 'tropic-harness/model']) console.log(import.meta.resolve(s));"], consumer);
  expect(resolve.status, resolve.stderr).toBe(0);
  const installed = path.join(consumer, 'node_modules', 'tropic-harness');
  expect(resolve.stdout.trim().split('\n').map((u) => path.relative(installed, new URL(u).pathname))).toEqual([
    'dist/harness/index.js', 'dist/fixtures/index.js', 'dist/harness/playwright/index.js', 'dist/harness/model-entry.js',
  ]);
  const version = sh('npx', ['--no-install', 'tropic-harness', '--version'], consumer);
  expect(version.status, version.stderr).toBe(0);
  expect(version.stdout.trim()).toBe(pkg.version);
});

/** This project's CHIP_ID spec, cut out of specs/l2-frames.spec.ts and pointed at the package. */
function copiedProjectSpec(): string {
  const source = readFileSync(path.join(PACKAGE_ROOT, 'specs', 'l2-frames.spec.ts'), 'utf8').split('\n');
  const start = source.findIndex((l) => l.includes(`test('${COPIED_TITLE}'`));
  expect(start, `"${COPIED_TITLE}" in specs/l2-frames.spec.ts`).toBeGreaterThanOrEqual(0);
  const indent = /^\s*/.exec(source[start]!)![0];
  const end = source.findIndex((l, i) => i > start && l === `${indent}});`);
  expect(end).toBeGreaterThan(start);
  const body = source.slice(start, end + 1).map((l) => l.slice(indent.length));
  return [
    "import { test, expect, spec } from 'tropic-harness/fixtures';",
    "import { l2, decodeChipId } from 'tropic-harness';",
    '',
    'const { GET_INFO_OBJECT } = l2;',
    "const UAPI = 'User API v1.4.0';",
    '',
    ...body,
    '',
  ].join('\n');
}

test('npx playwright test in the consumer passes the example spec and a copied project spec on the embedded model, Allure results in its reports/', async () => {
  test.setTimeout(300_000);
  writeFileSync(path.join(consumer, 'specs', 'chip-id.spec.ts'), copiedProjectSpec());
  // The model-container target is not yet usable from an installed package (its image context
  // reads the project's package-lock.json): the consumer runs the embedded target only.
  run = spawnSync('npx', ['--no-install', 'playwright', 'test'], { cwd: consumer, encoding: 'utf8', env: cleanEnv({ CI: '1', TROPIC_CONTAINER_SPECS: '0' }), timeout: 240_000 });
  expect(run.status, run.stdout + run.stderr).toBe(0);
  // The package's own lifecycle projects ran from node_modules.
  expect(run.stdout).toContain('node_modules/tropic-harness/dist/fixtures/lifecycle/target.setup.js');
  expect(run.stdout).toContain('node_modules/tropic-harness/dist/fixtures/lifecycle/target.teardown.js');

  const junit = readFileSync(path.join(consumer, 'reports', 'junit.xml'), 'utf8');
  expect(junit).toMatch(/<testsuites [^>]*failures="0"/);
  for (const title of ['Ping through a secure session echoes its data', COPIED_TITLE, 'target setup', 'target teardown']) expect(junit).toContain(`name="${title}`);

  const resultsDir = path.join(consumer, 'reports', 'allure-results');
  const results = readdirSync(resultsDir)
    .filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as { name: string; status: string; labels: { name: string; value: string }[] });
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const title of ['Ping through a secure session echoes its data', COPIED_TITLE]) {
    expect(byName.get(title)?.status, `${title} in ${resultsDir}`).toBe('passed');
    expect(byName.get(title)!.labels).toEqual(expect.arrayContaining([{ name: 'tag', value: 'reversible' }, { name: 'target', value: 'embedded' }]));
  }
});

test('the consumer run writes nothing into the installed package', () => {
  expect(run?.status).toBe(0);
  expect(readdirSync(path.join(consumer, 'node_modules', 'tropic-harness')).sort()).toEqual(['README.md', 'dist', 'docker', 'harness', 'package.json']);
});
