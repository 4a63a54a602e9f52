/**
 * Which Docker engine the container targets use, chosen once per configuration and passed along.
 * In order: DOCKER_HOST (environment or dotenv), then the private engine that
 * `.ci/docker-engine start` wrote to reports/.docker/engine.env, then the default socket. The
 * harness's own engine calls (dockerode) get the choice as explicit options; testcontainers reads
 * only process.env, so `exportForTestcontainers` is the one place that writes it, once per process.
 * Ryuk (the reaper image) is off unless asked for: no registry may be reachable, and the harness
 * removes its own labelled containers (setup removes leftovers, teardown removes the run's).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type Docker from 'dockerode';
import { TargetError } from '../errors.js';
import { WORKSPACE_ROOT } from '../paths.js';

export const PRIVATE_ENGINE_ENV = path.join(WORKSPACE_ROOT, 'reports', '.docker', 'engine.env');

export interface EngineChoice {
  dockerHost: string | undefined;
  source: 'DOCKER_HOST' | 'private engine (.ci/docker-engine)' | 'testcontainers default';
  /** DOCKER_* and TESTCONTAINERS_* variables that go with the engine (for testcontainers). */
  vars: Readonly<Record<string, string>>;
}

const ENGINE_VARS = /^(DOCKER_|TESTCONTAINERS_)/;
const choices = new WeakMap<object, EngineChoice>();

/** The engine for a configuration: decided on first use, the same object afterwards. */
export function dockerEngine(cfg: { DOCKER_HOST?: string }, env: NodeJS.ProcessEnv = process.env, privateEngineEnv = PRIVATE_ENGINE_ENV): EngineChoice {
  const known = choices.get(cfg);
  if (known) return known;
  const fromEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => ENGINE_VARS.test(e[0]) && e[1] !== undefined));
  const privateVars = existsSync(privateEngineEnv) ? parseDotenv(readFileSync(privateEngineEnv)) : undefined;
  let choice: EngineChoice;
  if (cfg.DOCKER_HOST) {
    // DOCKER_HOST naming the private engine gets its settings too: that engine publishes ports on
    // 127.0.0.1 only, and testcontainers finds them only with its host override.
    const sameEngine = privateVars?.DOCKER_HOST === cfg.DOCKER_HOST ? privateVars : {};
    choice = { dockerHost: cfg.DOCKER_HOST, source: 'DOCKER_HOST', vars: { ...sameEngine, ...fromEnv, DOCKER_HOST: cfg.DOCKER_HOST } };
  } else if (privateVars) {
    const vars = { ...privateVars, ...fromEnv };
    choice = { dockerHost: vars.DOCKER_HOST, source: 'private engine (.ci/docker-engine)', vars };
  } else choice = { dockerHost: fromEnv.DOCKER_HOST, source: 'testcontainers default', vars: fromEnv };
  choice = { ...choice, vars: { TESTCONTAINERS_RYUK_DISABLED: 'true', ...choice.vars } };
  choices.set(cfg, choice);
  return choice;
}

/** dockerode's connection options for the chosen engine (undefined: its default socket). */
export function dockerodeOptions(choice: EngineChoice): Docker.DockerOptions | undefined {
  const host = choice.dockerHost;
  if (!host) return undefined;
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('npipe://')) return { socketPath: host.slice('npipe://'.length) };
  const url = new URL(host);
  if (url.protocol === 'ssh:') return { protocol: 'ssh', host: url.hostname, port: url.port || 22, username: url.username || undefined };
  const tls = choice.vars.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
  const certDir = choice.vars.DOCKER_CERT_PATH;
  const material = tls && certDir ? { ca: readFileSync(path.join(certDir, 'ca.pem')), cert: readFileSync(path.join(certDir, 'cert.pem')), key: readFileSync(path.join(certDir, 'key.pem')) } : {};
  return { protocol: tls ? 'https' : 'http', host: url.hostname, port: url.port || (tls ? 2376 : 2375), ...material };
}

let exported: EngineChoice | undefined;

/**
 * Hand the engine to testcontainers, which reads process.env only and keeps its client for the
 * life of the process: so this happens once, and a second, different engine in one process is an
 * error rather than a silent use of the first.
 */
export function exportForTestcontainers(choice: EngineChoice, env: NodeJS.ProcessEnv = process.env): void {
  if (exported) {
    if (exported.dockerHost !== choice.dockerHost) throw new TargetError(`testcontainers already uses the engine ${exported.dockerHost ?? '(default)'} in this process; cannot switch to ${choice.dockerHost ?? '(default)'}`, 'TH_NO_DOCKER_ENGINE');
    return;
  }
  for (const [k, v] of Object.entries(choice.vars)) env[k] ??= v;
  if (choice.dockerHost) env.DOCKER_HOST = choice.dockerHost;
  exported = choice;
}
