/**
 * What a nightly reader gets when something dies mid-run, read from the run's Allure results:
 * - a tvl-process target (this project's model server with ts-tvl's command line) killed with
 *   SIGKILL by a spec: that test fails with a typed target/transport error, its frame log and the
 *   target's log are attached, the rest of the run skips at once (one failure, not one per test);
 * - the Playwright worker killed with SIGKILL by its own spec: that test fails with TH_WORKER_LOST
 *   and the frame log up to the kill plus the target's log attached; the target outlives the
 *   worker, so the tests after it run and pass.
 * Both: one Allure result per started test (none lost, each a finished result), and no process
 * left (pid files under the run's reports/.targets, `ps`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';
import { groupAlive } from '../targets/tvl-process.js';
import { expectAttachments, expectResultsComplete, harnessConfigFile, plantWorkspace, removeWorkspace, runChildPlaywright } from './target-killed-run.js';
import { freePort } from './transport-loopback.js';

const MODEL_SERVER = `"${process.execPath}" "${path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'model-server.js')}" tcp`;
/** No process of the run is left: no live pid-file group, no model server on the run's port in `ps`. */
function expectNoProcessLeft(workspace: string, port: number): void {
  const stateDir = path.join(workspace, 'reports', '.targets');
  const pidFiles = existsSync(stateDir) ? readdirSync(stateDir).filter((f) => f.endsWith('.pid')) : [];
  const alive = pidFiles.map((f) => (JSON.parse(readFileSync(path.join(stateDir, f), 'utf8')) as { pgid: number }).pgid).filter(groupAlive);
  expect(alive, 'live process groups named by pid files').toEqual([]);
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  expect(ps.split('\n').filter((l) => l.includes('model-server.js') && l.includes(`--port ${port}`))).toEqual([]);
}

const killTargetSpec = `import { test, expect } from '@root/fixtures/index.js';
test('the target answers before the kill @reversible', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
});
test('the target is killed mid-test @reversible', async ({ tropic, target }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
  process.kill(-target.pid, 'SIGKILL');
  await tropic.chipId();
});
for (let i = 1; i <= 6; i++) test('a later test ' + i + ' @reversible', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
});
`;

const killWorkerSpec = `import { test, expect } from '@root/fixtures/index.js';
test('the target answers before the kill @reversible', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
});
test('the worker is killed mid-test @reversible', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
  process.kill(process.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 30_000));
});
for (let i = 1; i <= 3; i++) test('a later test ' + i + ' @reversible', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
});
`;

test.describe.configure({ timeout: 180_000 });

test('a tvl-process target killed mid-test: a typed target error, frame and target logs in Allure, the rest skipped, no result lost, no process left', async () => {
  const port = await freePort();
  const workspace = plantWorkspace('h11-target-killed-', { 'playwright.config.ts': harnessConfigFile, 'killed.spec.ts': killTargetSpec });
  try {
    const run = await runChildPlaywright(workspace, { TROPIC_TARGET: 'tvl-process', TVL_COMMAND: MODEL_SERVER, TVL_PORT_BASE: String(port - 1) });
    expect(run.exitCode, run.output).not.toBe(0);
    const killed = run.started.find((t) => t.title === 'the target is killed mid-test @reversible');
    expect(killed?.status, run.output).toBe('failed');
    expect(killed!.errors.join('\n')).toMatch(/TH_TARGET_LOST \[target\] target .* lost during .*the target is killed mid-test.*process group \d+ (is gone|no longer listens)/);
    expect(killed!.errors.join('\n')).toMatch(/TH_TCP_\w+ \[transport\]/);
    expectAttachments(run, 'the target is killed mid-test @reversible', 'tvl-process-log.txt');
    expect(run.allure.find((r) => r.name === 'the target is killed mid-test @reversible')!.message).toMatch(/TH_(TARGET_LOST|TCP_\w+)/);

    // The run stopped after the loss: every later test skipped with the loss as its reason, none failed.
    const later = run.started.filter((t) => t.title.startsWith('a later test'));
    expect(later).toHaveLength(6);
    for (const t of later) {
      expect(t.status, t.title).toBe('skipped');
      expect(t.annotations.find((a) => a.type === 'skip')?.description).toMatch(/^target lost: /);
    }
    expect(run.started.filter((t) => t.status === 'failed' && t.project === 'specs')).toHaveLength(1);
    expectResultsComplete(run);
    expectNoProcessLeft(workspace, port);
  } finally {
    removeWorkspace(workspace);
  }
});

test('a worker killed mid-test: TH_WORKER_LOST with the frame log up to the kill and the target log in Allure, later tests pass, no result lost, no process left', async () => {
  const port = await freePort();
  const workspace = plantWorkspace('h11-worker-killed-', { 'playwright.config.ts': harnessConfigFile, 'killed.spec.ts': killWorkerSpec });
  try {
    const run = await runChildPlaywright(workspace, { TROPIC_TARGET: 'tvl-process', TVL_COMMAND: MODEL_SERVER, TVL_PORT_BASE: String(port - 1) });
    expect(run.exitCode, run.output).not.toBe(0);
    const killed = run.started.find((t) => t.title === 'the worker is killed mid-test @reversible');
    expect(killed?.status, run.output).toBe('failed');
    expect(killed!.errors.join('\n')).toMatch(/^TH_WORKER_LOST \[target\] the Playwright worker running .*the worker is killed mid-test.* died mid-test \(worker process exited unexpectedly \(code=null, signal=SIGKILL\)\)/);
    expectAttachments(run, 'the worker is killed mid-test @reversible', 'tvl-process-log.txt');
    expect(run.allure.find((r) => r.name === 'the worker is killed mid-test @reversible')!.message).toMatch(/^TH_WORKER_LOST/);

    // The target outlived the worker: the next worker of the slot reused it and the rest passed.
    const later = run.started.filter((t) => t.title.startsWith('a later test'));
    expect(later.map((t) => t.status)).toEqual(['passed', 'passed', 'passed']);
    expect(run.started.find((t) => t.title === 'target teardown')?.status).toBe('passed');
    expectResultsComplete(run);
    expectNoProcessLeft(workspace, port);
  } finally {
    removeWorkspace(workspace);
  }
});
