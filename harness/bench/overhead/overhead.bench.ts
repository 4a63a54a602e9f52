/**
 * Trivial tests for the fixture-overhead benchmark: the same count with the fixtures' base `test`
 * (Playwright's, without its browser-context options as every test of ours: no target fixture),
 * with `tropic` (target, transport, fresh chip, frame log, attachments, Allure labels) and with
 * `session` (plus a secure-session handshake).
 */
import { configTest as plain, test, expect } from '../../../fixtures/index.js';

const N = Number(process.env.TROPIC_BENCH_TESTS ?? 50);

for (let i = 0; i < N; i++) {
  plain(`bare ${i}`, () => {
    expect(i).toBeGreaterThanOrEqual(0);
  });
  test(`tropic ${i}`, ({ tropic }) => {
    expect(tropic.hasSession).toBe(false);
  });
  test(`session ${i}`, ({ session }) => {
    expect(session.hasSession).toBe(true);
  });
}
