/**
 * The container target for real: a Docker engine (`bash .ci/docker-engine start`, or DOCKER_HOST)
 * runs this project's model image. Worker slots 90+ keep these tests clear of the slots the
 * model-container spec project uses in the same run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { test, expect } from '@playwright/test';
import { resolveConfig } from '../config/env.js';
import { CONTAINER_LABEL, SLOT_LABEL, imageName, listContainers, prepareContainerImage, removeContainers, startContainerTarget } from '../targets/container.js';
import { runtimeClosure, MODEL_RUNTIME_PACKAGES } from '../targets/image-context.js';
import { dockerEngine, dockerodeOptions } from '../targets/docker-engine.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { PROJECT_ROOT } from '../paths.js';
import { loadPairingKey } from '../config/pairing-key.js';

const cfg = resolveConfig({ ...process.env, TROPIC_TARGET: 'model-container' });

test.describe.configure({ mode: 'serial', timeout: 300_000 });

test('the model image holds only the model server\'s run-time packages', () => {
  const lock = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof runtimeClosure>[0];
  const closure = runtimeClosure(lock, MODEL_RUNTIME_PACKAGES);
  for (const p of MODEL_RUNTIME_PACKAGES) expect(closure).toContain(`node_modules/${p}`);
  // Transitive dependencies come along (x509 needs asn1-schema, tslib, ...); test tooling does not.
  expect(closure.filter((p) => p.startsWith('node_modules/@peculiar/asn1-')).length).toBeGreaterThan(3);
  for (const tool of ['typescript', 'playwright', 'allure', 'testcontainers', 'eslint']) expect(closure).not.toContain(`node_modules/${tool}`);
  expect(() => runtimeClosure(lock, ['no-such-package-xyz'])).toThrow(/no-such-package-xyz .*package-lock\.json/);
});

test('a slot starts its container once; a later worker of the slot reuses it, chip state kept', async () => {
  await prepareContainerImage(cfg);
  await removeContainers(cfg, 'model-container', 90);
  const key = loadPairingKey(cfg);
  const marker = new Uint8Array(40).map((_, i) => (i * 7 + 3) & 0xff);

  const first = await startContainerTarget(cfg, 90);
  let t = await TcpTransport.connect({ host: first.host, port: first.port });
  let ts = new TropicSquare(t);
  await ts.startSecureSession(0, key);
  await ts.memDataWrite(marker, 300);
  await t.close();
  await first.stop(); // what a discarded worker does: the container stays for the slot

  const second = await startContainerTarget(cfg, 90);
  expect(second.port).toBe(first.port);
  expect(second.name.split(' ')[2]).toBe(first.name.split(' ')[2]); // the container id
  const found = await listContainers(cfg, 'model-container', 90);
  expect(found.map((c) => c.state)).toEqual(['running']);
  t = await TcpTransport.connect({ host: second.host, port: second.port });
  ts = new TropicSquare(t);
  await ts.startSecureSession(0, key);
  expect(await ts.memDataRead(300)).toEqual(marker);
  await t.close();
  expect(second.drainLogs()).toMatch(/client .* connected/);
  await second.stop();

  expect(await removeContainers(cfg, 'model-container', 90)).toBe(1);
  expect(await listContainers(cfg, 'model-container', 90)).toHaveLength(0);
});

test('a labelled container left by a crashed run is found and removed, running or not', async () => {
  await prepareContainerImage(cfg);
  const docker = new Docker(dockerodeOptions(dockerEngine(cfg)));
  const leftover = await docker.createContainer({ Image: imageName(cfg), Labels: { [CONTAINER_LABEL]: 'model-container', [SLOT_LABEL]: '91' } });
  const running = await docker.createContainer({ Image: imageName(cfg), Labels: { [CONTAINER_LABEL]: 'model-container', [SLOT_LABEL]: '91' } });
  await running.start();
  const listed = await listContainers(cfg, 'model-container', 91);
  expect(listed.map((c) => c.state).sort()).toEqual(['created', 'running']);
  expect(await removeContainers(cfg, 'model-container', 91)).toBe(2);
  await expect(leftover.inspect()).rejects.toThrow(/no such container/i);
  await expect(running.inspect()).rejects.toThrow(/no such container/i);
});

test('without an engine the error names the engine tried and how to get one, and the environment is left alone', async () => {
  const bad = resolveConfig({ ...process.env, TROPIC_TARGET: 'model-container', DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  const before = process.env.DOCKER_HOST;
  await expect(listContainers(bad)).rejects.toMatchObject({ code: 'TH_NO_DOCKER_ENGINE', message: expect.stringMatching(/DOCKER_HOST unix:\/\/\/nonexistent\/docker\.sock.*\.ci\/docker-engine start/) });
  // The engine is passed to dockerode as options, not through process.env.
  expect(process.env.DOCKER_HOST).toBe(before);
});
