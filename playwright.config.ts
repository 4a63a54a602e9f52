/**
 * One runner for everything: the `harness` project holds the harness's own tests (no target);
 * the `specs` project runs the TROPIC01 spec suite against TROPIC_TARGET (default: embedded).
 * Allure results go to reports/allure-results; `npm run report` builds the Allure 3 report.
 */
import os from 'node:os';
import { defineConfig } from '@playwright/test';
import { resolveConfig } from './harness/config/env.js';

// Fail fast, before any test, with every bad variable listed.
const cfg = resolveConfig();

export default defineConfig({
  timeout: 60_000,
  forbidOnly: !!process.env.CI,
  retries: 0,
  outputDir: 'test-results',
  globalSetup: './harness/targets/global-setup.ts',
  globalTeardown: './harness/targets/global-teardown.ts',
  reporter: [
    [process.env.CI ? 'line' : 'list'],
    ...(process.env.TROPIC_BLOB ? ([['blob', { outputDir: 'reports/blob-report' }]] as const) : []),
    [
      'allure-playwright',
      {
        resultsDir: 'reports/allure-results',
        detail: true,
        suiteTitle: true,
        environmentInfo: {
          target: cfg.TROPIC_TARGET,
          pairing_slot: String(cfg.TROPIC_PAIRING_SLOT),
          rig: cfg.TROPIC_RIG_NAME ?? cfg.TROPIC_RIG ?? '-',
          node: process.version,
          os: `${os.platform()} ${os.release()}`,
          profile: cfg.TROPIC_PROFILE ?? '-',
        },
        categories: [
          { name: 'Transport faults', messageRegex: '.*(TransportError|TimeoutError|TH_TCP_|TH_TIMEOUT|ECONNREFUSED|connection closed).*', matchedStatuses: ['broken', 'failed'] },
          { name: 'Chip result errors', messageRegex: '.*(L3ResultError|L2StatusError|chip answered L[23]).*', matchedStatuses: ['broken', 'failed'] },
          { name: 'Assertion failures', messageRegex: '.*(expect\\(|toBe|toEqual|Expected).*', matchedStatuses: ['failed'] },
        ],
      },
    ],
  ],
  projects: [
    { name: 'harness', testDir: './harness/tests', testMatch: /.*\.test\.ts$/ },
    { name: 'specs', testDir: './specs', testMatch: /.*\.spec\.ts$/ },
  ],
});
