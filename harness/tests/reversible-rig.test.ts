/**
 * Reversible specs really restore the chip: the whole spec suite runs twice against one model
 * server treated as a rig (TROPIC_TARGET=rig, never reset between tests or runs). The first run
 * injects failures midway through a few specs after they changed the chip
 * (TROPIC_INJECT_FAILURES=1); the second must pass in full, and the chip state read through the
 * driver before the first run must equal the state after the second. On the rig, @irreversible
 * specs are refused (skipped), so nothing irreversible happens and everything readable compares.
 */
import { test, expect } from '@playwright/test';
import { ModelServer } from '../model/server.js';
import { OPERATIONS_ANNOTATION } from '../driver/operations.js';
import { runPlaywright, snapshotChip, type NestedResult } from './reversible-run.js';

/** The specs that throw midway under TROPIC_INJECT_FAILURES=1 (see failHereWhenInjecting in specs/). */
const INJECTED = [
  'write, read back, erase restores all ones',
  'a written R-config CO takes effect only after a reboot',
  'R_Config_Read (configuration CO) is denied (UNAUTHORIZED) to a slot without the privilege',
  'ECDSA_Sign is allowed to a slot with the privilege',
  'generate P256 in slot 1, read it back, erase it',
  'generate ED25519 in slot 1, read it back, erase it',
  'store a P-256 key: the chip reports its public key and origin STORED',
  'slot 1: write, read back, erase, read empty',
  'Get_Log_Req with FW logging disabled in CFG_DEBUG answers RESP_DISABLED',
];

const specsOnly = (rs: NestedResult[]) => rs.filter((r) => r.file.startsWith('specs/') || r.file.includes('/specs/'));
const bad = (rs: NestedResult[]) => rs.filter((r) => r.status !== 'passed' && r.status !== 'skipped');

test('the reversible suite, run twice on a never-reset rig with failures injected in the first run, leaves the chip as it found it', async () => {
  test.setTimeout(900_000);
  const server = await new ModelServer({ port: 0 }).start();
  const rig = { TROPIC_TARGET: 'rig', TROPIC_RIG: `tcp://127.0.0.1:${server.port}`, TROPIC_ALLOW_IRREVERSIBLE: '0' };
  try {
    const before = await snapshotChip(server.port);

    const first = await test.step('first run, failures injected', () => runPlaywright(['--project=specs'], { ...rig, TROPIC_INJECT_FAILURES: '1' }));
    const firstSpecs = specsOnly(first.results);
    expect(firstSpecs.length, 'the first run ran the spec suite').toBeGreaterThan(200);
    const failedFirst = bad(firstSpecs);
    const failures = failedFirst.map((r) => `${r.title}: ${r.error?.split('\n')[0]}`).join('\n');
    expect(failedFirst.map((r) => r.title.split(' > ').pop()).sort(), `exactly the specs with an injected failure failed; failed:\n${failures}`).toEqual([...INJECTED].sort());
    for (const r of failedFirst) expect(r.error, r.title).toContain('TH_INJECTED_FAILURE');

    const second = await test.step('second run', () => runPlaywright(['--project=specs'], rig));
    const secondSpecs = specsOnly(second.results);
    const secondTitles = new Set(secondSpecs.map((r) => r.title));
    expect(firstSpecs.filter((r) => !secondTitles.has(r.title)).map((r) => r.title), 'the second run ran every spec of the first').toEqual([]);
    expect(bad(secondSpecs).map((r) => `${r.title}: ${r.error?.split('\n')[0]}`), 'the second run passes in full').toEqual([]);

    // On the rig every @irreversible spec was refused before it started; every other spec ran
    // (or skipped itself for a stated reason) and its drivers sent nothing irreversible.
    for (const r of secondSpecs) {
      if (r.tags.includes('@irreversible')) {
        expect(r.status, r.title).toBe('skipped');
        expect(r.annotations.map((a) => a.type), r.title).toContain('refused');
        continue;
      }
      const ops = r.annotations.find((a) => a.type === OPERATIONS_ANNOTATION)?.description ?? '';
      expect(ops, `${r.title}: no irreversible operation in a reversible spec`).not.toMatch(/ irreversible → /);
    }
    const ranReversible = secondSpecs.filter((r) => r.status === 'passed');
    expect(ranReversible.length).toBeGreaterThan(150);

    const after = await snapshotChip(server.port);
    expect(after, 'chip state after two runs equals the state before').toEqual(before);
  } finally {
    await server.close();
  }
});
