/**
 * The package as a firmware team installs it: `npm pack` of the built dist/ (npm test builds first),
 * `tropic-harness init --from <tarball>` a consumer in a temp folder (init writes package-lock.json
 * against the tarball through the npm registry), then exactly the commands init prints (`cd`,
 * `npm ci`, `npx playwright test`): the example spec and one spec of this project's suite (copied,
 * importing from 'tropic-harness/fixtures') run on the embedded model, with the package's setup and
 * teardown projects from node_modules, and the results land in the consumer's reports/.
 *
 * Without a reachable npm registry init cannot make the lock: the lock and npm ci tests are then
 * skipped with npm's reason, and the rest runs on consumer-project.ts's offline install (init
 * --no-lock, npm cache or linked dependencies), annotated as such.
 */
import { type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PACKAGE_ROOT } from '../paths.js';
import { NEXT_COMMANDS } from '../cli/init-command.js';
import { cleanEnv, initConsumer, installOffline, packBuiltPackage, packageJson as pkg, registryUnreachable, sh } from './consumer-project.js';

test.describe.configure({ mode: 'serial' });

const COPIED_TITLE = 'CHIP_ID is 128 bytes and decodes';
let tmp: string;
let consumer: string;
let tarball: string;
/** The commands init printed under "next:", in order. */
let printed: string[] = [];
/** Where the printed commands run: `cd` moves it. */
let cwd: string;
let run: SpawnSyncReturns<string>;
/** Set when the npm registry does not answer: why, and that the consumer was installed offline instead. */
let fallback: string | undefined;

test.beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tropic-consumer-'));
  consumer = path.join(tmp, 'fw-specs');
});
test.afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The lines init printed under "next:". */
function nextLines(stdout: string): string[] {
  const lines = stdout.split('\n');
  const next = lines.indexOf('next:');
  expect(next, stdout).toBeGreaterThan(0);
  const after = lines.slice(next + 1);
  return after.slice(0, after.findIndex((l) => !l.startsWith('  '))).map((l) => l.trim());
}

const annotateFallback = () => fallback && test.info().annotations.push({ type: 'install', description: `offline fallback: ${fallback}` });

test('npm pack of the built package makes a tarball holding the fixtures entry and its types', async () => {
  test.setTimeout(300_000);
  tarball = packBuiltPackage(tmp);
  const list = sh('tar', ['-tzf', tarball], tmp);
  expect(list.stdout.split('\n')).toEqual(expect.arrayContaining(['package/dist/fixtures/index.js', 'package/dist/fixtures/index.d.ts', 'package/dist/fixtures/lifecycle/target.setup.js', 'package/harness/model/default-config/tropic01-model.yml']));
});

test('init --from <tarball> writes package-lock.json pinning the tarball and prints its next steps: cd, npm ci, npx playwright test', () => {
  test.setTimeout(300_000);
  // Started from the tarball's folder with a relative project folder, as a user would.
  const r = initConsumer('fw-specs', tarball, tmp, { lock: true });
  cwd = tmp;
  if (r.status !== 0 && r.stderr.includes('TH_INIT_LOCK')) {
    const down = registryUnreachable(tmp);
    if (down) {
      // No registry: the rest of the file runs on the offline install, this test and npm ci's are skipped.
      fallback = `npm registry unreachable (${down})`;
      const offline = initConsumer('fw-specs', tarball, tmp, { force: true });
      expect(offline.status, offline.stderr).toBe(0);
      printed = nextLines(offline.stdout);
      expect(printed).toEqual(['cd fw-specs', ...NEXT_COMMANDS.withoutLock]);
      test.skip(true, `${fallback}: init could not write package-lock.json`);
    }
  }
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/resolving the dependencies into package-lock\.json \(npm install --package-lock-only --ignore-scripts --no-audit --no-fund\) …\n.*package-lock\.json written in [\d.]+ s; commit it/);
  printed = nextLines(r.stdout);
  expect(printed).toEqual(['cd fw-specs', ...NEXT_COMMANDS.withLock]);
  const consumerPkg = JSON.parse(readFileSync(path.join(consumer, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  expect(consumerPkg.devDependencies['tropic-harness']).toBe(`file:../${path.basename(tarball)}`);
  expect(existsSync(path.join(consumer, 'specs', 'example.spec.ts'))).toBe(true);
  // The lock pins the tarball (a file: path and its checksum) and the one @playwright/test.
  const lock = JSON.parse(readFileSync(path.join(consumer, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; resolved?: string; integrity?: string }> };
  const pinned = lock.packages['node_modules/tropic-harness'];
  expect(pinned).toMatchObject({ version: pkg.version, resolved: `file:../${path.basename(tarball)}`, integrity: expect.stringMatching(/^sha512-/) });
  expect(Object.keys(lock.packages).filter((k) => k.endsWith('node_modules/@playwright/test'))).toEqual(['node_modules/@playwright/test']);
  expect(existsSync(path.join(consumer, 'node_modules')), 'the lock step installs nothing').toBe(false);
});

test('the printed cd and npm ci install what package-lock.json pins', () => {
  test.setTimeout(300_000);
  const [cd, install] = printed;
  expect(cd).toMatch(/^cd /);
  cwd = path.resolve(cwd, cd!.slice(3));
  expect(cwd).toBe(consumer);
  if (fallback) {
    test.info().annotations.push({ type: 'install', description: installOffline(cwd, tarball) });
    test.skip(true, `${fallback}: installed offline instead of npm ci`);
  }
  expect(install).toBe('npm ci');
  // The only change to the printed command: --prefer-offline takes what npm's cache holds without
  // asking the registry again. On CI the project's own `npm ci` has just put these packages there
  // (the consumer's @playwright/test, allure, zod, ... are the project's), so the consumer install
  // costs disk time, not network time; anything missing is still fetched.
  const ci = sh('npm', [...install!.split(' ').slice(1), '--prefer-offline'], cwd, { timeout: 280_000 });
  expect(ci.status, ci.stdout + ci.stderr).toBe(0);
  // npm ci installs the tarball the lock names and the one @playwright/test it pins.
  const lock = JSON.parse(readFileSync(path.join(consumer, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  for (const name of ['tropic-harness', '@playwright/test']) {
    const installed = JSON.parse(readFileSync(path.join(consumer, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    expect(installed.version, name).toBe(lock.packages[`node_modules/${name}`]!.version);
  }
});

test('the installed package\'s exports and bin resolve from the consumer', () => {
  annotateFallback();
  expect(cwd).toBe(consumer);
  const resolve = sh(process.execPath, ['--input-type=module', '-e', "for (const s of ['tropic-harness', 'tropic-harness/fixtures', 'tropic-harness/config', 'tropic-harness/model']) console.log(import.meta.resolve(s));"], cwd);
  expect(resolve.status, resolve.stderr).toBe(0);
  const installed = path.join(consumer, 'node_modules', 'tropic-harness');
  expect(resolve.stdout.trim().split('\n').map((u) => path.relative(installed, new URL(u).pathname))).toEqual([
    'dist/harness/index.js', 'dist/fixtures/index.js', 'dist/harness/playwright/index.js', 'dist/harness/model-entry.js',
  ]);
  const version = sh('npx', ['--no-install', 'tropic-harness', '--version'], cwd);
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

test('the printed npx playwright test passes the example spec and a copied project spec on the embedded model, Allure results in its reports/', async () => {
  test.setTimeout(300_000);
  annotateFallback();
  writeFileSync(path.join(consumer, 'specs', 'chip-id.spec.ts'), copiedProjectSpec());
  // The last printed command, as printed. The embedded target only: the model-container target
  // from the installed package is package-container-target.test.ts (project harness-docker).
  const [command, ...args] = printed[2]!.split(' ');
  run = sh(command!, args, cwd, { env: cleanEnv({ CI: '1', TROPIC_CONTAINER_SPECS: '0' }) });
  expect(run.status, run.stdout + run.stderr).toBe(0);
  const junit = readFileSync(path.join(consumer, 'reports', 'junit.xml'), 'utf8');
  expect(junit).toMatch(/<testsuites [^>]*failures="0"/);
  for (const title of ['Ping through a secure session echoes its data', COPIED_TITLE]) expect(junit).toContain(`name="${title}`);
  // The embedded model runs in each worker: no target setup or teardown project (the package's
  // lifecycle files run from node_modules on the model-container target: package-container-target.test.ts).
  expect(junit).not.toContain('name="target setup');

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
  annotateFallback();
  expect(run?.status).toBe(0);
  expect(readdirSync(path.join(consumer, 'node_modules', 'tropic-harness')).sort()).toEqual(['README.md', 'dist', 'docker', 'harness', 'package.json']);
});
