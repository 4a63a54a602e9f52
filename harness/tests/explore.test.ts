/**
 * Differential exploration: a clean run (embedded against embedded) finds nothing; a planted bug (a
 * result override in one copy of the model, set through its fault configuration) is found from a
 * fixed seed within a bounded number of sequences and shrunk to a handful of commands; known
 * divergences are filtered by name.
 */
import { test, expect } from '@playwright/test';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { explore, type ExploreOptions } from '../explore/engine.js';
import { openSide, type Side } from '../explore/sides.js';
import type { FaultInput } from '../model/faults.js';
import { compareObservations } from '../explore/compare.js';
import { matchKnownDivergence } from '../explore/known.js';

const pairingKey = loadPairingKey(resolveConfig({}));
const restorePlan = { eccSlots: [], userDataSlots: [] };

async function sides(faults?: FaultInput): Promise<[Side, Side]> {
  const reference = await openSide({ role: 'reference', spec: 'embedded', pairingKey, pairingSlot: 0, restorePlan });
  const target = await openSide({ role: 'target', spec: 'embedded', faults, pairingKey, pairingSlot: 0, restorePlan });
  return [reference, target];
}

function options(reference: Side, target: Side, o: Partial<ExploreOptions>): ExploreOptions {
  return { reference, target, pairingKey, compareContent: true, irreversibleAllowed: true, runs: 50, seed: 42, maxCommands: 30, generation: { irreversible: true }, ...o };
}

test('embedded against embedded: 50 seeded sequences, zero differences', async () => {
  const [reference, target] = await sides();
  const report = await explore(options(reference, target, { runs: 50, seed: 42 }));
  expect(report.sequences).toBe(50);
  expect(report.commands).toBeGreaterThan(50);
  expect(report.differences).toEqual([]);
});

test('a planted ECC_Key_Read bug on slot 31 is found within 300 sequences and shrunk to at most 5 commands', async () => {
  // The planted bug only shows once slot 31 holds a key (an empty slot answers INVALID_KEY anyway).
  const [reference, target] = await sides({ resultOverride: { command: 'ECC_KEY_READ', slot: 31, result: 'INVALID_KEY' } });
  const report = await explore(options(reference, target, { runs: 300, seed: 7, maxDifferences: 1 }));
  expect(report.differences).toHaveLength(1);
  const d = report.differences[0];
  expect(d.steps.length).toBeLessThanOrEqual(5);
  expect(d.steps[0]).toMatchObject({ kind: 'handshake', slot: 0 });
  // A key is put into slot 31 (ECC_Key_Generate 0x60 / ECC_Key_Store 0x61), then slot 31's key is read (directly or to verify a signature).
  const plains = d.steps.flatMap((s) => (s.kind === 'l3' ? [s.plain] : []));
  expect(plains.some((p) => /^6[01]1f00/.test(p))).toBe(true);
  expect(plains.at(-1)!.slice(2, 6)).toBe('1f00');
  expect(['l3-result', 'signature']).toContain(d.kind);
  expect(d.reference.at(-1)).not.toEqual(d.target.at(-1));
});

test('a known divergence is matched by name only on the implementation it holds for', () => {
  const step = { kind: 'get-log' } as const;
  const reference = { l2: ['RESP_DISABLED'], length: 0 };
  const target = { l2: ['REQ_OK'], length: 0 };
  const d = compareObservations(reference, target)!;
  expect(d.kind).toBe('l2-status');
  const ours = { name: 'tropic-harness-model', source: 'test' } as const;
  expect(matchKnownDivergence(step, reference, target, d, { reference: ours, target: { name: 'ts-tvl', version: '2.2', source: 'test' } })?.id).toBe('ts-tvl-get-log-when-disabled');
  expect(matchKnownDivergence(step, reference, target, d, { reference: ours, target: { name: 'ts-tvl', version: '2.3', source: 'test' } })).toBeUndefined();
  expect(matchKnownDivergence(step, reference, target, d, { reference: ours, target: { name: 'tropic01', source: 'test' } })).toBeUndefined();
});
