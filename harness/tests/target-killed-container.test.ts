/**
 * A model-container target killed through the engine (dockerode) mid-test, in a small child run:
 * the test fails with TH_TARGET_LOST naming the stopped container, its frame log and the
 * container's log are in its Allure result, the rest of the run skips at once, every started test
 * has one finished Allure result, and no labelled container of the run is left.
 *
 * The child run's setup and teardown are its own, not fixtures/lifecycle: the lifecycle's setup and
 * teardown remove every labelled container on the engine, and this test runs beside the
 * model-container spec project. The child run's chip configuration is a copy of the default one
 * with a marker file, so its containers carry a configuration label of their own (never reused
 * from, or mistaken for, another run's) and its teardown removes only those.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Docker from 'dockerode';
import { test, expect } from '@playwright/test';
import { resolveConfig } from '../config/env.js';
import { configHash, CONTAINER_LABEL } from '../targets/container.js';
import { dockerEngine, dockerodeOptions } from '../targets/docker-engine.js';
import { DEFAULT_CONFIG_DIR, DEFAULT_MODEL_CONFIG } from '../paths.js';
import { expectAttachments, expectResultsComplete, plantWorkspace, removeWorkspace, runChildPlaywright } from './target-killed-run.js';

const cfg = resolveConfig({ ...process.env, TROPIC_TARGET: 'model-container' });

const configFile = `import { defineConfig } from '@playwright/test';
import { globalSetupFile, harnessReporters } from '@root/harness/playwright/index.js';
import { resolveConfig } from '@root/harness/config/env.js';
const workspace = process.env.TROPIC_WORKSPACE;
const cfg = resolveConfig(process.env, workspace);
const use = { targetKind: 'model-container' };
export default defineConfig({
  timeout: 120_000, workers: 1, retries: 0, outputDir: workspace + '/test-results', globalSetup: globalSetupFile(),
  reporter: [...harnessReporters(cfg, { workspace }), ['json', { outputFile: workspace + '/report.json' }]],
  projects: [
    { name: 'killed setup', testMatch: /killed\\.setup\\.ts$/, teardown: 'killed teardown', use },
    { name: 'killed teardown', testMatch: /killed\\.teardown\\.ts$/, use },
    { name: 'killed', testMatch: /\\.spec\\.ts$/, dependencies: ['killed setup'], use },
  ],
});
`;

const setupFile = `import { configTest as test } from '@root/fixtures/index.js';
import { prepareContainerImage } from '@root/harness/targets/container.js';
test('killed setup', async ({ harnessConfig }) => {
  test.setTimeout(600_000);
  await prepareContainerImage(harnessConfig);
});
`;

/** Removes this run's containers only (its configuration label), and fails if any survive. */
const teardownFile = `import Docker from 'dockerode';
import { configTest as test, expect } from '@root/fixtures/index.js';
import { dockerEngine, dockerodeOptions } from '@root/harness/targets/docker-engine.js';
test('killed teardown', async ({ harnessConfig }) => {
  const docker = new Docker(dockerodeOptions(dockerEngine(harnessConfig)));
  const filters = { label: ['tropic-harness.config=' + process.env.H11_CONFIG_LABEL] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true });
  expect(await docker.listContainers({ all: true, filters })).toEqual([]);
});
`;

const killSpec = `import Docker from 'dockerode';
import { test, expect } from '@root/fixtures/index.js';
import { dockerEngine, dockerodeOptions } from '@root/harness/targets/docker-engine.js';
test('the container answers before the kill @reversible', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
});
test('the container is killed mid-test @reversible', async ({ tropic, target, harnessConfig }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
  const id = target.name.split(' ')[2];
  await new Docker(dockerodeOptions(dockerEngine(harnessConfig))).getContainer(id).kill({ signal: 'SIGKILL' });
  await tropic.chipId();
});
for (let i = 1; i <= 4; i++) test('a later test ' + i + ' @reversible', async ({ tropic }) => {
  expect((await tropic.chipId()).serial).toBeTruthy();
});
`;

test('a model-container target killed mid-test: TH_TARGET_LOST, frame and container logs in Allure, the rest skipped, no result lost, no container left', async () => {
  test.setTimeout(600_000);
  const workspace = plantWorkspace('h11-container-killed-', {
    'playwright.config.ts': configFile,
    'killed.setup.ts': setupFile,
    'killed.teardown.ts': teardownFile,
    'killed.spec.ts': killSpec,
  });
  const chipConfig = path.join(workspace, 'chip-config');
  cpSync(DEFAULT_CONFIG_DIR, chipConfig, { recursive: true });
  writeFileSync(path.join(chipConfig, 'run-marker.txt'), randomUUID() + '\n');
  const modelConfig = path.join(chipConfig, path.basename(DEFAULT_MODEL_CONFIG));
  const label = configHash(modelConfig);
  const docker = new Docker(dockerodeOptions(dockerEngine(cfg)));
  const filters = { label: [`${CONTAINER_LABEL}=model-container`, `tropic-harness.config=${label}`] };
  try {
    const run = await runChildPlaywright(workspace, {
      TROPIC_TARGET: 'model-container',
      TROPIC_MODEL_CONFIG: modelConfig,
      H11_CONFIG_LABEL: label,
      ...(dockerEngine(cfg).dockerHost ? { DOCKER_HOST: dockerEngine(cfg).dockerHost! } : {}),
      ...dockerEngine(cfg).vars,
    });
    expect(run.exitCode, run.output).not.toBe(0);
    expect(run.started.find((t) => t.title === 'the container answers before the kill @reversible')?.status, run.output).toBe('passed');
    const killed = run.started.find((t) => t.title === 'the container is killed mid-test @reversible');
    expect(killed?.status, run.output).toBe('failed');
    expect(killed!.errors.join('\n')).toMatch(/TH_TARGET_LOST \[target\] target model-container .* lost during .*the container is killed mid-test.*container [0-9a-f]{12} is (exited|gone)/);
    expectAttachments(run, 'the container is killed mid-test @reversible', 'model-container-log.txt');
    expect(run.allure.find((r) => r.name === 'the container is killed mid-test @reversible')!.message).toMatch(/TH_(TARGET_LOST|TCP_\w+)/);

    const later = run.started.filter((t) => t.title.startsWith('a later test'));
    expect(later).toHaveLength(4);
    for (const t of later) {
      expect(t.status, t.title).toBe('skipped');
      expect(t.annotations.find((a) => a.type === 'skip')?.description).toMatch(/^target lost: /);
    }
    expect(run.started.filter((t) => t.status === 'failed' && t.project === 'killed')).toHaveLength(1);
    expect(run.started.find((t) => t.title === 'killed teardown')?.status).toBe('passed');
    expectResultsComplete(run);
    expect(await docker.listContainers({ all: true, filters }), 'labelled containers of the run left').toEqual([]);
  } finally {
    // A failed run must not leave its container on the engine either.
    for (const c of await docker.listContainers({ all: true, filters }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
    removeWorkspace(workspace);
  }
});
