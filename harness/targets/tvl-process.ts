/**
 * ts-tvl (or any drop-in) as a local process, one per worker slot on port base+1+slot. The process
 * outlives a discarded worker (Playwright discards a worker after a failure) and is reused by the
 * next worker of the same slot; pid files under reports/.targets label it so global teardown, or
 * the next run's start, removes it even after a crash.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { ANSI_COLOURS } from './target.js';
import { PROJECT_ROOT, DEFAULT_MODEL_CONFIG } from '../paths.js';
import { TargetError } from '../errors.js';
import { waitForAnsweredFrame } from './wait-ready.js';
import type { TargetHandle } from './target.js';

export const TARGET_STATE_DIR = path.join(PROJECT_ROOT, 'reports', '.targets');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface TvlProcessOptions {
  command: string;
  port: number;
  configFile?: string;
  startupTimeoutMs: number;
}

export async function startTvlProcess(o: TvlProcessOptions): Promise<TargetHandle> {
  mkdirSync(TARGET_STATE_DIR, { recursive: true });
  const pidFile = path.join(TARGET_STATE_DIR, `tvl-process-${o.port}.pid`);
  const logFile = path.join(TARGET_STATE_DIR, `tvl-process-${o.port}.log`);
  let pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  if (!pid || !alive(pid)) {
    const config = path.resolve(o.configFile ?? DEFAULT_MODEL_CONFIG);
    const out = openSync(logFile, 'a');
    const child = spawn(`${o.command} --port ${o.port} --configuration ${JSON.stringify(config)}`, {
      shell: true,
      detached: true,
      stdio: ['ignore', out, out],
      cwd: path.join(TARGET_STATE_DIR),
    });
    child.unref();
    if (!child.pid) throw new TargetError(`cannot spawn ${o.command}`, 'TH_TARGET_SPAWN');
    pid = child.pid;
    writeFileSync(pidFile, String(pid));
  }
  await waitForAnsweredFrame('127.0.0.1', o.port, o.startupTimeoutMs, () => alive(pid));
  let logOffset = existsSync(logFile) ? readFileSync(logFile).length : 0;
  return {
    kind: 'tvl-process',
    name: `${o.command} @127.0.0.1:${o.port} (pid ${pid})`,
    host: '127.0.0.1',
    port: o.port,
    resetMode: 'reset-target',
    drainLogs: () => {
      if (!existsSync(logFile)) return '';
      const all = readFileSync(logFile);
      const text = all.subarray(logOffset).toString('utf8').replace(ANSI_COLOURS, '');
      logOffset = all.length;
      return text;
    },
    // The process belongs to the worker slot, not the worker: global teardown stops it.
    stop: async () => {},
  };
}

/**
 * Stop every labelled process (the process group: the shell and the server it started) and wait
 * until they are gone; SIGKILL after 5 s. Returns the pids stopped and any that survived.
 */
export async function stopAllTvlProcesses(): Promise<{ stopped: number[]; survivors: number[] }> {
  if (!existsSync(TARGET_STATE_DIR)) return { stopped: [], survivors: [] };
  const stopped: number[] = [];
  for (const f of readdirSync(TARGET_STATE_DIR).filter((x) => x.endsWith('.pid'))) {
    const pid = Number(readFileSync(path.join(TARGET_STATE_DIR, f), 'utf8'));
    if (pid && alive(pid)) {
      signal(pid, 'SIGTERM');
      stopped.push(pid);
    }
    rmSync(path.join(TARGET_STATE_DIR, f), { force: true });
  }
  const deadline = performance.now() + 5000;
  while (stopped.some(alive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of stopped.filter(alive)) signal(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 50));
  return { stopped, survivors: stopped.filter(alive) };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}
