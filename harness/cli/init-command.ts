/**
 * `tropic-harness init [dir]`: scaffold a project that keeps its own TROPIC01 specs and runs them
 * with this package (package.json, playwright.config.ts using `tropic-harness/config`, an example
 * spec, .env.example, .gitignore, tsconfig.json, README.md), then its package-lock.json through npm
 * (LOCK_COMMAND) so the printed `npm ci && npx playwright test` works as it is. Existing files are
 * never replaced unless --force: a refusal lists them all and writes nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { envExample } from '../config/env.js';
import { CliError } from '../errors.js';
import { dependencySpec, packageVersion } from '../paths.js';
import { EXAMPLE_SPEC, GITIGNORE, PLAYWRIGHT_CONFIG, TSCONFIG, consumerPackageJson, consumerReadme } from './templates/consumer.js';

export interface InitOptions {
  /** Dependency spec for tropic-harness: a version, a git URL, or a tarball path. Default: this package's version. */
  from?: string;
  force?: boolean;
}

export interface InitResult {
  dir: string;
  written: string[];
  harnessSpec: string;
}

const GIT_SPEC = /^(git\+|git:|github:|gitlab:|bitbucket:|https?:\/\/.*\.git(#.*)?$|git@)/;

/** How package.json names the dependency: tarballs and folders become `file:` paths relative to the project. */
export function dependencySpecFor(from: string, dir: string, cwd = process.cwd()): string {
  if (GIT_SPEC.test(from) || from.startsWith('file:') || /^https?:\/\//.test(from)) return from;
  const local = /\.(tgz|tar\.gz)$/.test(from) || from.startsWith('.') || from.startsWith('/') || existsSync(path.resolve(cwd, from));
  if (!local) return from; // a version or range
  const abs = path.resolve(cwd, from);
  if (!existsSync(abs)) throw new CliError(`--from ${JSON.stringify(from)}: no such file or folder (${abs}); give a version, a git URL or an existing tarball`);
  const rel = path.relative(dir, abs);
  return `file:${rel.startsWith('.') || path.isAbsolute(rel) ? rel : `./${rel}`}`;
}

/** npm package name from a folder name: lower case, only the characters npm allows. */
export function packageNameFor(dir: string): string {
  const base = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '');
  return base || 'tropic-specs';
}

/** The files of a new consumer project, relative to its folder. */
export function consumerFiles(dir: string, harnessSpec: string): Record<string, string> {
  const input = { name: packageNameFor(dir), harnessSpec, playwrightVersion: dependencySpec('@playwright/test') ?? packageVersion(), envExample: envExample() };
  return {
    'package.json': consumerPackageJson(input),
    'playwright.config.ts': PLAYWRIGHT_CONFIG,
    'specs/example.spec.ts': EXAMPLE_SPEC,
    '.env.example': input.envExample,
    '.gitignore': GITIGNORE,
    'tsconfig.json': TSCONFIG,
    'README.md': consumerReadme(input),
  };
}

export function initProject(dirArg: string, options: InitOptions = {}): InitResult {
  const dir = path.resolve(dirArg);
  const harnessSpec = dependencySpecFor(options.from ?? packageVersion(), dir);
  const files = consumerFiles(dir, harnessSpec);
  const existing = Object.keys(files).filter((f) => existsSync(path.join(dir, f)));
  if (existing.length && !options.force) {
    throw new CliError(`${dir} already has ${existing.join(', ')}: nothing written (use --force to replace them)`);
  }
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return { dir, written: Object.keys(files), harnessSpec };
}

/** The command that resolves the dependencies into package-lock.json without installing them. */
export const LOCK_COMMAND = ['npm', 'install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'] as const;

/**
 * The commands that make a new project run, as `init` prints them and the documentation shows
 * them. With the package-lock.json init wrote, `npm ci` installs exactly what it pins (as CI will);
 * without one (`--no-lock`, or npm could not make it) the first `npm install` writes it.
 */
export const NEXT_COMMANDS = {
  withLock: ['npm ci', 'npx playwright test'],
  withoutLock: ['npm install', 'npx playwright test'],
} as const;

/** A folder name as one shell word. */
const shellWord = (s: string) => (/^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function nextSteps(shownDir: string, lockWritten: boolean): string[] {
  return [...(shownDir === '.' ? [] : [`cd ${shellWord(shownDir)}`]), ...NEXT_COMMANDS[lockWritten ? 'withLock' : 'withoutLock']];
}

export interface LockResult {
  /** How long npm took, in milliseconds. */
  ms: number;
}

/** npm's error lines worth showing: no warnings, stack frames or the error object's fields; the last `count`. */
export function npmErrorTail(output: string, count = 8): string[] {
  return output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() && !/^npm warn/i.test(l) && !/^npm error\s+at /.test(l) && !/^npm error\s{2,}\w+: /.test(l) && !/^npm error [{}]?$/.test(l))
    .slice(-count);
}

/** Wait for a lock run no longer than this (npm's own fetch timeouts end a dead registry sooner). */
const LOCK_TIMEOUT_MS = 15 * 60_000;

/**
 * Resolve the project's dependencies into package-lock.json (LOCK_COMMAND in `dir`). Throws
 * CliError TH_INIT_LOCK with npm's last error lines when npm is missing, fails or times out.
 */
export function writeLockFile(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<LockResult> {
  const [npm, ...args] = LOCK_COMMAND;
  const started = Date.now();
  const failed = (what: string, output = '', cause?: unknown) => {
    const tail = npmErrorTail(output);
    return new CliError(`package-lock.json not written in ${dir}: \`${LOCK_COMMAND.join(' ')}\` ${what} after ${seconds(Date.now() - started)}${tail.length ? `:\n${tail.map((l) => `  ${l}`).join('\n')}` : ''}`, 'TH_INIT_LOCK', { cause });
  };
  return new Promise((resolve, reject) => {
    // npm is a .cmd script on Windows, started through the shell there.
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : npm, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), LOCK_TIMEOUT_MS);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(failed(e.code === 'ENOENT' ? 'could not start: npm is not on PATH' : `could not start (${e.message})`, output, e));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && existsSync(path.join(dir, 'package-lock.json'))) resolve({ ms: Date.now() - started });
      else if (code === 0) reject(failed('exited 0 but wrote no package-lock.json', output));
      else reject(failed(signal ? `was stopped by ${signal}${Date.now() - started >= LOCK_TIMEOUT_MS ? ' (timed out)' : ''}` : `exited ${code}`, output));
    });
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('scaffold a project that keeps its own specs and runs them with tropic-harness, resolve its package-lock.json with npm, and print the commands that run it (exit 0: written; 1: refused, nothing written, or package-lock.json not made, the other files written)')
    .argument('[dir]', 'project folder (created when missing)', '.')
    .option('--from <spec>', 'tropic-harness dependency: a version, a git URL (git+https://..., github:owner/repo#ref) or a tarball path', packageVersion())
    .option('--force', 'replace files that already exist', false)
    .option('--no-lock', `do not run \`${LOCK_COMMAND.join(' ')}\` (offline): the first \`npm install\` writes package-lock.json`)
    .action(async (dir: string, o: { from: string; force: boolean; lock: boolean }) => {
      const r = initProject(dir, { from: o.from, force: o.force });
      const rel = path.relative(process.cwd(), r.dir);
      const shown = rel === '' ? '.' : rel.startsWith('..') ? r.dir : rel;
      const out = (text: string) => process.stdout.write(`${text}\n`);
      const steps = (lockWritten: boolean) => nextSteps(shown, lockWritten).map((c) => `  ${c}`).join('\n');
      out(`tropic-harness init: wrote ${r.written.join(', ')} in ${r.dir} (tropic-harness ${r.harnessSpec})`);
      if (!o.lock) {
        out('tropic-harness init: no package-lock.json (--no-lock): the first `npm install` writes it; commit it, then CI runs `npm ci && npx playwright test`');
        out(`next:\n${steps(false)}`);
        return;
      }
      out(`tropic-harness init: resolving the dependencies into package-lock.json (${LOCK_COMMAND.join(' ')}) …`);
      let lock: LockResult;
      try {
        lock = await writeLockFile(r.dir);
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        // The scaffold stays; what is missing is the lock, which one `npm install` makes.
        throw new CliError(`${e.detail}\nThe other files are written. Run \`npm install\` there once (registry reachable) to create package-lock.json and commit it:\n${steps(false)}`, 'TH_INIT_LOCK', { cause: e.cause });
      }
      out(`tropic-harness init: package-lock.json written in ${seconds(lock.ms)}; commit it (CI runs \`npm ci && npx playwright test\`)`);
      out(`next:\n${steps(true)}`);
    });
}
