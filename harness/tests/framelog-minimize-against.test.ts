/**
 * `framelog minimize --until differs --against embedded`: a log recorded on a model configured to
 * misbehave (the `faults:` key plants INVALID_KEY on ECC_Key_Read of slot 2) is minimized, by the
 * built CLI, to the few commands that still differ between that target and a clean embedded model.
 * The minimal log is far shorter, still shows the difference (semantic replay matches on the
 * misbehaving target and diverges on the clean one), and its generated spec passes on the
 * misbehaving target and fails on the clean one.
 */
import { test, expect } from '@playwright/test';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG_DIR, PACKAGE_ROOT } from '../paths.js';
import { parseFrameLog, type ParsedFrameLog } from '../framelog/frame-log.js';
import { operationsFromAnnotations, type Operation, type Outcome } from '../framelog/operations.js';
import { runOnFreshTarget } from '../framelog/reproduce.js';
import { deriveSeeds } from '../framelog/seeds.js';
import { runChild } from './run-child.js';
import { PAIRING_KEY, cli, op, type CliRun } from './framelog-helpers.js';

/** A session's worth of traffic; only generating a key in slot 2 and reading it back meets the planted fault. */
const OPS: Operation[] = [
  op('l2', 'chipId'),
  op('l2', 'riscvFwVersion'),
  op('l2', 'startSecureSession', { slot: 0 }),
  op('l3', 'ping', { length: 16 }),
  op('l3', 'random', { count: 8 }),
  op('l3', 'eccKeyGenerate', { slot: 1, curve: 'P256' }),
  op('l3', 'eccKeyRead', { slot: 1 }),
  op('l3', 'memDataWrite', { length: 32, slot: 0 }),
  op('l3', 'memDataRead', { slot: 0 }),
  op('l3', 'eccKeyGenerate', { slot: 2, curve: 'ED25519' }),
  op('l3', 'ping', { length: 64 }),
  op('l3', 'eccKeyRead', { slot: 3 }),
  op('l3', 'random', { count: 4 }),
  op('l3', 'eccKeyRead', { slot: 2 }),
  op('l3', 'memDataErase', { slot: 0 }),
  op('l3', 'eccKeyErase', { slot: 1 }),
  op('l3', 'ping', { length: 8 }),
  op('l2', 'spectFwVersion'),
  op('l3', 'random', { count: 16 }),
  op('l3', 'ping', { length: 128 }),
  op('l3', 'eccKeyRead', { slot: 3 }),
];

test.describe.serial('minimize --until differs --against embedded', () => {
  let dir = '';
  let faulty = '';
  let original: ParsedFrameLog;
  let recorded: Outcome[] = [];
  let minLog = '';
  let minSpec = '';
  let min: CliRun;

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    mkdirSync(path.join(PACKAGE_ROOT, 'reports'), { recursive: true });
    // Under the project, so the generated spec's imports of fixtures/ resolve.
    dir = mkdtempSync(path.join(PACKAGE_ROOT, 'reports', '.tmp-h9-minimize-'));
    // The default configuration (its key and certificate files next to it) with a planted bug.
    cpSync(DEFAULT_CONFIG_DIR, path.join(dir, 'faulty-config'), { recursive: true });
    faulty = path.join(dir, 'faulty-config', 'tropic01-model.yml');
    appendFileSync(faulty, '\nfaults:\n  resultOverride: { command: ECC_KEY_READ, slot: 2, result: INVALID_KEY }\n');
    const file = path.join(dir, 'faulty.frame-log.jsonl');
    recorded = await runOnFreshTarget(OPS, 'embedded', { pairingKey: PAIRING_KEY, modelConfig: faulty, seeds: deriveSeeds('minimize-against'), recordTo: file, header: { test: 'a session on a model that misbehaves' } });
    original = parseFrameLog(readFileSync(file, 'utf8'), { file });
    minLog = path.join(dir, 'minimal.frame-log.jsonl');
    minSpec = path.join(dir, 'minimal.spec.ts');
    min = await cli(['minimize', file, '--target', 'embedded', '--model-config', faulty, '--against', 'embedded', '--until', 'differs', '--out-log', minLog, '--out-spec', minSpec]);
  });

  test.afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the recorded log differs from a clean model on exactly the planted command', async () => {
    const clean = await runOnFreshTarget(OPS, 'embedded', { pairingKey: PAIRING_KEY, seeds: deriveSeeds('minimize-against') });
    const differing = OPS.map((o, i) => ({ o, i })).filter(({ i }) => recorded[i].result !== clean[i].result).map(({ o, i }) => `${o.method}(${JSON.stringify(o.args)}): ${recorded[i].result} vs ${clean[i].result}`);
    expect(differing).toEqual(['eccKeyRead({"slot":2}): INVALID_KEY vs OK']);
    // Every operation is in the log (memDataWrite's User Data slot size lookup shows as a riscvFwVersion of its own).
    expect(operationsFromAnnotations(original.annotations).map((o) => o.method)).toEqual(expect.arrayContaining(OPS.map((o) => o.method)));
  });

  test('minimize finds the two commands that still differ, and the minimal log has far fewer entries', () => {
    expect(min.code, min.stdout + min.stderr).toBe(0);
    expect(min.stdout).toContain(`minimal: 2 of ${operationsFromAnnotations(original.annotations).length} operations`);
    expect(min.stdout).toMatch(/\n {2}eccKeyRead\(slot=2\) → INVALID_KEY \(0 B\)\nthe same on --against embedded:\n {2}eccKeyGenerate\(slot=2, curve=ED25519\) → OK \(0 B\)\n {2}eccKeyRead\(slot=2\) → OK \(\d+ B\)/);
    const log = parseFrameLog(readFileSync(minLog, 'utf8'), { file: minLog });
    expect(operationsFromAnnotations(log.annotations)).toEqual([
      { layer: 'l2', method: 'startSecureSession', args: { slot: 0 }, expect: { result: 'OK' } },
      { layer: 'l3', method: 'eccKeyGenerate', args: { slot: 2, curve: 'ED25519' }, expect: { result: 'OK', length: 0 } },
      { layer: 'l3', method: 'eccKeyRead', args: { slot: 2 }, expect: { result: 'INVALID_KEY', length: 0 } },
    ]);
    expect(log.entries.length * 2, `${log.entries.length} of ${original.entries.length} entries`).toBeLessThan(original.entries.length);
  });

  test('the minimal log still reproduces the difference: semantic replay matches on the misbehaving model and diverges on a clean one', async () => {
    const onFaulty = await cli(['replay', minLog, '--semantic', '--target', 'embedded', '--model-config', faulty]);
    expect(onFaulty.code, onFaulty.stdout + onFaulty.stderr).toBe(0);
    expect(onFaulty.stdout).toContain('operations 3, matched 3, diverged 0');
    const onClean = await cli(['replay', minLog, '--semantic', '--target', 'embedded']);
    expect(onClean.code, onClean.stdout + onClean.stderr).toBe(1);
    expect(onClean.stdout).toContain('operations 3, matched 2, diverged 1');
    expect(onClean.stdout).toMatch(/op 3 eccKeyRead\(slot=2\) → INVALID_KEY \(0 B\): got OK/);
  });

  test('its generated spec passes on the misbehaving model and fails on the clean embedded model', async () => {
    test.setTimeout(240_000);
    const spec = readFileSync(minSpec, 'utf8');
    expect(spec).toContain(`await expect(tropic.eccKeyRead(2)).rejects.toMatchObject({ resultName: 'INVALID_KEY' });`);
    writeFileSync(path.join(dir, 'pw.config.ts'), `import { defineConfig } from '@playwright/test';\nexport default defineConfig({ testDir: '.', testMatch: /minimal\\.spec\\.ts$/, reporter: 'line' });\n`);
    const runSpec = (modelConfig?: string) => {
      const env: NodeJS.ProcessEnv = { ...process.env, TROPIC_TARGET: 'embedded', CI: '' };
      delete env.TROPIC_MODEL_CONFIG;
      if (modelConfig) env.TROPIC_MODEL_CONFIG = modelConfig;
      return runChild('npx', ['playwright', 'test', '-c', path.join(dir, 'pw.config.ts'), '--output', path.join(dir, `out-${modelConfig ? 'faulty' : 'clean'}`)], env);
    };
    const onFaulty = await runSpec(faulty);
    expect(onFaulty.code, onFaulty.out).toBe(0);
    expect(onFaulty.out).toContain('1 passed');
    const onClean = await runSpec();
    expect(onClean.code, onClean.out).toBe(1);
    expect(onClean.out).toContain('1 failed');
    // It fails where the targets differ: the read of slot 2 answers instead of rejecting.
    const failure = onClean.out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), ''); // colour codes
    expect(failure).toMatch(/Received promise resolved instead of rejected/);
    expect(failure).toMatch(/> *\d+ \| +await expect\(tropic\.eccKeyRead\(2\)\)\.rejects/);
  });
});
