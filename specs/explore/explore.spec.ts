/**
 * Differential exploration as a Playwright project (`explore`): random command sequences on the
 * test's target, in lockstep with the embedded model as the oracle. A small seeded budget by default
 * (TROPIC_EXPLORE_RUNS sequences, TROPIC_EXPLORE_SEED); every new difference is a failure of its
 * own, with its minimal frame log, decoded trace and regression spec attached. Known findings of the
 * target are filtered by name and listed as an annotation. On a rig (no reset) what exploration
 * changes is restored after each sequence, and irreversible commands need TROPIC_ALLOW_IRREVERSIBLE=1.
 */
import { readFileSync } from 'node:fs';
import { test, expect, spec } from '../../fixtures/index.js';
import { implementationOf } from '../../harness/findings/registry.js';
import { explore, openSide, describeDifference, writeDifference, summaryTable } from '../../harness/explore/index.js';
import { attachSide } from '../../harness/explore/sides.js';
import { DEFAULT_ECC_SLOTS, DEFAULT_USER_DATA_SLOTS } from '../../harness/explore/steps.js';

const RUNS = Number(process.env.TROPIC_EXPLORE_RUNS || 25);
const SEED = Number(process.env.TROPIC_EXPLORE_SEED || 1);
const MAX_COMMANDS = Number(process.env.TROPIC_EXPLORE_MAX_COMMANDS || 30);

test(`${RUNS} random sequences answer as the embedded model does (seed ${SEED})`, spec('User API v1.4.0 4.1-4.2 (differential exploration)', 'reversible', ['@explore']), async ({ target, transport, pairingKey, harnessConfig }, testInfo) => {
  test.setTimeout(Math.max(60_000, RUNS * 2_000));
  const restorePlan = { eccSlots: DEFAULT_ECC_SLOTS, userDataSlots: DEFAULT_USER_DATA_SLOTS };
  const poll = { pollDelayMs: harnessConfig.TROPIC_POLL_DELAY_MS, responseTimeoutMs: harnessConfig.TROPIC_RESPONSE_TIMEOUT_MS };
  const common = { pairingKey, pairingSlot: harnessConfig.TROPIC_PAIRING_SLOT, poll, restorePlan };
  const reference = await openSide({ ...common, role: 'reference', spec: 'embedded' });
  const side = await attachSide(transport, {
    ...common,
    role: 'target',
    label: target.name,
    implementation: implementationOf(target),
    resetMode: target.resetMode === 'none' ? 'restore' : target.resetMode,
    resetChip: target.resetChip,
  });
  const irreversibleAllowed = target.resetMode !== 'none' || target.allowIrreversible;
  try {
    const report = await explore({
      reference, target: side, pairingKey, compareContent: false, irreversibleAllowed,
      runs: RUNS, seed: SEED, maxCommands: MAX_COMMANDS,
      generation: { irreversible: irreversibleAllowed, eccSlots: side.explorableEccSlots ?? DEFAULT_ECC_SLOTS },
    });
    await testInfo.attach('explore-summary.txt', { body: summaryTable(report, { reference, target: side }), contentType: 'text/plain' });
    for (const [id, k] of Object.entries(report.knownFiltered)) testInfo.annotations.push({ type: 'known-finding', description: `${id}: ${k.title} (filtered in ${k.count} sequences)` });
    for (const [i, d] of report.differences.entries()) {
      const name = `difference-${SEED}-${i + 1}`;
      const files = await writeDifference(d, side, { dir: testInfo.outputPath(name), name, meta: { reference: reference.label, target: side.label, seed: SEED, compareContent: false }, pairingKey, pairingSlot: harnessConfig.TROPIC_PAIRING_SLOT, irreversibleAllowed });
      await testInfo.attach(`${name}.frame-log.jsonl`, { path: files.frameLog, contentType: 'application/x-ndjson' });
      await testInfo.attach(`${name}.decoded.txt`, { body: readFileSync(files.decoded), contentType: 'text/plain' });
      await testInfo.attach(`${name}.spec.ts`, { path: files.spec, contentType: 'text/plain' });
      expect.soft(d.steps.length, `new difference ${i + 1}: ${describeDifference(d)}`).toBe(0);
    }
    expect(report.sequences, 'every sequence ran').toBeGreaterThan(0);
  } finally {
    await side.close();
    await reference.close();
  }
});
