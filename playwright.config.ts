/**
 * One runner for everything:
 * - `harness`: the harness's own tests that need nothing but Node (they start what they need);
 *   `harness-docker` (a Docker engine) and `harness-chromium` (Debian's chromium) hold the rest
 *   and are left out, with one line saying so, on a machine without them;
 * - `specs`: the TROPIC01 spec suite against TROPIC_TARGET (default: embedded);
 * - `model-container`: the same suite against this project's model in a container (testcontainers),
 *   only when a Docker engine is configured or TROPIC_CONTAINER_SPECS=1 (CI sets it).
 * Each spec project depends on a setup project (leftovers removed, image built, slot 0 started) and
 * has a teardown project. Each run empties its Allure results first (fixtures/lifecycle/run.setup.ts);
 * JUnit XML and Playwright's HTML report are written beside them for CI systems without Allure.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig, type Project } from '@playwright/test';
import { resolveConfig, type TargetKind } from './harness/config/env.js';
import { PRIVATE_ENGINE_ENV } from './harness/targets/docker-engine.js';

type TargetOptions = { targetKind: TargetKind | undefined };

// Fail fast, before any test, with every bad variable listed.
const cfg = resolveConfig();
const reportsDir = path.dirname(path.resolve(cfg.TROPIC_ALLURE_RESULTS));
const mainProcess = !process.env.TEST_WORKER_INDEX;

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const dockerConfigured = !!cfg.DOCKER_HOST || existsSync(PRIVATE_ENGINE_ENV) || existsSync('/var/run/docker.sock');
const containerSpecs = process.env.TROPIC_CONTAINER_SPECS === '1' || (process.env.TROPIC_CONTAINER_SPECS !== '0' && dockerConfigured);
const chromiumTests = process.env.TROPIC_CHROMIUM_TESTS === '1' || (process.env.TROPIC_CHROMIUM_TESTS !== '0' && existsSync(CHROMIUM));
if (mainProcess && !process.env.TROPIC_QUIET_PROJECTS) {
  if (!containerSpecs) process.stderr.write('tropic-harness: projects model-container and harness-docker left out: no Docker engine (set DOCKER_HOST, run `bash .ci/docker-engine start`, or TROPIC_CONTAINER_SPECS=1)\n');
  if (!chromiumTests) process.stderr.write(`tropic-harness: project harness-chromium left out: no Chromium at ${CHROMIUM} (apt-get install chromium, or CHROMIUM=<path>)\n`);
}

/** A spec project on one target kind (unset: TROPIC_TARGET), with its setup and teardown projects. */
function specProject(name: string, targetKind?: TargetKind): Project<object, TargetOptions>[] {
  const use = { targetKind };
  return [
    { name: `${name} setup`, testDir: './fixtures/lifecycle', testMatch: /target\.setup\.ts$/, teardown: `${name} teardown`, use },
    { name: `${name} teardown`, testDir: './fixtures/lifecycle', testMatch: /target\.teardown\.ts$/, use },
    // Specs are independent (each starts on a fresh chip or restores what it changed), so they
    // spread over workers and shards test by test, not file by file.
    { name, testDir: './specs', testMatch: /.*\.spec\.ts$/, dependencies: [`${name} setup`], fullyParallel: true, use },
  ];
}

const DOCKER_TESTS = /container-target\.test\.ts$/;
const CHROMIUM_TESTS = /allure-report\.test\.ts$/;

export default defineConfig<object, TargetOptions>({
  timeout: (cfg as { TROPIC_TEST_TIMEOUT_MS?: number }).TROPIC_TEST_TIMEOUT_MS ?? 60_000, // TODO(integrator): typed once the variable lands
  forbidOnly: !!process.env.CI,
  // One rig is one chip: a single worker unless a rig pool (TROPIC_RIGS) leases one per worker.
  workers: cfg.TROPIC_TARGET === 'rig' && !process.env.TROPIC_RIGS ? 1 : undefined,
  retries: 0,
  outputDir: 'test-results',
  globalSetup: './fixtures/lifecycle/run.setup.ts',
  reporter: [
    [process.env.CI ? 'line' : 'list'],
    ['junit', { outputFile: path.join(reportsDir, 'junit.xml') }],
    ['html', { outputFolder: path.join(reportsDir, 'playwright-report'), open: 'never' }],
    ...(process.env.TROPIC_BLOB ? ([['blob', { outputDir: path.join(reportsDir, 'blob-report') }]] as const) : []),
    [
      'allure-playwright',
      {
        resultsDir: cfg.TROPIC_ALLURE_RESULTS,
        detail: true,
        suiteTitle: true,
        // Per-test target: the `target` label (Allure 3 environments group by it, see `report`).
        environmentInfo: {
          pairing_slot: String(cfg.TROPIC_PAIRING_SLOT),
          rig: cfg.TROPIC_RIG_NAME ?? cfg.TROPIC_RIG ?? '-',
          node: process.version,
          os: `${os.platform()} ${os.release()}`,
          profile: cfg.TROPIC_PROFILE ?? '-',
        },
      },
    ],
  ],
  projects: [
    { name: 'harness', testDir: './harness/tests', testMatch: /.*\.test\.ts$/, testIgnore: [DOCKER_TESTS, CHROMIUM_TESTS] },
    ...(containerSpecs ? [{ name: 'harness-docker', testDir: './harness/tests', testMatch: DOCKER_TESTS }] : []),
    ...(chromiumTests ? [{ name: 'harness-chromium', testDir: './harness/tests', testMatch: CHROMIUM_TESTS }] : []),
    ...specProject('specs'),
    ...(containerSpecs ? specProject('model-container', 'model-container') : []),
  ],
});
