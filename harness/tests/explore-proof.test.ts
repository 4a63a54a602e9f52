/**
 * The planted-bug proof end to end: exploration of an embedded model with a planted bug (a fault in
 * its configuration) finds and shrinks it, writes the minimal sequence as a frame log and a
 * Playwright regression spec (the frame-log codegen's, from that log), and that spec, run by Playwright against `model serve` child
 * processes as a rig (TROPIC_TARGET=rig), fails on the planted server and passes on a clean one.
 * The CLI's exit codes and summary are checked on the compiled command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { DEFAULT_CONFIG_DIR, DEFAULT_MODEL_CONFIG, PROJECT_ROOT } from '../paths.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { parseFrameLog } from '../framelog/frame-log.js';
import { explore } from '../explore/engine.js';
import { openSide } from '../explore/sides.js';
import { differenceTitle, writeDifference } from '../explore/artifacts.js';
import { readExplorationLog } from '../explore/frame-log.js';
import { generateSpecFromLog, importRoot } from '../framelog/codegen.js';

const MODEL_SERVER = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'model-server.js');
const EXPLORE_CLI = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'explore-command.js');
const PLANTED = { resultOverride: { command: 'ECC_KEY_READ', slot: 31, result: 'INVALID_KEY' } } as const;
const pairingKey = loadPairingKey(resolveConfig({}));
let dir: string;
const children: ChildProcess[] = [];

test.beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-explore-proof-'))));
test.afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** The default configuration with its key files made absolute (it moves) and, optionally, a planted fault. */
function modelConfig(name: string, faults?: string): string {
  const text = readFileSync(DEFAULT_MODEL_CONFIG, 'utf8').replace(/^(\w+): ([\w.-]+\.pem)$/gm, (_, k: string, f: string) => `${k}: ${path.join(DEFAULT_CONFIG_DIR, f)}`);
  const file = path.join(dir, name);
  writeFileSync(file, faults ? `${text}\nfaults: ${faults}\n` : text);
  return file;
}

async function serve(config: string): Promise<number> {
  const child = spawn(process.execPath, [MODEL_SERVER, 'tcp', '-p', '0', '-c', config]);
  children.push(child);
  return new Promise<number>((resolve, reject) => {
    let out = '';
    const look = (d: Buffer) => {
      out += d.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => reject(new Error(`model server exited with ${code} before listening: ${out}`)));
  });
}

function runSpec(specDir: string, port: number): { status: number | null; out: string } {
  // ES modules, as in the project (the spec and the fixtures it imports).
  writeFileSync(path.join(specDir, 'package.json'), '{ "type": "module" }\n');
  const config = path.join(specDir, 'playwright.config.mjs');
  writeFileSync(config, `export default { testDir: ${JSON.stringify(specDir)}, testMatch: /.*\\.spec\\.ts$/, outputDir: ${JSON.stringify(path.join(specDir, 'results'))}, reporter: 'line', workers: 1, projects: [{ name: 'regression' }] };\n`);
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', '@playwright', 'test', 'cli.js'), 'test', '--config', config], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    // The outer Playwright worker's own variables must not leak into the inner run.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TEST_|PW_|PLAYWRIGHT_)/.test(k))), TROPIC_TARGET: 'rig', TROPIC_RIG: `tcp://127.0.0.1:${port}`, TROPIC_ALLURE_RESULTS: path.join(specDir, 'allure') },
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('the generated spec of a planted bug fails on the planted model server and passes on a clean one', async () => {
  test.setTimeout(300_000);
  const restorePlan = { eccSlots: [], userDataSlots: [] };
  const reference = await openSide({ role: 'reference', spec: 'embedded', pairingKey, pairingSlot: 0, restorePlan });
  const target = await openSide({ role: 'target', spec: 'embedded', faults: PLANTED, pairingKey, pairingSlot: 0, restorePlan });
  const report = await explore({ reference, target, pairingKey, compareContent: true, irreversibleAllowed: true, runs: 300, seed: 7, maxCommands: 30, maxDifferences: 1, generation: { irreversible: true } });
  expect(report.differences).toHaveLength(1);
  const d = report.differences[0];
  expect(d.steps.length).toBeLessThanOrEqual(5);

  const specDir = path.join(dir, 'specs');
  const files = await writeDifference(d, target, { dir: specDir, name: 'planted', meta: { reference: reference.label, target: target.label, seed: 7, compareContent: true }, pairingKey, pairingSlot: 0, irreversibleAllowed: true });
  const log = parseFrameLog(readFileSync(files.frameLog, 'utf8'), { file: files.frameLog });
  expect(log.entries.length).toBeGreaterThan(0);
  expect(log.annotations.filter((a) => a.kind === 'step-start')).toHaveLength(d.steps.length);
  // The log carries the sequence as data, with both sides' answers: what the codegen needs.
  const recorded = readExplorationLog(log, files.frameLog)!;
  expect(recorded.steps.map((s) => s.step)).toEqual(d.steps);
  expect(recorded.steps.map((s) => s.reference)).toEqual(d.reference);
  expect(recorded.header).toMatchObject({ seed: d.seed, signature: d.signature, compareContent: true });
  expect(readFileSync(files.decoded, 'utf8')).toContain('>>');
  const spec = readFileSync(files.spec, 'utf8');
  // The spec is the frame-log codegen's output for that log, byte for byte.
  expect(spec).toBe(generateSpecFromLog(log, { title: differenceTitle(d), sourceLog: path.basename(files.frameLog), root: importRoot(files.spec) }));
  expect(spec).toContain('generated by `tropic-harness framelog codegen`');
  expect(spec).toContain("'reversible', ['@explore-regression']");

  const planted = runSpec(specDir, await serve(modelConfig('planted.yml', JSON.stringify(PLANTED))));
  expect(planted.out).toContain('1 failed');
  expect(planted.out).toContain(`step ${d.steps.length}:`);
  expect(planted.status).toBe(1);

  const clean = runSpec(specDir, await serve(modelConfig('clean.yml')));
  expect(clean.out).toContain('1 passed');
  expect(clean.status).toBe(0);
});

test('explore CLI: exit 1 with files and a summary on a planted target, 0 on a clean one, 2 on a bad option', () => {
  test.setTimeout(120_000);
  const cli = (args: string[]) =>
    spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import { Command } from 'commander'; import { registerExploreCommand } from ${JSON.stringify(EXPLORE_CLI)}; const p = new Command('tropic-harness'); registerExploreCommand(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });`, '--', ...args],
      { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 100_000 },
    );
  const planted = modelConfig('cli-planted.yml', JSON.stringify(PLANTED));
  const out = path.join(dir, 'cli-out');
  const found = cli(['explore', '--target', 'embedded', '--target-config', planted, '--runs', '300', '--seed', '7', '--max-differences', '1', '--out', out, '--no-progress']);
  expect(found.stdout).toContain('new differences: 1');
  expect(found.stdout).toMatch(/frame log: .*difference-7-1\.frame-log\.jsonl/);
  expect(found.status).toBe(1);

  const clean = cli(['explore', '--target', 'embedded', '--runs', '20', '--seed', '3', '--out', out, '--no-progress']);
  expect(clean.stdout).toContain('new differences: 0');
  expect(clean.stdout).toMatch(/sequences\s+20 /);
  expect(clean.status).toBe(0);

  const bad = cli(['explore', '--target', 'not a target', '--runs', '1']);
  expect(bad.status).toBe(2);
});
