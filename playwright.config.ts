/**
 * One runner for everything:
 * - `harness`: the harness's own tests that need nothing but Node (they start what they need);
 *   `harness-docker` (a Docker engine) and `harness-chromium` (Debian's chromium) hold the rest
 *   and are left out, with one line saying so, on a machine without them;
 * - `specs`: the TROPIC01 spec suite against TROPIC_TARGET (default: embedded);
 * - `model-container`: the same suite against this project's model in a container (testcontainers),
 *   only when a Docker engine is configured or TROPIC_CONTAINER_SPECS=1 (CI sets it);
 * - `explore`: differential exploration against the target, the embedded model as the oracle.
 * Reporters (Allure, JUnit, HTML), the per-run global setup, the timeout and the spec projects with
 * their setup/teardown projects come from harness/playwright (`tropic-harness/config`), the same
 * helper consumers use, so what they get is what this project runs.
 */
import { existsSync } from 'node:fs';
import { resolveConfig } from './harness/config/env.js';
import { containerSpecsWanted, defineHarnessConfig, targetSetupDependencies, type HarnessProject } from './harness/playwright/index.js';

// Fail fast, before any test, with every bad variable listed.
const cfg = resolveConfig();
const containerSpecs = containerSpecsWanted(cfg, 'auto');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const chromiumTests = process.env.TROPIC_CHROMIUM_TESTS === '1' || (process.env.TROPIC_CHROMIUM_TESTS !== '0' && existsSync(CHROMIUM));
if (!process.env.TEST_WORKER_INDEX && !process.env.TROPIC_QUIET_PROJECTS) {
  if (!containerSpecs) process.stderr.write('tropic-harness: projects model-container and harness-docker left out: no Docker engine (set DOCKER_HOST, run `bash .ci/docker-engine start`, or TROPIC_CONTAINER_SPECS=1)\n');
  if (!chromiumTests) process.stderr.write(`tropic-harness: project harness-chromium left out: no Chromium at ${CHROMIUM} (apt-get install chromium, or CHROMIUM=<path>)\n`);
}

const DOCKER_TESTS = /(container-target|target-killed-container)\.test\.ts$/;
const CHROMIUM_TESTS = /allure-report\.test\.ts$/;
const harnessProjects: HarnessProject[] = [
  { name: 'harness', testDir: './harness/tests', testMatch: /.*\.test\.ts$/, testIgnore: [DOCKER_TESTS, CHROMIUM_TESTS] },
  ...(containerSpecs ? [{ name: 'harness-docker', testDir: './harness/tests', testMatch: DOCKER_TESTS }] : []),
  ...(chromiumTests ? [{ name: 'harness-chromium', testDir: './harness/tests', testMatch: CHROMIUM_TESTS }] : []),
];

// Differential exploration (@explore): a small seeded budget by default, TROPIC_EXPLORE_RUNS nightly.
const exploreProject: HarnessProject = { name: 'explore', testDir: './specs/explore', testMatch: /.*\.spec\.ts$/, dependencies: targetSetupDependencies({}, cfg.TROPIC_TARGET) };

export default defineHarnessConfig({
  projects: [...harnessProjects, exploreProject],
  specs: { testDir: './specs', testMatch: /.*\.spec\.ts$/, testIgnore: /explore\// },
  containerSpecs,
  quiet: true,
});
