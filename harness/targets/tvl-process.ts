/**
 * ts-tvl (or any drop-in) as a local process, one per worker slot on port base+1+slot. The process
 * outlives a discarded worker (Playwright discards a worker after a failure) and is reused by the
 * next worker of the same slot; pid files under reports/.targets label it so global teardown, or
 * the next run's start, removes it even after a crash.
 *
 * The command runs in its own process group (its leader is the command itself: `exec`, no shell
 * left in between), and the group is what is recorded and stopped, so a wrapper script that starts
 * the real server as a child cannot leave it listening. Before a start the port must be free, and
 * a ready answer counts only when the port is held by this group: a server left by another run is
 * never tested by mistake.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, openSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import { ANSI_COLOURS, type TargetHandle, type TargetImplementation } from './target.js';
import { WORKSPACE_ROOT, DEFAULT_MODEL_CONFIG } from '../paths.js';
import { TargetError } from '../errors.js';
import { waitForAnsweredFrame } from './wait-ready.js';
import { canBind, describeHolders, listeners } from './port-owner.js';
import { identifyTvlCommand } from './implementation.js';

export const TARGET_STATE_DIR = path.join(WORKSPACE_ROOT, 'reports', '.targets');
const HOST = '127.0.0.1';
const LOG_TAIL_LINES = 20;

export interface TvlProcessOptions {
  /** The command as configured (TVL_COMMAND), for messages. */
  command: string;
  /** Program and arguments (argv[0] relative paths are taken from the project); port and configuration are appended. */
  argv: string[];
  /** Extra variables for the command (leading NAME=value words of TVL_COMMAND). */
  env?: Record<string, string>;
  port: number;
  configFile?: string;
  startupTimeoutMs: number;
  /** TVL_VERSION: the ts-tvl version the user declares. */
  declaredVersion?: string;
  /** Where pid and log files go (tests use their own). */
  stateDir?: string;
}

interface PidRecord {
  pgid: number;
  command: string;
}

/** Is any process of the group still there? */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPidFile(file: string): PidRecord | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  try {
    const r = JSON.parse(text) as PidRecord | number;
    return typeof r === 'number' ? { pgid: r, command: '?' } : r;
  } catch {
    return undefined;
  }
}

/** The last lines a log file got from `offset` on, colours removed. */
export function logTail(file: string, offset = 0, lines = LOG_TAIL_LINES): string {
  if (!existsSync(file)) return '(no output)';
  const text = readFileSync(file).subarray(offset).toString('utf8').replace(ANSI_COLOURS, '').trimEnd();
  return text ? text.split('\n').slice(-lines).join('\n') : '(no output)';
}

/**
 * Does this group hold the port? true/false from /proc; undefined where it cannot be known.
 */
function groupHoldsPort(pgid: number, port: number): boolean | undefined {
  const holders = listeners(port);
  if (!holders) return undefined;
  return holders.length > 0 && holders.every((h) => h.pgid === pgid);
}

async function ensurePortFree(port: number, command: string): Promise<void> {
  const holders = listeners(port);
  if (holders?.length || !(await canBind(port, HOST))) {
    const who = holders?.length ? `held by ${describeHolders(holders)}` : 'in use (holder unknown)';
    throw new TargetError(
      `port ${port} for ${command} is already ${who}: stop that process, or move TVL_PORT_BASE (worker slot N uses TVL_PORT_BASE+1+N)`,
      'TH_TARGET_PORT_BUSY',
    );
  }
}

async function stopGroup(pgid: number, graceMs = 5000): Promise<boolean> {
  signalGroup(pgid, 'SIGTERM');
  const deadline = performance.now() + graceMs;
  while (groupAlive(pgid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGKILL');
    const killDeadline = performance.now() + 2000;
    while (groupAlive(pgid) && performance.now() < killDeadline) await new Promise((r) => setTimeout(r, 25));
  }
  return !groupAlive(pgid);
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* already gone */
  }
}

export async function startTvlProcess(o: TvlProcessOptions): Promise<TargetHandle> {
  const stateDir = o.stateDir ?? TARGET_STATE_DIR;
  mkdirSync(stateDir, { recursive: true });
  const pidFile = path.join(stateDir, `tvl-process-${o.port}.pid`);
  const logFile = path.join(stateDir, `tvl-process-${o.port}.log`);
  const implementation = identifyTvlCommand(o.argv, o.env ?? {}, o.declaredVersion);

  // An earlier worker of this slot may have left its server: reuse it only if it still holds the port and answers.
  const prior = readPidFile(pidFile);
  if (prior && groupAlive(prior.pgid)) {
    if (groupHoldsPort(prior.pgid, o.port) !== false) {
      try {
        await waitForAnsweredFrame(HOST, o.port, Math.min(o.startupTimeoutMs, 5000), () => groupAlive(prior.pgid));
        if (groupHoldsPort(prior.pgid, o.port) !== false) return handle(o, prior.pgid, logFile, fileSize(logFile), implementation);
      } catch {
        /* not answering: replaced below */
      }
    }
    await stopGroup(prior.pgid);
  }
  rmSync(pidFile, { force: true });

  await ensurePortFree(o.port, o.command);
  const config = path.resolve(WORKSPACE_ROOT, o.configFile ?? DEFAULT_MODEL_CONFIG);
  const program = o.argv[0].includes('/') ? path.resolve(WORKSPACE_ROOT, o.argv[0]) : o.argv[0];
  const startOffset = fileSize(logFile);
  const out = openSync(logFile, 'a');
  // `exec` makes the command itself the group leader: no shell stays in between, and a missing
  // program is reported by the shell in the log ("not found"), like on a terminal.
  const child = spawn('/bin/sh', ['-c', 'exec "$0" "$@"', program, ...o.argv.slice(1), '--port', String(o.port), '--configuration', config], {
    detached: true,
    stdio: ['ignore', out, out],
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, ...o.env },
  });
  closeSync(out);
  let exit: string | undefined;
  child.on('exit', (code, sig) => (exit = sig ? `was killed by ${sig}` : `exited with code ${code}`));
  child.on('error', (e) => (exit = `could not start: ${e.message}`));
  child.unref();
  if (!child.pid) throw new TargetError(`cannot spawn ${o.command}`, 'TH_TARGET_SPAWN');
  const pgid = child.pid;
  writeFileSync(pidFile, JSON.stringify({ pgid, command: o.command } satisfies PidRecord) + '\n');

  const started = (why: string) => `${o.command} (pid ${pgid}, port ${o.port}) ${why}; its last output:\n${logTail(logFile, startOffset)}`;
  try {
    await waitForAnsweredFrame(HOST, o.port, o.startupTimeoutMs, () => exit === undefined);
  } catch (cause) {
    // Give a just-exited process its exit event, so its own reason wins over the connect error.
    await new Promise((r) => setTimeout(r, 50));
    await stopGroup(pgid, 1000);
    rmSync(pidFile, { force: true });
    if (exit !== undefined) throw new TargetError(started(exit + ' while starting'), 'TH_TARGET_EXITED', { cause });
    throw new TargetError(started(`answered no frame within ${o.startupTimeoutMs} ms`), 'TH_TARGET_START_TIMEOUT', { cause });
  }
  // The answer must have come from our server, not from something that took the port meanwhile.
  const ours = groupHoldsPort(pgid, o.port);
  if (ours === false || exit !== undefined) {
    const holders = listeners(o.port) ?? [];
    await stopGroup(pgid, 1000);
    rmSync(pidFile, { force: true });
    throw new TargetError(started(`did not take the port: it is held by ${describeHolders(holders) || 'nobody'}${exit ? `, and ours ${exit}` : ''}`), 'TH_TARGET_FOREIGN');
  }
  return handle(o, pgid, logFile, startOffset, implementation);
}

function fileSize(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

function handle(o: TvlProcessOptions, pgid: number, logFile: string, logStart: number, implementation: TargetImplementation): TargetHandle {
  let logOffset = fileSize(logFile);
  return {
    kind: 'tvl-process',
    name: `${o.command} @${HOST}:${o.port} (pid ${pgid})`,
    host: HOST,
    port: o.port,
    pid: pgid,
    implementation,
    resetMode: 'reset-target',
    drainLogs: () => {
      if (!existsSync(logFile)) return '';
      const all = readFileSync(logFile);
      const text = all.subarray(logOffset).toString('utf8').replace(ANSI_COLOURS, '');
      logOffset = all.length;
      return text;
    },
    lastLogLines: () => logTail(logFile, logStart),
    health: async () => {
      if (!groupAlive(pgid)) return `process group ${pgid} is gone`;
      if (groupHoldsPort(pgid, o.port) === false) return `process group ${pgid} no longer listens on port ${o.port}`;
      return undefined;
    },
    // The process belongs to the worker slot, not the worker: global teardown stops it.
    stop: async () => {},
  };
}

/**
 * Stop every labelled process group (the server and any wrapper it runs in) and wait until they
 * are gone; SIGKILL after 5 s. Returns the groups stopped and any that survived.
 */
export async function stopAllTvlProcesses(stateDir = TARGET_STATE_DIR): Promise<{ stopped: number[]; survivors: number[] }> {
  if (!existsSync(stateDir)) return { stopped: [], survivors: [] };
  const groups: number[] = [];
  for (const f of readdirSync(stateDir).filter((x) => x.endsWith('.pid'))) {
    const rec = readPidFile(path.join(stateDir, f));
    if (rec && groupAlive(rec.pgid)) groups.push(rec.pgid);
    rmSync(path.join(stateDir, f), { force: true });
  }
  await Promise.all(groups.map((g) => stopGroup(g)));
  return { stopped: groups, survivors: groups.filter(groupAlive) };
}
