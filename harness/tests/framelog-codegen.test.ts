/**
 * Codegen and minimize: a regression spec generated from a recorded log typechecks and passes as a
 * spec on the embedded model; ddmin finds the smallest operation sequence that still reproduces a
 * condition and writes its log and spec.
 */
import { test, expect } from '@playwright/test';
import { runChild } from './run-child.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { parseFrameLog } from '../framelog/frame-log.js';
import { minimize } from '../framelog/minimize.js';
import { operationsFromAnnotations } from '../framelog/operations.js';
import { generateSpec } from '../framelog/codegen.js';
import { cli, record, tmpDir } from './framelog-helpers.js';

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
