/**
 * Run by target-loss.test.ts (not by the harness project): the second test kills the tvl-process
 * target's server group, as a crash would; the ten after it must not each wait for a dead target.
 */
import { test, expect } from '../../../fixtures/index.js';

test('the target answers before the loss', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
});

test('the target dies during this test', async ({ tropic, target }) => {
  process.kill(-target.pid!, 'SIGKILL');
  await tropic.chipId();
});

for (let i = 1; i <= 10; i++) {
  test(`a later test ${i}`, async ({ tropic }) => {
    expect((await tropic.chipId()).serial).toBeTruthy();
  });
}
