/**
 * A rig that drops mid-run: the spec suite runs (child Playwright, one worker, the project's own
 * reporters writing into a private folder) through `rig serve` on an emulated DevKit, and the
 * bridge process is killed (SIGKILL) once the run is under way. The test that meets the drop fails
 * with a typed transport/target error naming the rig; the run stops there (every later spec is
 * skipped as "target lost", naming that test; the teardown fails once with TH_TARGET_LOST); every
 * result file the reporters wrote is complete; nothing is left running.
 * Needs `npm run build` (the children run dist/).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';
import { portIn, startCli, stopAndExpectNothingLeft, type CliChild } from './rig-child.js';

interface AllureResult {
  name: string;
  fullName?: string;
  status: string;
  statusDetails?: { message?: string; trace?: string };
  start: number;
  stop: number;
  labels: { name: string; value: string }[];
}

const CONNECTIONS_BEFORE_DROP = 15;

test('a rig dropped mid-run (rig serve killed): the test that met it fails with a transport/target error, the run stops there, every result file is complete, nothing is left running', async () => {
  test.setTimeout(600_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h10-drop-'));
  const ptyDir = path.join(dir, 'pty');
  const reports = path.join(dir, 'reports');
  const children: CliChild[] = [];
  try {
    const emulator = await startCli(['rig', 'emulate', '--protocol', 'proto', '--pty-dir', ptyDir]);
    children.push(emulator);
    const bridge = await startCli(['rig', 'serve', '--serial', path.join(ptyDir, 'devkit'), '-p', '0', '--log-level', 'info']);
    children.push(bridge);
    const rigUrl = `tcp://127.0.0.1:${portIn((JSON.parse(bridge.firstLine) as { listening: string }).listening)}`;

    const run = spawn('npx', ['playwright', 'test', '--project=specs', '--workers=1', `--output=${path.join(dir, 'results')}`], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CI: '', TROPIC_QUIET_PROJECTS: '1', TROPIC_TARGET: 'rig', TROPIC_RIG: rigUrl, TROPIC_ALLOW_IRREVERSIBLE: '0', TROPIC_ALLURE_RESULTS: path.join(reports, 'allure-results') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let runOutput = '';
    run.stdout.on('data', (d: Buffer) => (runOutput += d.toString()));
    run.stderr.on('data', (d: Buffer) => (runOutput += d.toString()));
    const runExit = new Promise<number | null>((resolve) => run.on('close', resolve));

    // The drop: once the bridge has served some tests' connections, kill it as a crash would.
    const t0 = performance.now();
    let dropped = false;
    let droppedAt = 0;
    const watcher = setInterval(() => {
      if ((bridge.stderr().match(/client \S+ connected/g) ?? []).length < CONNECTIONS_BEFORE_DROP) return;
      clearInterval(watcher);
      dropped = bridge.proc.kill('SIGKILL');
      droppedAt = performance.now();
    }, 20);
    const exitCode = await runExit;
    clearInterval(watcher);
    const figures = `rig dropped ${((droppedAt - t0) / 1000).toFixed(1)} s into the run; the run ended ${((performance.now() - droppedAt) / 1000).toFixed(1)} s later`;
    test.info().annotations.push({ type: 'run', description: figures });
    console.log(figures);
    expect(dropped, `the bridge was killed while the run was under way; run output:\n${runOutput.slice(-2000)}`).toBe(true);
    expect(await bridge.exited).toBe('SIGKILL');
    expect(exitCode, 'the run fails').toBe(1);

    // Every result file is complete: each Allure result parses and is finished.
    const allureDir = path.join(reports, 'allure-results');
    const files = readdirSync(allureDir);
    const results: AllureResult[] = [];
    for (const f of files.filter((n) => n.endsWith('-result.json'))) {
      const r = JSON.parse(readFileSync(path.join(allureDir, f), 'utf8')) as AllureResult & { stage?: string };
      expect(r.stage, f).toBe('finished');
      expect(typeof r.stop, f).toBe('number');
      results.push(r);
    }
    for (const f of files.filter((n) => n.endsWith('.jsonl'))) {
      const lines = readFileSync(path.join(allureDir, f), 'utf8').split('\n').filter(Boolean);
      for (const [i, line] of lines.entries()) expect(() => JSON.parse(line) as unknown, `${f} line ${i + 1}`).not.toThrow();
    }
    for (const f of files.filter((n) => n.endsWith('.html'))) expect(readFileSync(path.join(allureDir, f), 'utf8').trimEnd(), f).toMatch(/<\/html>$/i);
    const junit = readFileSync(path.join(reports, 'junit.xml'), 'utf8');
    expect(junit.trimEnd(), 'junit.xml is complete').toMatch(/<\/testsuites>$/);
    expect((junit.match(/<testcase /g) ?? []).length, 'junit.xml has every test the Allure results have').toBe(results.length);

    // The run in order: specs passed, then exactly one failed, then every other spec skipped as "target lost".
    const project = (r: AllureResult): string | undefined => r.labels.find((l) => l.name === 'parentSuite')?.value;
    const specs = results.filter((r) => project(r) === 'specs').sort((a, b) => a.start - b.start);
    const failedAt = specs.findIndex((r) => r.status !== 'passed' && r.status !== 'skipped');
    expect(failedAt, 'a spec met the drop').toBeGreaterThan(0);
    const met = specs[failedAt];
    const message = `${met.statusDetails?.message ?? ''}\n${met.statusDetails?.trace ?? ''}`;
    expect(met.status).toBe('failed');
    expect(message, 'a typed transport or target error').toMatch(/\bTH_(TCP_[A-Z_]+|TRANSPORT|TARGET_LOST)\b/);
    expect(specs.slice(0, failedAt).filter((r) => r.status === 'passed').length, 'specs passed before the drop').toBeGreaterThan(0);
    const after = specs.slice(failedAt + 1);
    expect(after.length, 'specs were left when the rig dropped').toBeGreaterThan(0);
    const lostReason = new RegExp(`^target lost: target rig ${rigUrl.replace(/[.:/]/g, '\\$&')} lost during ".*${met.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`);
    for (const r of after) {
      expect(r.status, `${r.name}: after the drop`).toBe('skipped');
      expect(r.statusDetails?.message ?? '', `${r.name}: skipped naming the loss`).toMatch(lostReason);
    }
    const teardown = results.find((r) => project(r) === 'specs teardown');
    expect(teardown?.status).toBe('failed');
    expect(teardown?.statusDetails?.message ?? '').toContain('TH_TARGET_LOST');

    expect(await emulator.stop(), 'the emulator outlives the bridge and stops cleanly').toBe(0);
  } finally {
    // Nothing left: no emulator, bridge or socat mentioning this test's folder, no pty links.
    await stopAndExpectNothingLeft(children, dir, ptyDir);
  }
});
