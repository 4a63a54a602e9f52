/**
 * The rig pool around the lease stores: the inventory (rigs.yaml) and its errors, label matching,
 * a worker per matching rig (fixtures/rig-lease.ts) with the run told clearly when there are too
 * few, and the `rig leases` / `rig release --force` commands (run from dist/ in a child process).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';
import { RigError } from '../errors.js';
import { matchRigs, parseInventory, parseLabels } from '../rig/pool/inventory.js';
import { LocalLeaseStore } from '../rig/pool/local-store.js';
import { leaseRigForWorker } from '../../fixtures/rig-lease.js';

const INVENTORY = `
rigs:
  - name: lab-a-1
    url: tcp://127.0.0.1:28001
    labels: { part: TR01-C2P-T101, riscv_fw: "2.0.0", location: bench-a }
  - name: lab-a-2
    url: tls://rig-a-2.example:28002
    labels: { part: TR01-C2P-T101, riscv_fw: "2.0.0", location: bench-b }
  - name: lab-b-1
    url: tcp://127.0.0.1:28003
    labels: { part: TR01-C2S-T101, riscv_fw: 1.0.1 }
`;

const failure = (run: () => unknown): RigError => {
  try {
    run();
  } catch (e) {
    return e as RigError;
  }
  throw new Error('expected an error');
};

test('the inventory parses names, URLs and labels; label sets select rigs', () => {
  const rigs = parseInventory(INVENTORY, 'rigs.yaml');
  expect(rigs.map((r) => r.name)).toEqual(['lab-a-1', 'lab-a-2', 'lab-b-1']);
  expect(rigs[2].labels.riscv_fw).toBe('1.0.1');
  const wanted = parseLabels('part=TR01-C2P-T101, riscv_fw=2.0.0');
  expect(matchRigs(rigs, wanted).map((r) => r.name)).toEqual(['lab-a-1', 'lab-a-2']);
  expect(matchRigs(rigs, parseLabels('location=bench-b')).map((r) => r.name)).toEqual(['lab-a-2']);
  expect(matchRigs(rigs, parseLabels('')).length).toBe(3);
});

test('inventory errors name the file and the bad key', () => {
  const badUrl = failure(() => parseInventory('rigs:\n  - name: ok\n    url: tcp://h:1\n  - name: r2\n    url: http://h:1\n', '/lab/rigs.yaml'));
  expect(badUrl.code).toBe('TH_RIGS');
  expect(badUrl.message).toContain('/lab/rigs.yaml');
  expect(badUrl.message).toContain('rigs.1.url');
  const unknownKey = failure(() => parseInventory('rigs:\n  - name: r1\n    url: tcp://h:1\n    lables: {}\n', 'x.yaml'));
  expect(unknownKey.message).toContain('x.yaml');
  expect(unknownKey.message).toMatch(/rigs\.0.*lables/);
  const dup = failure(() => parseInventory('rigs:\n  - { name: r1, url: "tcp://h:1" }\n  - { name: r1, url: "tcp://h:2" }\n', 'd.yaml'));
  expect(dup.message).toContain('rigs.1.name');
  const yaml = failure(() => parseInventory('rigs: [\n', 'broken.yaml'));
  expect(yaml.message).toContain('broken.yaml is not valid YAML');
  expect(failure(() => parseLabels('part')).message).toContain('"part" is not key=value');
});

test.describe('a rig per worker', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  test.beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'h5b-pool-'));
    writeFileSync(path.join(dir, 'rigs.yaml'), INVENTORY);
    env = {
      TROPIC_RIGS: path.join(dir, 'rigs.yaml'),
      TROPIC_RIG_LABELS: 'part=TR01-C2P-T101',
      TROPIC_LEASE_STORE: 'local',
      TROPIC_LEASE_DIR: path.join(dir, 'leases'),
      TROPIC_LEASE_TTL_MS: '5000',
      TROPIC_LEASE_WAIT_MS: '1200',
      TROPIC_RUN_ID: 'pool-test',
    };
  });
  test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('workers lease distinct matching rigs; a worker beyond them waits, then fails naming labels, rigs and holders', async () => {
    const cfg = { TROPIC_TARGET: 'rig' as const };
    const w0 = await leaseRigForWorker(cfg, 0, env);
    const w1 = await leaseRigForWorker(cfg, 1, env);
    try {
      expect(new Set([w0.name, w1.name])).toEqual(new Set(['lab-a-1', 'lab-a-2']));
      expect([w0.url, w1.url]).toContain('tcp://127.0.0.1:28001');
      const err = (await leaseRigForWorker(cfg, 2, env).then(() => undefined, (e: unknown) => e)) as RigError;
      expect(err).toBeInstanceOf(RigError);
      expect(err.code).toBe('TH_LEASE_TIMEOUT');
      expect(err.message).toContain('worker 2 waited 1200 ms');
      expect(err.message).toContain('part=TR01-C2P-T101');
      expect(err.message).toContain('2 rigs match (lab-a-1, lab-a-2)');
      expect(err.message).toContain('run pool-test/worker-0');
      expect(err.message).toContain('run pool-test/worker-1');
      expect(err.message).toContain('--workers=2');
      await w0.release();
      const w2 = await leaseRigForWorker(cfg, 2, env);
      expect(w2.name).toBe(w0.name);
      await w2.release();
    } finally {
      await w0.release().catch(() => undefined);
      await w1.release();
    }
  });

  test('labels no rig has fail at once, listing the inventory', async () => {
    const err = (await leaseRigForWorker({ TROPIC_TARGET: 'rig' }, 0, { ...env, TROPIC_RIG_LABELS: 'part=TR02' }).then(() => undefined, (e: unknown) => e)) as RigError;
    expect(err.code).toBe('TH_RIGS');
    expect(err.message).toContain('TROPIC_RIG_LABELS="part=TR02"');
    expect(err.message).toContain('lab-b-1 {part=TR01-C2S-T101, riscv_fw=1.0.1}');
  });

  test('`rig leases` shows who holds what; `rig release --force` frees it and the holder loses it', async () => {
    const cli = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'rig-pool-commands.js');
    expect(existsSync(cli), 'run `npm run build` first').toBe(true);
    const script = path.join(dir, 'rig-cli.mjs');
    writeFileSync(
      script,
      `const { Command } = await import(${JSON.stringify(pathToFileURL(path.join(PROJECT_ROOT, 'node_modules', 'commander', 'esm.mjs')).href)});\nconst { registerRigPoolCommands } = await import(${JSON.stringify(pathToFileURL(cli).href)});\n` +
        `const p = new Command('tropic-harness'); registerRigPoolCommands(p.command('rig'));\n` +
        `p.parseAsync(process.argv).catch((e) => { process.stderr.write(e.message + '\\n'); process.exit(1); });\n`,
    );
    const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
    const w0 = await leaseRigForWorker({ TROPIC_TARGET: 'rig' }, 0, env);
    try {
      const listed = run('rig', 'leases');
      expect(listed.status, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/^RIG\s+HOLDER\s+SINCE\s+EXPIRES IN/m);
      expect(listed.stdout).toContain(w0.name);
      expect(listed.stdout).toContain(`${os.hostname()} pid ${process.pid} run pool-test/worker-0`);
      expect(listed.stdout).toMatch(/\d+\.\d s/);

      const refused = run('rig', 'release', w0.name);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('add --force');

      const forced = run('rig', 'release', '--force', w0.name);
      expect(forced.status, forced.stderr).toBe(0);
      expect(forced.stdout).toContain(`released ${w0.name} (was held by`);
      expect(run('rig', 'leases').stdout).toContain('no rig is leased');
      await expect.poll(() => w0.lost()?.code, { timeout: 10_000 }).toBe('TH_LEASE_LOST');
      expect((await new LocalLeaseStore(env.TROPIC_LEASE_DIR!).list()).length).toBe(0);
    } finally {
      await w0.release();
    }
  });
});
