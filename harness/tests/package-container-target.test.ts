/**
 * TROPIC_TARGET=model-container from an installed package (project harness-docker: needs a Docker
 * engine, `bash .ci/docker-engine start`). A consumer made by `init` with the packed tarball
 * installed (consumer-project.ts, no registry) runs its example spec in a container whose image is
 * built from node_modules/tropic-harness alone, on MODEL_BASE_IMAGE, with no network. Another
 * project's container on the same engine survives the consumer's setup and teardown.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { test, expect } from '@playwright/test';
import { resolveConfig } from '../config/env.js';
import { CONTAINER_LABEL, SLOT_LABEL, WORKSPACE_LABEL } from '../targets/container.js';
import { dockerEngine, dockerodeOptions } from '../targets/docker-engine.js';
import { MODEL_RUNTIME_PACKAGES, installedClosure } from '../targets/image-context.js';
import { PACKAGE_ROOT } from '../paths.js';
import { cleanEnv, initConsumer, installOffline, packBuiltPackage, packageJson, sh } from './consumer-project.js';

const cfg = resolveConfig({ ...process.env, TROPIC_TARGET: 'model-container' });
let tmp: string;
test.beforeAll(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'tropic-consumer-container-'))));
test.afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('a consumer with the packed package installed runs its example spec on model-container, the image built from node_modules/tropic-harness; another project\'s container is left alone', async () => {
  test.setTimeout(600_000);
  const tarball = packBuiltPackage(tmp);
  const consumer = path.join(tmp, 'fw-specs');
  const init = initConsumer(consumer, tarball, tmp);
  expect(init.status, init.stderr).toBe(0);
  test.info().annotations.push({ type: 'install', description: installOffline(consumer, tarball) });

  const engine = dockerEngine(cfg);
  const docker = new Docker(dockerodeOptions(engine));
  const other = await docker.createContainer({
    Image: cfg.MODEL_BASE_IMAGE,
    Cmd: ['true'],
    Labels: { [CONTAINER_LABEL]: 'model-container', [SLOT_LABEL]: '93', [WORKSPACE_LABEL]: path.join(tmp, 'another-project') },
  });
  try {
    const run = sh('npx', ['playwright', 'test', 'specs/example.spec.ts'], consumer, {
      env: cleanEnv({ CI: '1', TROPIC_TARGET: 'model-container', TROPIC_CONTAINER_SPECS: '0', ...engine.vars }),
      timeout: 540_000,
    });
    const output = run.stdout + run.stderr;
    expect(run.status, output).toBe(0);
    const packages = installedClosure(PACKAGE_ROOT, MODEL_RUNTIME_PACKAGES).length;
    expect(output).toContain(`[model-container setup] building tropic-harness/model:${packageJson.version} from docker/model.Dockerfile (dist/ + ${packages} run-time packages around node_modules/tropic-harness)`);

    const junit = readFileSync(path.join(consumer, 'reports', 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuites [^>]*failures="0"/);
    for (const title of ['Ping through a secure session echoes its data', 'target setup', 'target teardown']) expect(junit).toContain(`name="${title}`);
    const resultsDir = path.join(consumer, 'reports', 'allure-results');
    const ping = readdirSync(resultsDir)
      .filter((f) => f.endsWith('-result.json'))
      .map((f) => JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as { name: string; status: string; labels: { name: string; value: string }[] })
      .find((r) => r.name === 'Ping through a secure session echoes its data');
    expect(ping?.status).toBe('passed');
    expect(ping!.labels).toContainEqual({ name: 'target', value: 'model-container' });

    // The consumer's teardown removed its own containers and nothing of the other project's.
    const left = await docker.listContainers({ all: true, filters: { label: [`${WORKSPACE_LABEL}=${consumer}`] } });
    expect(left).toHaveLength(0);
    expect((await other.inspect()).Config.Labels[WORKSPACE_LABEL]).toBe(path.join(tmp, 'another-project'));
  } finally {
    await other.remove({ force: true });
  }
});
