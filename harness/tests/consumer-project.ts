/**
 * A consumer project of the packed package, for the tests that use tropic-harness as a firmware
 * team would: `npm pack` of the built dist/ (never rebuilt here: tsc rewriting dist/ while other
 * workers run the built CLI makes them read half-written modules; `npm test` builds first), `init`
 * with or without its package-lock.json, and an install.
 *
 * The install is npm's (`npm ci` on the lock init wrote: package-consumer.test.ts) wherever the npm
 * registry answers. installOffline() is the fallback without a registry (and what the container
 * test uses): `npm install --offline` when the npm cache holds every dependency's metadata, else
 * the consumer's node_modules links this project's installed dependencies and the tarball is
 * unpacked as node_modules/tropic-harness, bins linked as npm would. A test on the fallback says so
 * (skipped with the reason or annotated); it never stands in for the npm ci test.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { expect } from '@playwright/test';
import { PACKAGE_ROOT } from '../paths.js';

export const packageJson = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

/** A child environment without this run's tropic-harness and Playwright worker variables. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TROPIC_|TEST_|TVL_|FORCE_COLOR)/.test(k)));
  return { ...env, TROPIC_QUIET_PROJECTS: '1', ...extra };
}

export const sh = (cmd: string, args: string[], cwd: string, options: { timeout?: number; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd, encoding: 'utf8', env: options.env ?? cleanEnv(), timeout: options.timeout ?? 240_000 });

/** `npm pack` of the built package into `dest`; returns the tarball's path. */
export function packBuiltPackage(dest: string): string {
  expect(existsSync(path.join(PACKAGE_ROOT, 'dist/fixtures/index.js')), 'run `npm run build` first').toBe(true);
  // --ignore-scripts: `prepare` would run the build.
  const pack = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], PACKAGE_ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  return path.join(dest, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
}

/**
 * `tropic-harness init <consumer> --from <tarball>` with the built CLI, from `cwd`. `lock: false`
 * adds --no-lock (no registry needed; install with installOffline), `force` --force.
 */
export function initConsumer(consumer: string, tarball: string, cwd: string, options: { lock?: boolean; force?: boolean } = {}): SpawnSyncReturns<string> {
  const flags = [...(options.lock ? [] : ['--no-lock']), ...(options.force ? ['--force'] : [])];
  return sh(process.execPath, [path.join(PACKAGE_ROOT, packageJson.bin['tropic-harness']!), 'init', consumer, '--from', tarball, ...flags], cwd);
}

/** Why the npm registry does not answer (`npm ping`'s error line), or undefined when it does. */
export function registryUnreachable(cwd: string): string | undefined {
  const ping = sh('npm', ['ping', '--fetch-retries=0'], cwd, { timeout: 60_000 });
  if (ping.status === 0) return undefined;
  return ping.stderr.split('\n').find((l) => /npm error (code|errno|.*(ENOTFOUND|ECONNREFUSED|EAI_AGAIN|ETIMEDOUT|ENETUNREACH))/.test(l)) ?? `npm ping exited ${ping.status ?? ping.signal}`;
}

/** Link this project's installed dependencies and unpack the tarball as npm would install it. */
function linkInstall(consumer: string, tarball: string): void {
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
  for (const [name, file] of Object.entries(packageJson.bin)) {
    chmodSync(path.join(target, file), 0o755);
    symlinkSync(path.join('..', 'tropic-harness', file), path.join(modules, '.bin', name));
  }
}

/**
 * What `npm install` does in the consumer, without a registry. Returns how it was installed (for
 * an annotation): npm itself when its cache allows, else the linked install.
 */
export function installOffline(consumer: string, tarball: string): string {
  const offline = sh('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], consumer);
  if (offline.status === 0) return 'npm install --offline (npm cache)';
  linkInstall(consumer, tarball);
  return `linked dependencies + unpacked tarball; npm install --offline: ${offline.stderr.split('\n').find((l) => /ENOTCACHED|error/.test(l)) ?? offline.status}`;
}
