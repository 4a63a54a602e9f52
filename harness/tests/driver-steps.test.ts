/**
 * Driver commands as report steps: a failed command's error points at the spec line that called
 * it (directly, or through a helper after an await), not at the harness; the location is found
 * without Playwright's per-step stack capture, and a call site seen again maps to the same line.
 * Also: Playwright's per-test browser fixtures, replaced by no-ops (fixtures/config.ts), keep the
 * platform snapshot suffix and say so when a trace is asked for.
 */
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { plantSpecs, runPlaywright, spec } from './reversible-run.js';

test('a failed driver command points at the spec line that called it, also through a helper and in a loop', async () => {
  test.setTimeout(120_000);
  const planted = plantSpecs({
    'located.spec.ts': `import { test, expect } from '@fixtures';

async function readThroughHelper(s: { eccKeyRead(slot: number): Promise<unknown> }, slot: number) {
  await Promise.resolve();
  return s.eccKeyRead(slot);
}
test('direct call fails', async ({ session }) => {
  expect((await session.ping(Uint8Array.of(1))).length).toBe(1);
  await session.eccKeyRead(31);
});
test('helper call fails', async ({ session }) => {
  await readThroughHelper(session, 30);
});
test('the same call site again, in a loop', async ({ session }) => {
  for (const slot of [1, 2]) await session.ping(Uint8Array.of(slot));
  for (const slot of [29, 28]) await session.eccKeyRead(slot);
});
`,
  });
  try {
    const run = await runPlaywright(['-c', planted.config, '--workers=1'], { TROPIC_TARGET: 'embedded' });
    const file = (r: ReturnType<typeof spec>) => (r?.errorLocation ? path.basename(r.errorLocation.file) : undefined);
    const direct = spec(run.results, 'direct call fails');
    expect(direct?.status, run.stderr).toBe('failed');
    expect(direct?.error).toContain('INVALID_KEY');
    expect([file(direct), direct?.errorLocation?.line]).toEqual(['located.spec.ts', 9]);
    const helper = spec(run.results, 'helper call fails');
    expect([file(helper), helper?.errorLocation?.line]).toEqual(['located.spec.ts', 5]);
    const loop = spec(run.results, 'in a loop');
    expect([file(loop), loop?.errorLocation?.line]).toEqual(['located.spec.ts', 16]);
    expect(loop?.error).toContain('INVALID_KEY');
  } finally {
    planted.remove();
  }
});

test("Playwright's browser fixtures are replaced: the snapshot suffix is still the platform, and a trace option is reported as unused", async () => {
  test.setTimeout(120_000);
  const planted = plantSpecs({
    'browserless.spec.ts': `import { test, expect } from '@fixtures';
test('snapshot suffix', async ({ tropic }) => {
  expect(test.info().snapshotSuffix).toBe(process.platform);
  expect((await tropic.chipId()).serial).toMatch(/^[0-9a-f]{32}$/);
});
`,
  });
  try {
    const run = await runPlaywright(['-c', planted.config, '--trace', 'on'], { TROPIC_TARGET: 'embedded' });
    expect(spec(run.results, 'snapshot suffix')?.status, run.stderr).toBe('passed');
    expect(run.stderr).toContain("Playwright's trace option (on) records browser activity and is not used by this browserless runner");
  } finally {
    planted.remove();
  }
});
