/**
 * Two roots, because an installed package is not the user's project:
 * - PACKAGE_ROOT: where tropic-harness's own files are (default model configuration, Dockerfiles,
 *   compiled fixtures). Found from this module's location, so it is right both from sources
 *   (harness/...) and from the build (dist/harness/...), in this repository or in a consumer's
 *   node_modules/tropic-harness.
 * - WORKSPACE_ROOT: the user's project, where .env files are read and reports/, test-results and
 *   Allure results are written: TROPIC_WORKSPACE, else the current directory (where
 *   `playwright test` or `tropic-harness` was started).
 * In this repository both are the same folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

export const PACKAGE_NAME = 'tropic-harness';

function findPackageRoot(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; ) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new ConfigError(`cannot find the ${PACKAGE_NAME} package root: no package.json named "${PACKAGE_NAME}" in ${start} or any folder above it`);
    dir = up;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
/** @deprecated the package's own files: use PACKAGE_ROOT; the user's project: use WORKSPACE_ROOT. */
export const PROJECT_ROOT = PACKAGE_ROOT;
export const WORKSPACE_ROOT = path.resolve(process.env.TROPIC_WORKSPACE || process.cwd());

export const DEFAULT_CONFIG_DIR = path.join(PACKAGE_ROOT, 'harness', 'model', 'default-config');
export const DEFAULT_MODEL_CONFIG = path.join(DEFAULT_CONFIG_DIR, 'tropic01-model.yml');
export const DEFAULT_PAIRING_KEY = path.join(DEFAULT_CONFIG_DIR, 'sh0-private.pem');
export const DOCKERFILES_DIR = path.join(PACKAGE_ROOT, 'docker');

/** The package's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The exact version of one of the package's dependencies, as its package.json pins it. */
export function dependencySpec(name: string): string | undefined {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return pkg.dependencies?.[name];
}

/**
 * A file of an installed dependency, wherever npm put it (this project's node_modules, or hoisted
 * into a consumer's): found from the package's resolvable entry, since not every package exports
 * its package.json or its CLI script.
 */
export function dependencyFile(name: string, relative: string): string {
  const req = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(req.resolve(`${name}/package.json`));
  } catch {
    dir = path.dirname(req.resolve(name));
    while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  }
  return path.join(dir, relative);
}
