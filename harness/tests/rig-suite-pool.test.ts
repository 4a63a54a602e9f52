/**
 * The rig pool in a real run: an inventory (rigs.yaml) of two `model serve` child processes, each
 * standing in for a rig (never reset: the rig target sends no RESET_TARGET), TROPIC_RIGS pointing at
 * it and the local lease store in a private folder. A child Playwright run of the spec suite with
 * two workers: each worker leases a rig for its life, which the run records on every test (the
 * Allure label `rig`). With labels that only one rig carries, the second worker waits
 * TROPIC_LEASE_WAIT_MS and then fails with the too-few-rigs message naming the holder, as
 * fixtures/rig-lease.ts documents. After either run no lease is held (`rig leases`).
 * Needs `npm run build` (the children run dist/).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { runPlaywright, type NestedResult } from './reversible-run.js';
import { runChild } from './run-child.js';
import { CLI, portIn, startCli, type CliChild } from './rig-child.js';

const specsOnly = (rs: NestedResult[]): NestedResult[] => rs.filter((r) => r.file.startsWith('specs/') || r.file.includes('/specs/'));
const firstLine = (s?: string): string => (s ?? '').split('\n')[0];
const rigOf = (r: NestedResult): string | undefined => r.labels.find((l) => l.name === 'rig')?.value;

let dir: string;
let rigs: CliChild[];
let pool: Record<string, string>;

test.beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'h10-pool-'));
  rigs = [];
  for (let i = 0; i < 2; i++) rigs.push(await startCli(['model', 'serve', '-p', '0', '--log-level', 'info']));
  const inventory = path.join(dir, 'rigs.yaml');
  writeFileSync(
    inventory,
    `rigs:\n` +
      `  - name: bench-a\n    url: tcp://127.0.0.1:${portIn(rigs[0].firstLine)}\n    labels: { part: tr01, bench: a }\n` +
      `  - name: bench-b\n    url: tcp://127.0.0.1:${portIn(rigs[1].firstLine)}\n    labels: { part: tr01, bench: b }\n`,
  );
  pool = { TROPIC_TARGET: 'rig', TROPIC_RIGS: inventory, TROPIC_LEASE_STORE: 'local', TROPIC_LEASE_DIR: path.join(dir, 'leases'), TROPIC_ALLOW_IRREVERSIBLE: '0' };
});

test.afterEach(async () => {
  const exits = [];
  for (const r of rigs) exits.push(await r.stop());
  rmSync(dir, { recursive: true, force: true });
  expect.soft(exits, 'both rigs (model servers) stopped cleanly').toEqual([0, 0]);
});

/** `rig leases --json` on the run's lease folder. */
async function leasesHeld(): Promise<unknown[]> {
  const r = await runChild(process.execPath, [CLI, 'rig', 'leases', '--store', 'local', '--lease-dir', pool.TROPIC_LEASE_DIR, '--json']);
  expect(r.code, r.out).toBe(0);
  return JSON.parse(r.out) as unknown[];
}

/** Per worker, the rigs its tests ran on (tests that reached the target carry the `rig` label). */
function rigsByWorker(specs: NestedResult[]): Map<number, Set<string>> {
  const byWorker = new Map<number, Set<string>>();
  for (const r of specs) {
    const rig = rigOf(r);
    if (rig === undefined || r.workerIndex === undefined) continue;
    byWorker.set(r.workerIndex, (byWorker.get(r.workerIndex) ?? new Set()).add(rig));
  }
  return byWorker;
}

test('a pool of two rigs and two workers: the spec suite passes, each worker leases a rig of its own, and no lease is held afterwards', async () => {
  test.setTimeout(600_000);
  const t0 = performance.now();
  const run = await runPlaywright(['--project=specs', '--workers=2'], pool);
  const seconds = (performance.now() - t0) / 1000;
  const specs = specsOnly(run.results);
  const passed = specs.filter((r) => r.status === 'passed');
  const figures = `${passed.length} passed, ${specs.length - passed.length} skipped of ${specs.length} specs in ${seconds.toFixed(1)} s`;
  test.info().annotations.push({ type: 'run', description: figures });
  console.log(figures);

  const failed = specs.filter((r) => r.status !== 'passed' && r.status !== 'skipped');
  expect(failed.map((r) => `${r.title}: ${firstLine(r.error)}`), 'no spec fails').toEqual([]);
  expect(run.exitCode, `the child run exits 0; stderr:\n${run.stderr.slice(-2000)}`).toBe(0);
  expect(passed.length).toBeGreaterThanOrEqual(Math.ceil(specs.filter((r) => !r.tags.includes('@irreversible')).length * 0.9));

  // Every test that ran on a rig says which; each worker kept one rig, and the two workers had different ones.
  for (const r of passed) expect(['bench-a', 'bench-b'], `${r.title}: rig label`).toContain(rigOf(r));
  const byWorker = rigsByWorker(specs);
  expect(byWorker.size, 'two spec workers ran (none replaced: nothing failed)').toBe(2);
  for (const [worker, leased] of byWorker) expect([...leased], `worker ${worker} kept one rig`).toHaveLength(1);
  expect(new Set([...byWorker.values()].map((s) => [...s][0])), 'the workers leased distinct rigs').toEqual(new Set(['bench-a', 'bench-b']));

  // The rigs' own logs: both carried traffic, neither was reset.
  for (const [i, rig] of rigs.entries()) {
    expect(rig.stderr(), `rig ${i} served clients`).toMatch(/client .* connected/);
    expect(rig.stderr(), `rig ${i} was never reset`).not.toContain('chip rebuilt');
  }
  expect(await leasesHeld(), 'no lease is held after the run').toEqual([]);
});

test('labels only one rig carries, two workers: the second worker waits TROPIC_LEASE_WAIT_MS, then fails with the too-few-rigs message naming the holder; the rest pass on that rig', async () => {
  test.setTimeout(300_000);
  // The whole suite, so the worker holding the one rig is still at work when the other's wait runs
  // out (a file or two take less than the wait). Not --repeat-each: each repeat needs workers of its own.
  const run = await runPlaywright(['--project=specs', '--workers=2'], { ...pool, TROPIC_RIG_LABELS: 'bench=b', TROPIC_LEASE_WAIT_MS: '3000' });
  const specs = specsOnly(run.results);
  const passed = specs.filter((r) => r.status === 'passed');
  const failed = specs.filter((r) => r.status !== 'passed' && r.status !== 'skipped');

  expect(run.exitCode, 'the run fails: a worker got no rig').not.toBe(0);
  expect(failed.length, 'the second worker met the wait bound').toBeGreaterThan(0);
  for (const r of failed) {
    expect(r.error, r.title).toContain('TH_LEASE_TIMEOUT');
    expect(r.error, r.title).toContain('waited 3000 ms for a rig matching bench=b');
    expect(r.error, r.title).toMatch(/bench-b held by .* run playwright-\d+\/worker-\d+/);
    expect(r.error, r.title).toContain('Too few rigs for this run: use fewer workers (--workers=1)');
  }
  // The worker holding the one matching rig ran its tests on it, and only on it.
  expect(passed.length).toBeGreaterThan(0);
  for (const r of passed) expect(rigOf(r), r.title).toBe('bench-b');
  expect(rigs[0].stderr(), 'the rig without the label was never used').not.toMatch(/client .* connected/);
  expect(await leasesHeld(), 'no lease is held after the run').toEqual([]);
});

test('a lease forced away mid-run (rig release --force): the test running on the rig fails with TH_LEASE_LOST, the worker is replaced and the run goes on', async () => {
  test.setTimeout(300_000);
  const env = { ...pool, TROPIC_LEASE_TTL_MS: '2000' };
  // Enough specs that the run outlasts a lease renewal after the release (one file takes well under
  // a second). Not --repeat-each: each repeat needs a worker of its own, which would hide the replacement.
  const runDone = runPlaywright(['--project=specs', '--workers=1', 'specs/l3-commands.spec.ts', 'specs/l2-frames.spec.ts', 'specs/config-uap.spec.ts'], env);
  let finished = false;
  void runDone.finally(() => (finished = true));

  // Once the worker is at work on its rig, a person frees that rig by hand.
  const connections = (): number => rigs.reduce((n, r) => n + (r.stderr().match(/client \S+ connected/g) ?? []).length, 0);
  let forced: string | undefined;
  while (!forced && !finished) {
    await new Promise((r) => setTimeout(r, 100));
    if (connections() < 10) continue;
    const held = (await leasesHeld()) as { rig: string; holder: { runId: string } }[];
    if (held.length !== 1) continue;
    const r = await runChild(process.execPath, [CLI, 'rig', 'release', '--force', '--store', 'local', '--lease-dir', pool.TROPIC_LEASE_DIR, held[0].rig]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`^released ${held[0].rig} \\(was held by .*run ${held[0].holder.runId.replace(/[/]/g, '\\/')}`));
    forced = held[0].rig;
  }
  const run = await runDone;
  expect(forced, 'the lease was forced away while the run was under way').toBeDefined();

  const specs = specsOnly(run.results);
  const failed = specs.filter((r) => r.status !== 'passed' && r.status !== 'skipped');
  expect(failed.map((r) => r.title), 'exactly one test met the lost lease').toHaveLength(1);
  expect(failed[0].error).toContain('TH_LEASE_LOST');
  expect(failed[0].error).toContain(`lease on rig ${forced} (${pool.TROPIC_LEASE_DIR}) was lost`);
  expect(specs.filter((r) => r.status === 'passed').length, 'the rest ran on a newly leased rig').toBeGreaterThan(0);
  expect(new Set(specs.map((r) => r.workerIndex)).size, 'the worker that lost its lease was replaced').toBeGreaterThanOrEqual(2);
  expect(await leasesHeld(), 'no lease is held after the run').toEqual([]);
});
