/**
 * The build context of the model image: the compiled harness, the default model configuration and
 * only the packages the model server needs at run time, not the 180 MB of test tooling in
 * node_modules. Builds through testcontainers have no network, so nothing is installed during the
 * build: what runs is what is installed on the host.
 *
 * The packages are found the way Node finds them from the package itself (node_modules folders
 * from the package outwards), not from package-lock.json: npm does not pack the lock file, and a
 * consumer's node_modules/tropic-harness has its dependencies hoisted into the consumer's
 * node_modules. The context keeps that layout: in a checkout the package is the context's root;
 * installed, it sits at node_modules/tropic-harness with its dependencies beside it
 * (PACKAGE_DIR tells the Dockerfile where).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TargetError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';

/** Packages `tropic-harness model serve` imports (through dist/harness/cli/model-server.js). */
export const MODEL_RUNTIME_PACKAGES = ['commander', 'dotenv', 'yaml', 'zod', '@noble/curves', '@noble/hashes', '@peculiar/x509', 'reflect-metadata'] as const;

interface DependencyLists {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * package-lock.json's view of the closure (node_modules paths relative to the root): kept to
 * cross-check `installedClosure` in a checkout, where both must agree.
 */
export function runtimeClosure(lock: { packages: Record<string, DependencyLists> }, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  // Node's resolution: from the requiring package's folder outwards to the root node_modules.
  const resolve = (from: string, name: string): string | undefined => {
    let dir = from;
    for (;;) {
      const candidate = `${dir ? dir + '/' : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (!dir) return undefined;
      const i = dir.lastIndexOf('/node_modules/');
      dir = i < 0 ? '' : dir.slice(0, i);
    }
  };
  const visit = (from: string, name: string, required: boolean) => {
    const at = resolve(from, name);
    if (!at) {
      if (required) throw new TargetError(`package ${name} (needed by ${from || 'the model server'}) is not in package-lock.json; run npm ci`, 'TH_IMAGE_CONTEXT');
      return;
    }
    if (seen.has(at)) return;
    seen.add(at);
    const e = lock.packages[at]!;
    for (const dep of Object.keys(e.dependencies ?? {})) visit(at, dep, true);
    for (const dep of Object.keys(e.optionalDependencies ?? {})) visit(at, dep, false);
    for (const dep of Object.keys(e.peerDependencies ?? {})) visit(at, dep, false);
  };
  for (const r of roots) visit('', r, true);
  return [...seen].sort();
}

/** Where Node finds package `name` required from folder `from`: node_modules of `from` and each folder above it. */
function findInstalled(from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Absolute folders (as installed, symbolic links not followed: the image holds copies) of `roots`
 * and everything they depend on, found from `packageRoot` as Node would.
 */
export function installedClosure(packageRoot: string, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (from: string, name: string, required: boolean) => {
    const at = findInstalled(from, name);
    if (!at) {
      if (required) throw new TargetError(`package ${name} (needed by ${from === packageRoot ? 'the model server' : from}) is not installed where Node finds it from ${from}; reinstall (npm ci)`, 'TH_IMAGE_CONTEXT');
      return;
    }
    if (seen.has(at)) return;
    seen.add(at);
    const pkg = JSON.parse(readFileSync(path.join(at, 'package.json'), 'utf8')) as DependencyLists;
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(at, dep, true);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(at, dep, false);
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) visit(at, dep, false);
  };
  for (const r of roots) visit(packageRoot, r, true);
  return [...seen].sort();
}

/**
 * The folder the context mirrors: the common ancestor of the package and its packages, moved out
 * of any node_modules (or @scope) folder so that their node_modules layout is kept.
 */
export function contextBase(packageRoot: string, packages: readonly string[]): string {
  let segments = path.resolve(packageRoot).split(path.sep);
  for (const p of packages) {
    const other = path.resolve(p).split(path.sep);
    let i = 0;
    while (i < segments.length && i < other.length && segments[i] === other[i]) i++;
    segments = segments.slice(0, i);
  }
  while (segments.length > 1 && (segments.at(-1) === 'node_modules' || (segments.at(-1)!.startsWith('@') && segments.at(-2) === 'node_modules'))) segments.pop();
  return segments.join(path.sep) || path.sep;
}

export interface ModelContext {
  dir: string;
  packages: number;
  /** Build arguments of docker/model.Dockerfile: PACKAGE_DIR, the package's folder in the context. */
  buildArgs: Record<string, string>;
  dispose: () => void;
}

/** Assemble the model image's context in a temporary folder; the caller disposes of it. */
export function assembleModelContext(dockerfile: string, root = PACKAGE_ROOT): ModelContext {
  const dist = path.join(root, 'dist', 'harness', 'cli', 'model-server.js');
  if (!existsSync(dist)) throw new TargetError(`${dist} is missing: in a checkout run npm ci (its prepare step builds dist/) or npm run build; an installed package ships it`, 'TH_IMAGE_CONTEXT');
  const modules = installedClosure(root, MODEL_RUNTIME_PACKAGES);
  const base = contextBase(root, modules);
  const packageDir = path.relative(base, root) || '.';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-model-image-'));
  const at = (p: string) => path.join(dir, path.relative(base, p));
  try {
    cpSync(path.join(root, 'dist'), at(path.join(root, 'dist')), { recursive: true, filter: (f) => !f.endsWith('.map') });
    cpSync(path.join(root, 'harness', 'model', 'default-config'), at(path.join(root, 'harness', 'model', 'default-config')), { recursive: true });
    // The compiled code finds the package root by this package.json (paths.ts).
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(at(path.join(root, 'package.json')), JSON.stringify({ name: pkg.name, version: pkg.version, type: pkg.type }, null, 2));
    for (const m of modules) {
      mkdirSync(path.dirname(at(m)), { recursive: true });
      // Only the package itself: its nested node_modules entries are in the closure when needed.
      cpSync(m, at(m), { recursive: true, dereference: true, filter: (f) => f === m || !path.relative(m, f).split(path.sep).includes('node_modules') });
    }
    cpSync(path.join(root, dockerfile), path.join(dir, 'Dockerfile'));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    if (e instanceof TargetError) throw e;
    throw new TargetError(`assembling the model image context from ${root} failed: ${(e as Error).message}`, 'TH_IMAGE_CONTEXT', { cause: e });
  }
  return { dir, packages: modules.length, buildArgs: { PACKAGE_DIR: packageDir.split(path.sep).join('/') }, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
