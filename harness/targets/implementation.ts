/**
 * What implementation a target runs, for known findings (they name the implementation and the
 * versions they apply to) and report labels. Learned, in order of trust: this project's own model
 * (its package version), a version the user declared (TVL_VERSION), the installed ts-tvl package
 * (the command's Python interpreter asked through importlib.metadata), and last a behaviour probe
 * the target fixture runs against the chip (see fixtures/target.ts).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { packageVersion, WORKSPACE_ROOT } from '../paths.js';
import { resolveProgram } from '../config/command-line.js';
import type { TargetImplementation } from './target.js';

/** The distribution name ts-tvl installs under (its pyproject's `name`). */
export const TVL_DISTRIBUTION = 'tvl';

export function harnessModel(source: string): TargetImplementation {
  return { name: 'tropic-harness-model', version: packageVersion(), source };
}

/** Is this command line this project's model server (`tropic-model-server`, its script, or `tropic-harness model serve`)? */
export function isHarnessModelCommand(argv: string[]): boolean {
  const words = argv[0] && path.basename(argv[0]) === 'node' ? argv.slice(1) : argv;
  const base = path.basename(words[0] ?? '');
  if (base === 'tropic-model-server') return true;
  if (/(^|[\\/])harness[\\/]cli[\\/]model-server\.[jt]s$/.test(words[0] ?? '')) return true;
  return (base === 'tropic-harness' || /(^|[\\/])harness[\\/]cli[\\/]main\.[jt]s$/.test(words[0] ?? '')) && words[1] === 'model';
}

/** The Python interpreter a command runs: the command itself, or the one its `#!` line names. */
function pythonOf(argv: string[], env: Record<string, string>): string | undefined {
  const program = resolveProgram(argv[0], WORKSPACE_ROOT, env.PATH ?? process.env.PATH);
  if (!program) return undefined;
  if (/^python[\d.]*$/.test(path.basename(program))) return program;
  try {
    const fd = openSync(program, 'r');
    const head = Buffer.alloc(256);
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head.subarray(0, n).toString('utf8').split('\n')[0]);
    if (!shebang) return undefined;
    const interp = path.basename(shebang[1]) === 'env' ? shebang[2] : shebang[1];
    return interp && /python[\d.]*$/.test(interp) ? interp : undefined;
  } catch {
    return undefined;
  }
}

/** The installed ts-tvl version as the command's interpreter sees it, if it can be asked. */
function installedTvlVersion(argv: string[], env: Record<string, string>): { version: string; python: string } | undefined {
  const python = pythonOf(argv, env);
  if (!python) return undefined;
  try {
    const version = execFileSync(python, ['-c', `import importlib.metadata as m; print(m.version(${JSON.stringify(TVL_DISTRIBUTION)}))`], {
      env: { ...process.env, ...env },
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return version ? { version, python } : undefined;
  } catch {
    return undefined;
  }
}

/** A tvl-process command's implementation: ours, declared, installed, or ts-tvl with the version left to the probe. */
export function identifyTvlCommand(argv: string[], env: Record<string, string>, declaredVersion?: string): TargetImplementation {
  if (isHarnessModelCommand(argv)) return harnessModel("TVL_COMMAND runs this project's model server");
  if (declaredVersion) return { name: 'ts-tvl', version: declaredVersion, source: 'TVL_VERSION' };
  const installed = installedTvlVersion(argv, env);
  if (installed) return { name: 'ts-tvl', version: installed.version, source: `importlib.metadata via ${installed.python}` };
  return { name: 'ts-tvl', source: 'version unknown (set TVL_VERSION)' };
}

/** The ts-tvl version a wheel's file name carries (`tvl-2.2-py3-none-any.whl`). */
export function wheelVersion(file: string): string | undefined {
  return /^tvl-([^-]+)-/.exec(path.basename(file))?.[1];
}
