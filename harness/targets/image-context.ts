/**
 * The build context of the model image: the compiled harness, the default model configuration and
 * only the packages the model server needs at run time (their closure in package-lock.json), not
 * the 180 MB of test tooling in node_modules. Builds through testcontainers have no network, so
 * nothing is installed during the build: what runs is what the host's `npm ci` installed.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TargetError } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';

/** Packages `tropic-harness model serve` imports (through dist/harness/cli/main.js). */
export const MODEL_RUNTIME_PACKAGES = ['commander', 'dotenv', 'yaml', 'zod', '@noble/curves', '@noble/hashes', '@peculiar/x509', 'reflect-metadata'] as const;

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** node_modules paths (relative to the root) of `roots` and everything they depend on. */
export function runtimeClosure(lock: { packages: Record<string, LockEntry> }, roots: readonly string[]): string[] {
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

/** Assemble the model image's context in a temporary folder; the caller removes it. */
export function assembleModelContext(dockerfile: string, root = PROJECT_ROOT): { dir: string; packages: number; dispose: () => void } {
  const dist = path.join(root, 'dist', 'harness', 'cli', 'main.js');
  if (!existsSync(dist)) throw new TargetError(`${path.relative(root, dist)} is missing: run npm ci (its prepare step builds dist/) or npm run build`, 'TH_IMAGE_CONTEXT');
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const modules = runtimeClosure(lock, MODEL_RUNTIME_PACKAGES);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-model-image-'));
  try {
    cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    cpSync(path.join(root, 'harness', 'model', 'default-config'), path.join(dir, 'harness', 'model', 'default-config'), { recursive: true });
    // The compiled code finds the project root by this package.json (paths.ts).
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, type: pkg.type }, null, 2));
    for (const m of modules) {
      const src = path.join(root, m);
      if (!existsSync(src)) throw new TargetError(`${m} is in package-lock.json but not installed: run npm ci`, 'TH_IMAGE_CONTEXT');
      mkdirSync(path.dirname(path.join(dir, m)), { recursive: true });
      cpSync(src, path.join(dir, m), { recursive: true, dereference: true });
    }
    cpSync(path.join(root, dockerfile), path.join(dir, 'Dockerfile'));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, packages: modules.length, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
