/**
 * Container targets through testcontainers: `tvl-container` (the real ts-tvl, from TVL_IMAGE or
 * built from docker/tvl.Dockerfile with TVL_WHEEL) and `model-container` (this project's model,
 * built from docker/model.Dockerfile). Containers carry the label `tropic-harness.target` so that
 * leftovers of a crashed run are removed at the next start. Readiness is an answered frame.
 */
import path from 'node:path';
import { ANSI_COLOURS } from './target.js';
import { execFileSync } from 'node:child_process';
import { TargetError } from '../errors.js';
import type { HarnessConfig } from '../config/env.js';
import { PROJECT_ROOT, DEFAULT_MODEL_CONFIG } from '../paths.js';
import { waitForAnsweredFrame } from './wait-ready.js';
import { LogBuffer, type TargetHandle } from './target.js';

export const CONTAINER_LABEL = 'tropic-harness.target';

export async function startContainerTarget(cfg: HarnessConfig, slot: number): Promise<TargetHandle> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
  } catch (cause) {
    throw new TargetError('testcontainers is not installed (npm ci installs it)', 'TH_TARGET_DEPS', { cause });
  }
  const kind = cfg.TROPIC_TARGET as 'tvl-container' | 'model-container';
  const image = kind === 'tvl-container' && cfg.TVL_IMAGE ? cfg.TVL_IMAGE : await buildImage(tc, cfg, kind);
  const configFile = path.resolve(cfg.TROPIC_MODEL_CONFIG ?? DEFAULT_MODEL_CONFIG);
  const logs = new LogBuffer();
  const container = await new tc.GenericContainer(image)
    .withLabels({ [CONTAINER_LABEL]: kind, 'tropic-harness.slot': String(slot) })
    .withExposedPorts(28992)
    .withCopyDirectoriesToContainer([{ source: path.dirname(configFile), target: '/config' }])
    .withCommand(['--address', '0.0.0.0', '--port', '28992', '--configuration', `/config/${path.basename(configFile)}`])
    .withLogConsumer((s) => s.on('data', (l: Buffer | string) => logs.push(String(l).replace(ANSI_COLOURS, '').trimEnd())))
    .withWaitStrategy(tc.Wait.forListeningPorts())
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(28992);
  await waitForAnsweredFrame(host, port, cfg.TVL_STARTUP_TIMEOUT_MS);
  return {
    kind,
    name: `${kind} ${image} @${host}:${port}`,
    host,
    port,
    resetMode: 'reset-target',
    drainLogs: () => logs.drain(),
    stop: async () => {
      await container.stop({ remove: true, timeout: 2000 });
    },
  };
}

async function buildImage(tc: typeof import('testcontainers'), cfg: HarnessConfig, kind: 'tvl-container' | 'model-container'): Promise<string> {
  const name = kind === 'tvl-container' ? 'tropic-harness/tvl:local' : 'tropic-harness/model:local';
  const dockerfile = kind === 'tvl-container' ? 'docker/tvl.Dockerfile' : 'docker/model.Dockerfile';
  const args: Record<string, string> =
    kind === 'tvl-container' ? { BASE_IMAGE: cfg.TVL_BASE_IMAGE, TVL_WHEEL: path.relative(PROJECT_ROOT, path.resolve(cfg.TVL_WHEEL!)) } : { BASE_IMAGE: cfg.MODEL_BASE_IMAGE };
  await tc.GenericContainer.fromDockerfile(PROJECT_ROOT, dockerfile).withBuildArgs(args).withCache(true).build(name, { deleteOnExit: false });
  return name;
}

/** Remove labelled containers left by a crashed run (docker CLI; no-op without an engine). */
export function removeLeftoverContainers(): number {
  try {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${CONTAINER_LABEL}`], { encoding: 'utf8', timeout: 15_000 }).split(/\s+/).filter(Boolean);
    if (ids.length) execFileSync('docker', ['rm', '-f', ...ids], { timeout: 60_000 });
    return ids.length;
  } catch {
    return 0;
  }
}
