/**
 * The tvl-process target with real processes: this project's `model-server.js tcp` (ts-tvl's
 * command line) stands in for ts-tvl, started through a wrapper script where a test needs a
 * process group with more than one process. Each test has its own state folder and ephemeral port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { startTvlProcess, stopAllTvlProcesses, groupAlive } from '../targets/tvl-process.js';
import { listeners } from '../targets/port-owner.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { PROJECT_ROOT, WORKSPACE_ROOT } from '../paths.js';
import { freePort } from './transport-loopback.js';

const MODEL_SERVER = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'model-server.js');
let dir: string;

test.beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'h3-tvl-process-'));
});
test.afterEach(async () => {
  await stopAllTvlProcesses(dir);
  rmSync(dir, { recursive: true, force: true });
});

/** An ephemeral port that is free now. */

/** A script that runs the model server as its child (no exec): a group of two processes. */
function wrapperScript(): string {
  const file = path.join(dir, 'tvl-wrapper.sh');
  writeFileSync(file, `#!/bin/sh\n"${process.execPath}" "${MODEL_SERVER}" tcp "$@"\necho wrapper-exited\n`);
  chmodSync(file, 0o755);
  return file;
}

const options = (port: number, argv: string[]) => ({ command: argv.join(' '), argv, port, startupTimeoutMs: 15_000, stateDir: dir });

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pidGone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

test('the leader killed with SIGKILL: teardown still stops the server, and the next start is a new server of its own', async () => {
  const port = await freePort();
  const wrapper = wrapperScript();
  const first = await startTvlProcess(options(port, [wrapper]));
  const leader = first.pid!;
  const server = listeners(port)!;
  expect(server).toHaveLength(1);
  expect(server[0].pid).not.toBe(leader); // the server is the wrapper's child...
  expect(server[0].pgid).toBe(leader); // ...in the recorded group

  process.kill(leader, 'SIGKILL');
  await waitFor(() => pidGone(leader));
  expect(listeners(port)!.map((h) => h.pid)).toEqual([server[0].pid]); // the orphan still listens

  const { stopped, survivors } = await stopAllTvlProcesses(dir);
  expect(stopped).toEqual([leader]);
  expect(survivors).toEqual([]);
  expect(groupAlive(leader)).toBe(false);
  expect(listeners(port)).toEqual([]);

  const second = await startTvlProcess(options(port, [wrapper]));
  expect(second.pid).not.toBe(leader);
  expect(listeners(port)!.map((h) => h.pgid)).toEqual([second.pid]);
  const t = await TcpTransport.connect({ host: second.host, port: second.port });
  await t.csnHigh();
  await t.close();
});

test('a stale pid file and a server the pid file does not know: the start refuses with the port and its holder', async () => {
  const port = await freePort();
  // What a crashed run leaves: a pid file of a process that is gone, and a server that is not ours.
  const gone = spawn('true');
  await new Promise((r) => gone.once('exit', r));
  writeFileSync(path.join(dir, `tvl-process-${port}.pid`), JSON.stringify({ pgid: gone.pid, command: 'old' }));
  const foreign: ChildProcess = spawn(process.execPath, [MODEL_SERVER, 'tcp', '--port', String(port)], { stdio: 'ignore' });
  try {
    await waitFor(() => (listeners(port) ?? []).length > 0, 10_000);
    const err = await startTvlProcess(options(port, [process.execPath, MODEL_SERVER, 'tcp'])).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('TH_TARGET_PORT_BUSY');
    expect(err?.message).toContain(`port ${port}`);
    expect(err?.message).toContain(`pid ${foreign.pid}`);
    expect(foreign.exitCode).toBeNull(); // the foreign server was not touched
  } finally {
    foreign.kill('SIGKILL');
  }
});

test('a command that does not exist: the error is its own "not found" output, not a refused connection', async () => {
  const port = await freePort();
  const err = await startTvlProcess(options(port, ['no-such-tvl-server-h3', 'tcp'])).then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  expect(err?.code).toBe('TH_TARGET_EXITED');
  expect(err?.message).toMatch(/no-such-tvl-server-h3: not found/);
  expect(err?.message).toContain('exited with code 127');
  expect(err?.message).not.toMatch(/ECONNREFUSED/);
});

test('a server that exits while starting: its own last log lines are the error', async () => {
  const port = await freePort();
  const err = await startTvlProcess({ ...options(port, [process.execPath, MODEL_SERVER, 'tcp']), configFile: path.join(dir, 'missing-config.yml') }).then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  expect(err?.code).toBe('TH_TARGET_EXITED');
  expect(err?.message).toContain('exited with code 1 while starting');
  expect(err?.message).toMatch(/cannot read model configuration .*missing-config\.yml/);
  expect(listeners(port)).toEqual([]);
});

test('a relative command is taken from the project root, and an earlier worker\'s server of the slot is reused', async () => {
  const port = await freePort();
  const relative = path.relative(WORKSPACE_ROOT, wrapperScript());
  expect(path.isAbsolute(relative)).toBe(false);
  const first = await startTvlProcess(options(port, [relative]));
  expect(listeners(port)!.map((h) => h.pgid)).toEqual([first.pid]);
  const again = await startTvlProcess(options(port, [relative]));
  expect(again.pid).toBe(first.pid);
  expect(await again.health!()).toBeUndefined();
  await stopAllTvlProcesses(dir);
  expect(await again.health!()).toMatch(new RegExp(`process group ${first.pid} is gone`));
});
