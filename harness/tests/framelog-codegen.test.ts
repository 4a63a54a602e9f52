/**
 * Codegen and minimize: a regression spec generated from a recorded log typechecks and passes as a
 * spec on the embedded model; ddmin finds the smallest operation sequence that still reproduces a
 * condition and writes its log and spec; an exploration's frame log becomes a spec of its steps
 * (the exploration's own spec is codegen's, see explore-proof.test.ts).
 */
import { test, expect } from '@playwright/test';
import { runChild } from './run-child.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { parseFrameLog } from '../framelog/frame-log.js';
import { minimize } from '../framelog/minimize.js';
import { operationsFromAnnotations } from '../framelog/operations.js';
import { generateSpec, generateSpecFromLog } from '../framelog/codegen.js';
import type { ParsedFrameLog } from '../framelog/frame-log.js';
import { explore } from '../explore/engine.js';
import { openSide } from '../explore/sides.js';
import { writeDifference, type DifferenceFiles } from '../explore/artifacts.js';
import { readExplorationLog } from '../explore/frame-log.js';
import { PAIRING_KEY, cli, record, tmpDir } from './framelog-helpers.js';

const run = runChild;

test('ddmin returns a 1-minimal subsequence that still satisfies the predicate', async () => {
  const items = Array.from({ length: 20 }, (_, i) => i + 1);
  let calls = 0;
  const r = await minimize(items, async (c) => {
    calls++;
    return c.includes(3) && c.includes(17);
  });
  expect(r.items).toEqual([3, 17]);
  expect(r.tests).toBe(calls);
  await expect(minimize(items, async () => false)).rejects.toMatchObject({ code: 'TH_MINIMIZE' });
});

test('codegen writes a readable spec from a recorded log that typechecks and passes as a spec on the embedded model', async () => {
  test.setTimeout(240_000);
  const { file } = await record('codegen');
  mkdirSync(path.join(PACKAGE_ROOT, 'reports'), { recursive: true });
  const dir = mkdtempSync(path.join(PACKAGE_ROOT, 'reports', '.tmp-h4a-codegen-'));
  try {
    const spec = path.join(dir, 'regression.spec.ts');
    const gen = await cli(['codegen', file, '--out', spec, '--title', 'regression: recorded sample']);
    expect(gen.code, gen.stderr).toBe(0);
    const text = readFileSync(spec, 'utf8');
    expect(text).toContain(`import { test, expect, spec } from '../../fixtures/index.js';`);
    expect(text).toContain(`spec('regression from frame log ${file}', 'reversible')`);
    expect(text).toContain(`await expect(tropic.eccKeyRead(3)).rejects.toMatchObject({ resultName: 'INVALID_KEY' });`);
    expect(text).toContain(`await tropic.startSecureSession(0, pairingKey);`);
    expect(text).toContain(`expect((await tropic.random(8)).length).toBe(8);`);

    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../..' }, include: ['regression.spec.ts'] }));
    const tsc = await run(process.execPath, [path.join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')]);
    expect(tsc.code, tsc.out).toBe(0);

    writeFileSync(path.join(dir, 'pw.config.ts'), `import { defineConfig } from '@playwright/test';\nexport default defineConfig({ testDir: '.', testMatch: /regression\\.spec\\.ts$/, reporter: 'line' });\n`);
    const pw = await run('npx', ['playwright', 'test', '-c', path.join(dir, 'pw.config.ts'), '--output', path.join(dir, 'out')], { ...process.env, TROPIC_TARGET: 'embedded', CI: '' });
    expect(pw.code, pw.out).toBe(0);
    expect(pw.out).toContain('1 passed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('minimize reduces a recorded sequence to the one command that reproduces result=INVALID_KEY on eccKeyRead, and writes its log and spec', async () => {
  const { file } = await record('minimize');
  const dir = tmpDir('minimize');
  const outLog = path.join(dir, 'min.frame-log.jsonl');
  const outSpec = path.join(dir, 'min.spec.ts');
  const r = await cli(['minimize', file, '--until', 'result=INVALID_KEY on eccKeyRead', '--out-log', outLog, '--out-spec', outSpec]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain('minimal: 1 of 7 operations');
  const min = parseFrameLog(readFileSync(outLog, 'utf8'), { file: outLog });
  const ops = operationsFromAnnotations(min.annotations);
  // The minimal log holds the command and the handshake it needs.
  expect(ops).toEqual([
    { layer: 'l2', method: 'startSecureSession', args: { slot: 0 }, expect: { result: 'OK' } },
    { layer: 'l3', method: 'eccKeyRead', args: { slot: 3 }, expect: { result: 'INVALID_KEY', length: 0 } },
  ]);
  expect(readFileSync(outSpec, 'utf8')).toContain(generateSpec(ops, { title: 'x', sourceLog: outLog }).split('\n').find((l) => l.includes('eccKeyRead'))!);
  // A condition the sequence never meets: nothing to minimize, exit 1.
  const none = await cli(['minimize', file, '--until', 'result=UNAUTHORIZED', '--out-log', path.join(dir, 'none.jsonl')]);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain('does not reproduce');
});

/** A planted bug found by exploration (embedded against a faulted embedded copy), written with its frame log and spec. */
async function plantedDifference(dir: string): Promise<{ files: DifferenceFiles; log: ParsedFrameLog }> {
  const restorePlan = { eccSlots: [], userDataSlots: [] };
  const reference = await openSide({ role: 'reference', spec: 'embedded', pairingKey: PAIRING_KEY, pairingSlot: 0, restorePlan });
  const target = await openSide({ role: 'target', spec: 'embedded', faults: { resultOverride: { command: 'ECC_KEY_READ', slot: 31, result: 'INVALID_KEY' } }, pairingKey: PAIRING_KEY, pairingSlot: 0, restorePlan });
  const report = await explore({ reference, target, pairingKey: PAIRING_KEY, compareContent: false, irreversibleAllowed: true, runs: 300, seed: 7, maxCommands: 30, maxDifferences: 1, generation: { irreversible: true } });
  expect(report.differences).toHaveLength(1);
  const files = await writeDifference(report.differences[0], target, { dir, name: 'planted', meta: { reference: reference.label, target: target.label, seed: 7, compareContent: false }, pairingKey: PAIRING_KEY, pairingSlot: 0, irreversibleAllowed: true });
  return { files, log: parseFrameLog(readFileSync(files.frameLog, 'utf8'), { file: files.frameLog }) };
}

test('codegen turns an exploration frame log into a spec of its steps, with a known finding asserted through knownFinding; both typecheck', async () => {
  test.setTimeout(240_000);
  mkdirSync(path.join(PACKAGE_ROOT, 'reports'), { recursive: true });
  const dir = mkdtempSync(path.join(PACKAGE_ROOT, 'reports', '.tmp-h13-codegen-'));
  try {
    const { files, log } = await plantedDifference(dir);
    const written = readFileSync(files.spec, 'utf8');
    const stepLines = written.split('\n').filter((l) => l.startsWith('  { step: '));
    expect(stepLines.length).toBe(readExplorationLog(log, files.frameLog)!.steps.length);

    // `framelog codegen` on the exploration's log makes the same steps and expectations.
    const viaCli = path.join(dir, 'via-cli.spec.ts');
    const gen = await cli(['codegen', files.frameLog, '--out', viaCli]);
    expect(gen.code, gen.stderr).toBe(0);
    const cliText = readFileSync(viaCli, 'utf8');
    expect(cliText.split('\n').filter((l) => l.startsWith('  { step: '))).toEqual(stepLines);
    expect(cliText).toContain("import { replaySteps, describeStep, type Observation, type Step } from '../../harness/explore/index.js';");
    expect(cliText).toContain("'reversible', ['@explore-regression']");
    expect(cliText).toContain("{ type: 'difference', description: ");
    expect(cliText).not.toContain('knownFinding');

    // With a finding named, the last step asserts the target's recorded answer where the finding holds.
    const withFinding = generateSpecFromLog(log, { title: 'regression with a finding', sourceLog: files.frameLog, knownFinding: 'ts-tvl-r-mem-444-bytes' });
    expect(withFinding).toContain("import { test, expect, spec, knownFinding } from '../../fixtures/index.js';");
    expect(withFinding).toContain("if (!(await knownFinding(target, 'ts-tvl-r-mem-444-bytes', () => check(last, DIVERGENCE)))) check(last, STEPS[last].expect);");
    const divergence = /const DIVERGENCE: Observation = (.*);/.exec(withFinding)?.[1];
    expect(divergence).toContain('INVALID_KEY');
    writeFileSync(path.join(dir, 'with-finding.spec.ts'), withFinding);

    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, rootDir: '../..' }, include: ['via-cli.spec.ts', 'with-finding.spec.ts'] }));
    const tsc = await run(process.execPath, [path.join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(dir, 'tsconfig.json')]);
    expect(tsc.code, tsc.out).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an exploration frame log whose step was edited into something that is not a step is refused, naming the step', async () => {
  const dir = tmpDir('explore-log');
  const { files } = await plantedDifference(dir);
  const text = readFileSync(files.frameLog, 'utf8').replace(/"explore":\{"kind":"handshake","slot":0,"ephemeral":"random"\}/, '"explore":{"kind":"handshake","slot":0,"ephemeral":"sometimes"}');
  expect(text).toContain('"ephemeral":"sometimes"');
  const log = parseFrameLog(text, { file: files.frameLog });
  expect(() => readExplorationLog(log, 'edited.jsonl')).toThrow(/edited\.jsonl: exploration step 1 .*explore\.ephemeral/);
  const gen = await cli(['codegen', writeTo(path.join(dir, 'edited.jsonl'), text)]);
  expect(gen.code).not.toBe(0);
  expect(gen.stderr).toContain('exploration step 1');
});

function writeTo(file: string, text: string): string {
  writeFileSync(file, text);
  return file;
}
