/**
 * `tropic-harness init [dir]`: scaffold a project that keeps its own TROPIC01 specs and runs them
 * with this package (package.json, playwright.config.ts using `tropic-harness/config`, an example
 * spec, .env.example, .gitignore, tsconfig.json, README.md). Existing files are never replaced
 * unless --force: a refusal lists them all and writes nothing.
 */
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

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('scaffold a project that keeps its own specs and runs them with tropic-harness (exit 0: written, 1: refused or failed, nothing written)')
    .argument('[dir]', 'project folder (created when missing)', '.')
    .option('--from <spec>', 'tropic-harness dependency: a version, a git URL (git+https://..., github:owner/repo#ref) or a tarball path', packageVersion())
    .option('--force', 'replace files that already exist', false)
    .action((dir: string, o: { from: string; force: boolean }) => {
      const r = initProject(dir, { from: o.from, force: o.force });
      const rel = path.relative(process.cwd(), r.dir);
      const shown = rel === '' ? '.' : rel.startsWith('..') ? r.dir : rel;
      process.stdout.write(
        `tropic-harness init: wrote ${r.written.join(', ')} in ${r.dir} (tropic-harness ${r.harnessSpec})\n` +
          `next:\n  cd ${shown}\n  npm install            # first time; then npm ci with the lock file\n  npx playwright test\n`,
      );
    });
}
