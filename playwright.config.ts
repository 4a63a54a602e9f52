/**
 * One runner for everything:
 * - `harness`: the harness's own tests (they start what they need);
 * - `specs`: the TROPIC01 spec suite against TROPIC_TARGET (default: embedded);
 * - `model-container`: the same suite against this project's model in a container
 *   (testcontainers; needs a Docker engine: `bash .ci/docker-engine start` or DOCKER_HOST).
 * Each spec project depends on a setup project (leftovers removed, image built, slot 0 started)
 * and has a teardown project (per-slot processes and containers removed), so `--project=specs`
 * prepares only what it uses. Allure results go to TROPIC_ALLURE_RESULTS (reports/allure-results);
 * `npm run report` builds the Allure 3 report.
 */
import os from 'node:os';
import { defineConfig, type Project } from '@playwright/test';
import type { TargetKind } from './harness/config/env.js';

type TargetOptions = { targetKind: TargetKind | undefined };
import { resolveConfig } from './harness/config/env.js';

// Fail fast, before any test, with every bad variable listed.
const cfg = resolveConfig();

/** A spec project on one target kind (unset: TROPIC_TARGET), with its setup and teardown projects. */
function specProject(name: string, targetKind?: TargetKind): Project<object, TargetOptions>[] {
  const use = { targetKind };
  return [
    { name: `${name} setup`, testDir: './fixtures/lifecycle', testMatch: /target\.setup\.ts$/, teardown: `${name} teardown`, use },
    { name: `${name} teardown`, testDir: './fixtures/lifecycle', testMatch: /target\.teardown\.ts$/, use },
    { name, testDir: './specs', testMatch: /.*\.spec\.ts$/, dependencies: [`${name} setup`], use },
  ];
}

export default defineConfig<object, TargetOptions>({
  timeout: 60_000,
  forbidOnly: !!process.env.CI,
  retries: 0,
  outputDir: 'test-results',
  reporter: [
    [process.env.CI ? 'line' : 'list'],
    ...(process.env.TROPIC_BLOB ? ([['blob', { outputDir: 'reports/blob-report' }]] as const) : []),
    [
      'allure-playwright',
      {
        resultsDir: cfg.TROPIC_ALLURE_RESULTS,
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
  projects: [{ name: 'harness', testDir: './harness/tests', testMatch: /.*\.test\.ts$/ }, ...specProject('specs'), ...specProject('model-container', 'model-container')],
});
