/**
 * The whole spec suite through the DevKit bridge, for both DevKit firmwares: `rig emulate` (the
 * emulated DevKit on a socat pty pair, in front of the embedded model) and `rig serve` on it run as
 * child processes; a child Playwright run (one worker: one rig is one chip) targets the bridge as a
 * rig. Nothing fails, every @irreversible spec is refused, the other specs pass (or skip for a
 * stated reason), the frames really went through the bridge, and nothing is left running.
 * Needs `npm run build` (the children run dist/).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { runPlaywright, type NestedResult } from './reversible-run.js';
import { portIn, startCli, stopAndExpectNothingLeft, type CliChild } from './rig-child.js';

const specsOnly = (rs: NestedResult[]): NestedResult[] => rs.filter((r) => r.file.startsWith('specs/') || r.file.includes('/specs/'));
const firstLine = (s?: string): string => (s ?? '').split('\n')[0];

for (const firmware of ['legacy', 'proto'] as const) {
  test(`the spec suite through rig serve on an emulated ${firmware}-firmware DevKit (socat pty, embedded model) passes, refuses every @irreversible spec and leaves nothing running`, async () => {
    test.setTimeout(900_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), `h10-devkit-${firmware}-`));
    const ptyDir = path.join(dir, 'pty');
    const children: CliChild[] = [];
    try {
      const emulator = await startCli(['rig', 'emulate', '--protocol', firmware, '--pty-dir', ptyDir]);
      children.push(emulator);
      const emulated = JSON.parse(emulator.firstLine) as { bridgeSerial: string };
      expect(emulated.bridgeSerial).toBe(path.join(ptyDir, 'devkit'));
      // info level: the bridge prints its frame statistics when it stops
      const bridge = await startCli(['rig', 'serve', '--serial', emulated.bridgeSerial, '-p', '0', '--log-level', 'info']);
      children.push(bridge);
      const served = JSON.parse(bridge.firstLine) as { listening: string; firmware: string };
      expect(served.firmware, 'the bridge detected the emulated firmware').toBe(firmware);

      const t0 = performance.now();
      const run = await test.step('the spec suite through the bridge', () =>
        runPlaywright(['--project=specs', '--workers=1'], { TROPIC_TARGET: 'rig', TROPIC_RIG: `tcp://127.0.0.1:${portIn(served.listening)}`, TROPIC_ALLOW_IRREVERSIBLE: '0' }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const specs = specsOnly(run.results);
      const passed = specs.filter((r) => r.status === 'passed');
      const irreversible = specs.filter((r) => r.tags.includes('@irreversible'));
      const others = specs.filter((r) => !r.tags.includes('@irreversible'));
      const otherSkips = others.filter((r) => r.status === 'skipped');
      const figures = `${firmware}: ${passed.length} passed, ${specs.length - passed.length} skipped of ${specs.length} specs in ${seconds.toFixed(1)} s`;
      test.info().annotations.push({ type: 'run', description: figures });
      console.log(figures);

      const failed = specs.filter((r) => r.status !== 'passed' && r.status !== 'skipped');
      expect(failed.map((r) => `${r.title}: ${firstLine(r.error)}`), 'no spec fails through the bridge').toEqual([]);
      expect(run.exitCode, `the child run exits 0; stderr:\n${run.stderr.slice(-2000)}`).toBe(0);

      expect(irreversible.length, 'the suite has @irreversible specs to refuse').toBeGreaterThan(0);
      for (const r of irreversible) {
        expect(r.status, r.title).toBe('skipped');
        expect(r.annotations.some((a) => a.type === 'refused'), `${r.title}: marked refused`).toBe(true);
        expect(r.annotations.find((a) => a.type === 'skip')?.description ?? '', `${r.title}: the skip gives the refusal`).toMatch(/^refused: @irreversible spec on a rig/);
      }
      // The rest ran: each spec not run says why (e.g. a model-only behaviour), and they are few.
      for (const r of otherSkips) expect(r.annotations.some((a) => a.type === 'skip' && !!a.description), `${r.title} was skipped without a reason`).toBe(true);
      expect(passed.length, `passed vs non-irreversible specs; skipped:\n${otherSkips.map((r) => r.title).join('\n')}`).toBeGreaterThanOrEqual(Math.ceil(others.length * 0.9));
      expect(passed.length + otherSkips.length).toBe(others.length);

      // Stopped cleanly; the bridge's statistics prove the frames went through it, none refused.
      expect(await bridge.stop(), `rig serve exit; stderr:\n${bridge.stderr().slice(-2000)}`).toBe(0);
      const stats = JSON.parse(/stats (\{.*\})/.exec(bridge.stderr())?.[1] ?? '{}') as { frames?: number; connections?: number; devkitOpens?: number };
      expect(stats.frames ?? 0, 'tagged messages served by the bridge').toBeGreaterThan(passed.length);
      expect(stats.connections ?? 0).toBeGreaterThanOrEqual(passed.length);
      expect(stats.devkitOpens, 'the DevKit was opened once: never lost during the run').toBe(1);
      expect(await emulator.stop(), `rig emulate exit; stderr:\n${emulator.stderr().slice(-2000)}`).toBe(0);
    } finally {
      // Nothing left: no emulator, bridge or socat mentioning this test's folder, no pty links.
      await stopAndExpectNothingLeft(children, dir, ptyDir);
    }
  });
}
