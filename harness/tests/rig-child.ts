/**
 * The built `tropic-harness` command as a long-running child process (a DevKit emulator, a bridge,
 * a model server standing in for a rig) for the tests that run the spec suite through it: started,
 * its first stdout line read (where it listens), stopped by its own pid, and checked for leftovers.
 * Needs `npm run build` (the child runs dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { expect } from '@playwright/test';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { TargetError } from '../errors.js';

export const CLI = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'main.js');

export interface CliChild {
  proc: ChildProcess;
  /** The first line the command printed on stdout. */
  firstLine: string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM (the commands' clean stop), then wait for the exit; returns the exit code. */
  stop(): Promise<number | string>;
}

/** Start `tropic-harness …args` and wait (up to `timeoutMs`) for its first stdout line. */
export async function startCli(args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<CliChild> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const stop = async (): Promise<number | string> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    return exited;
  };
  const what = `tropic-harness ${args.join(' ')}`;
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TargetError(`${what} printed no line within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`, 'TH_TARGET_START_TIMEOUT')), timeoutMs);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, nl));
        }
      });
      void exited.then((c) => {
        clearTimeout(timer);
        reject(new TargetError(`${what} exited (${c}) before printing where it listens; stderr: ${err.slice(-2000)}`, 'TH_TARGET_EXITED'));
      });
    });
    proc.stdout!.resume();
    return { proc, firstLine, stderr: () => err, exited, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The port at the end of a `host:port` or `scheme://host:port` in `text`. */
export function portIn(text: string): number {
  const m = /:(\d{1,5})\b(?!.*:\d)/.exec(text);
  if (!m) throw new TargetError(`no port in ${JSON.stringify(text)}`, 'TH_TARGET_START_TIMEOUT');
  return Number(m[1]);
}

/** Pids of live processes whose command line mentions `needle` (e.g. a test's private folder): leftovers. */
export function processesMentioning(needle: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // exited meanwhile
    }
    if (cmdline.includes(needle) && Number(entry) !== process.pid) found.push({ pid: Number(entry), cmdline });
  }
  return found;
}

/**
 * Stops the children (last started first), removes the test's folder, and checks softly that no
 * process mentioning that folder and no pty link the emulator made is left behind.
 */
export async function stopAndExpectNothingLeft(children: CliChild[], dir: string, ptyDir: string): Promise<void> {
  for (const c of [...children].reverse()) await c.stop();
  const left = processesMentioning(dir);
  const ptyLeft = ['devkit', 'emulator'].filter((n) => existsSync(path.join(ptyDir, n)));
  rmSync(dir, { recursive: true, force: true });
  expect.soft(left.map((p) => p.cmdline), 'processes left running').toEqual([]);
  expect.soft(ptyLeft, 'pty links left behind').toEqual([]);
}
