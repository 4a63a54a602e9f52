/**
 * Which Docker engine the container targets use. In order: DOCKER_HOST (environment or dotenv),
 * then the private engine that `.ci/docker-engine start` wrote to reports/.docker/engine.env, then
 * testcontainers' own discovery (default socket, ~/.testcontainers.properties). Ryuk (the reaper
 * image) is off unless asked for: no registry may be reachable, and the harness removes its own
 * labelled containers (setup removes leftovers, teardown removes the run's).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { HarnessConfig } from '../config/env.js';
import { PROJECT_ROOT } from '../paths.js';

export const PRIVATE_ENGINE_ENV = path.join(PROJECT_ROOT, 'reports', '.docker', 'engine.env');

export interface EngineChoice {
  dockerHost: string | undefined;
  source: 'DOCKER_HOST' | 'private engine (.ci/docker-engine)' | 'testcontainers default';
}

/** Put the chosen engine into process.env (testcontainers reads it from there) and say which. */
export function useDockerEngine(cfg: HarnessConfig, env: NodeJS.ProcessEnv = process.env): EngineChoice {
  env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  if (cfg.DOCKER_HOST) {
    env.DOCKER_HOST = cfg.DOCKER_HOST;
    return { dockerHost: cfg.DOCKER_HOST, source: 'DOCKER_HOST' };
  }
  if (existsSync(PRIVATE_ENGINE_ENV)) {
    const vars = parseDotenv(readFileSync(PRIVATE_ENGINE_ENV));
    for (const [k, v] of Object.entries(vars)) env[k] ??= v;
    return { dockerHost: env.DOCKER_HOST, source: 'private engine (.ci/docker-engine)' };
  }
  return { dockerHost: env.DOCKER_HOST, source: 'testcontainers default' };
}
