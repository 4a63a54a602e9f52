/**
 * The known-findings registry: which implementation and versions a finding holds for, the outcome
 * of a finding that does not reproduce, and the registry as Allure 3 known issues.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { FINDING_NOT_REPRODUCED, KNOWN_FINDING, KNOWN_FINDINGS, allureResolutions, finding, matchFinding, versionInRange, writeAllureKnownIssues } from '../findings/registry.js';
import { plantSpecs, runPlaywright, spec } from './reversible-run.js';

test('version ranges', () => {
  expect(versionInRange('2.2.0', '<2.3')).toBe(true);
  expect(versionInRange('2.3.0', '<2.3')).toBe(false);
  expect(versionInRange('2.10', '<2.3')).toBe(false);
  expect(versionInRange('2.2.7', '>=2.2 <2.3')).toBe(true);
  expect(versionInRange('2.1.9', '>=2.2 <2.3')).toBe(false);
  expect(versionInRange('2.2.5', '2.2.x')).toBe(true);
  expect(versionInRange('2.3.0', '2.2.x')).toBe(false);
  expect(versionInRange('9.9', '*')).toBe(true);
});

test('a finding holds for the implementation and versions it names, and for that implementation when its version is unknown', () => {
  const f = finding('ts-tvl-r-mem-444-bytes');
  expect(f.holdsFor).toEqual([{ implementation: 'ts-tvl', versions: '<2.3' }]);
  expect(matchFinding(f, { name: 'ts-tvl', version: '2.2.0', source: 'test' }).holds).toBe(true);
  expect(matchFinding(f, { name: 'ts-tvl', version: '2.3.1', source: 'test' }).holds).toBe(false);
  expect(matchFinding(f, { name: 'ts-tvl', source: 'test' })).toMatchObject({ holds: true, reason: expect.stringContaining('version is unknown') });
  expect(matchFinding(f, { name: 'tropic-harness-model', version: '0.1.0', source: 'test' }).holds).toBe(false);
  expect(matchFinding(f, { name: 'unknown', source: 'test' }).holds).toBe(false);
  expect(KNOWN_FINDINGS.map((x) => x.id)).toHaveLength(new Set(KNOWN_FINDINGS.map((x) => x.id)).size);
});

test('the registry is written as an Allure 3 known-issues file and as resolution rules', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-findings-'));
  try {
    const file = path.join(dir, 'known-issues.json');
    writeAllureKnownIssues(file);
    const written = JSON.parse(readFileSync(file, 'utf8')) as { resolutionIssues: { id: string; type: string; comment: string; testResults: object }[] };
    expect(written.resolutionIssues.map((r) => r.id).sort()).toEqual(KNOWN_FINDINGS.map((f) => f.id).sort());
    for (const r of written.resolutionIssues) {
      expect(r.type).toBe('finding');
      expect(r.comment).toContain('Holds for ts-tvl <2.3');
      expect(r.testResults).toEqual({});
    }
    expect(() => writeAllureKnownIssues(path.join(dir, 'known-issues.txt'))).toThrow(/\.json/);
    const res = allureResolutions('https://example.invalid/findings/%s');
    expect(res.rules).toHaveLength(KNOWN_FINDINGS.length);
    expect(new RegExp(res.rules[0].messageRegexp).test(`${FINDING_NOT_REPRODUCED}: ${res.rules[0].issue.id} no longer reproduces`)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('knownFinding: asserted where it holds, skipped where it does not, and "no longer reproduces" as its own skipped outcome', async () => {
  test.setTimeout(180_000);
  const planted = plantSpecs({
    'findings.spec.ts': `import { test, expect, spec, knownFinding } from '@fixtures';
const tvl = (version?: string) => ({ kind: 'tvl-process', implementation: { name: 'ts-tvl', version, source: 'planted' } }) as never;
test('planted: the finding reproduces', spec('planted'), async () => {
  expect(await knownFinding(tvl('2.2.0'), 'ts-tvl-r-mem-444-bytes', () => expect(1).toBe(1))).toBe(true);
});
test('planted: the finding does not hold for this version', spec('planted'), async () => {
  expect(await knownFinding(tvl('2.3.0'), 'ts-tvl-r-mem-444-bytes', () => { throw new Error('must not run'); })).toBe(false);
});
test('planted: the finding no longer reproduces', spec('planted'), async () => {
  await knownFinding(tvl('2.2.0'), 'ts-tvl-r-mem-444-bytes', () => expect(0x3c).toBe(0xc3));
  throw new Error('not reached: the test is skipped with its reason');
});
`,
  });
  try {
    const run = await runPlaywright(['-c', planted.config], { TROPIC_TARGET: 'embedded' });
    const holds = spec(run.results, 'the finding reproduces');
    expect(holds?.status).toBe('passed');
    expect(holds?.annotations.find((a) => a.type === KNOWN_FINDING)?.description).toContain('ts-tvl-r-mem-444-bytes');
    expect(spec(run.results, 'does not hold for this version')?.status).toBe('passed');
    const gone = spec(run.results, 'no longer reproduces');
    expect(gone?.status).toBe('skipped');
    const note = gone?.annotations.find((a) => a.type === FINDING_NOT_REPRODUCED)?.description;
    expect(note).toContain('ts-tvl-r-mem-444-bytes no longer reproduces on tvl-process (ts-tvl 2.2.0');
    expect(note).toContain('narrow or remove the finding');
  } finally {
    planted.remove();
  }
});
