/**
 * Run configuration from the environment and dotenv files: `.env`, then `.env.<TROPIC_PROFILE>`,
 * then `.env.local` (later files win; variables already in the environment win over all files).
 * One zod schema covers every variable; an invalid set fails before any test with one message
 * listing each bad variable, its value (secrets masked) and the expected form.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';

export const TARGET_KINDS = ['embedded', 'tvl-container', 'model-container', 'tvl-process', 'rig'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every variable, its form and its documentation (also rendered into .env.example). */
export const ENV_SPEC = {
  TROPIC_TARGET: { schema: z.enum(TARGET_KINDS).default('embedded'), doc: `target kind: ${TARGET_KINDS.join(' | ')}`, example: 'embedded' },
  TROPIC_PROFILE: { schema: z.string().regex(/^[\w.-]+$/).optional(), doc: 'profile name: also loads .env.<profile>', example: '' },
  TROPIC_MODEL_CONFIG: { schema: z.string().min(1).optional(), doc: "model configuration (ts-tvl YAML) for model targets; the project's default when unset", example: '' },
  TROPIC_PAIRING_SLOT: { schema: int(0, 3).default(0), doc: 'pairing key slot of the secure session (0..3)', example: '0' },
  TROPIC_PAIRING_KEY: {
    schema: z.string().regex(/^([0-9a-fA-F]{64}|.+\.(pem|der))$/, 'a PEM/DER file path or 64 hex digits').optional(),
    doc: "host pairing private key (X25519) for TROPIC_PAIRING_SLOT: PEM/DER path or 64 hex digits. SECRET. Default: the model's slot-0 test key",
    example: '',
    secret: true,
  },
  TROPIC_RIG: { schema: z.string().regex(/^tcp:\/\/[^:/\s]+:\d{1,5}$/, 'tcp://host:port').optional(), doc: 'rig endpoint for TROPIC_TARGET=rig, tcp://host:port', example: '' },
  TROPIC_RIG_NAME: { schema: z.string().optional(), doc: 'rig name for report labels', example: '' },
  TROPIC_ALLOW_IRREVERSIBLE: { schema: bool.default(false), doc: 'allow @irreversible specs (I-config writes, pairing-key writes/invalidation) on a rig: 0 | 1', example: '0' },
  TROPIC_CONNECT_TIMEOUT_MS: { schema: int(1, 600_000).default(2000), doc: 'per-address TCP connect timeout (ms)', example: '2000' },
  TROPIC_IO_TIMEOUT_MS: { schema: int(1, 600_000).default(5000), doc: 'bound on one tagged-message reply (ms)', example: '5000' },
  TROPIC_RESPONSE_TIMEOUT_MS: { schema: int(1, 600_000).default(10_000), doc: 'bound on polling one L2 response (ms)', example: '10000' },
  TROPIC_POLL_DELAY_MS: { schema: int(0, 10_000).default(0), doc: 'WAIT between Get_Response polls (ms); raise for real chips', example: '0' },
  TROPIC_PIPELINE: {
    schema: bool.default(false),
    doc: 'pipeline tagged messages (a chip-select window in one round trip): 0 | 1. Only for servers that frame their input (the embedded model, model-container); ts-tvl 2.2 loses frames. Not with TROPIC_RECONNECT',
    example: '0',
  },
  TROPIC_RECONNECT: { schema: bool.default(false), doc: 'reconnect once and retry when the TCP link drops: 0 | 1', example: '0' },
  TROPIC_ALLURE_RESULTS: { schema: z.string().min(1).default('reports/allure-results'), doc: 'where allure-playwright writes results (relative to the project root)', example: 'reports/allure-results' },
  TVL_COMMAND: { schema: z.string().min(1).optional(), doc: "tvl-process: command that starts ts-tvl's server, e.g. `model_server tcp` (port and configuration are appended)", example: '' },
  TVL_PORT_BASE: { schema: int(1024, 65000).default(28992), doc: 'tvl-process: first port; worker slot N uses base + 1 + N', example: '28992' },
  TVL_STARTUP_TIMEOUT_MS: { schema: int(100, 600_000).default(30_000), doc: 'tvl-process/containers: bound on waiting for the first answered frame (ms)', example: '30000' },
  TVL_IMAGE: { schema: z.string().optional(), doc: 'tvl-container: ready ts-tvl image (skips the build)', example: '' },
  TVL_WHEEL: { schema: z.string().optional(), doc: 'tvl-container: ts-tvl wheel (.whl) or source directory to install into the built image', example: '' },
  TVL_BASE_IMAGE: { schema: z.string().default('python:3.12-slim'), doc: 'tvl-container: base image of the built image', example: 'python:3.12-slim' },
  TVL_PIP_ARGS: { schema: z.string().default(''), doc: 'tvl-container: extra pip arguments for the built image, e.g. "--no-deps --no-build-isolation" on a base image that already has ts-tvl\'s dependencies (no registry)', example: '' },
  DOCKER_HOST: {
    schema: z.string().regex(/^(unix|tcp|npipe|ssh):\/\/\S+$/, 'unix://path, tcp://host:port, ssh://host or npipe://path').optional(),
    doc: "container targets: the Docker engine (local or remote). Unset: the engine that .ci/docker-engine started (reports/.docker/engine.env), else testcontainers' default",
    example: '',
  },
  MODEL_BASE_IMAGE: { schema: z.string().default('tropic-harness/base:bookworm'), doc: "model-container: base image with Node 20 for the project's model image", example: 'tropic-harness/base:bookworm' },
} as const;

type Spec = typeof ENV_SPEC;
export type HarnessConfig = { [K in keyof Spec]: z.output<Spec[K]['schema']> };

const isSecret = (k: string): boolean => 'secret' in (ENV_SPEC as Record<string, object>)[k];

export function mask(key: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  return isSecret(key) ? (/\.(pem|der)$/.test(value) ? value : '***') : value;
}

/** Read dotenv files in precedence order (no process.env mutation). */
export function loadDotenv(dir = PROJECT_ROOT, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const read = (f: string) => (existsSync(path.join(dir, f)) ? parseDotenv(readFileSync(path.join(dir, f))) : {});
  const base = read('.env');
  const profile = env.TROPIC_PROFILE ?? base.TROPIC_PROFILE;
  return { ...base, ...(profile ? read(`.env.${profile}`) : {}), ...read('.env.local') };
}

export function resolveConfig(env: NodeJS.ProcessEnv = process.env, dir = PROJECT_ROOT): HarnessConfig {
  const files = loadDotenv(dir, env);
  const merged: Record<string, string | undefined> = { ...files };
  for (const k of Object.keys(ENV_SPEC)) if (env[k] !== undefined && env[k] !== '') merged[k] = env[k];
  for (const [k, v] of Object.entries(merged)) if (v === '') merged[k] = undefined;
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(ENV_SPEC)) {
    const r = (spec.schema as z.ZodType).safeParse(merged[key]);
    if (r.success) out[key] = r.data;
    else problems.push(`${key}=${JSON.stringify(mask(key, merged[key]))}: ${r.error.issues.map((i) => i.message).join('; ')} (expected: ${spec.doc})`);
  }
  const cfg = out as HarnessConfig;
  if (problems.length === 0) {
    if (cfg.TROPIC_TARGET === 'rig' && !cfg.TROPIC_RIG) problems.push(`TROPIC_RIG="(unset)": required when TROPIC_TARGET=rig (expected: tcp://host:port)`);
    if (cfg.TROPIC_TARGET === 'tvl-process' && !cfg.TVL_COMMAND) problems.push(`TVL_COMMAND="(unset)": required when TROPIC_TARGET=tvl-process (expected: e.g. "model_server tcp")`);
    if (cfg.TROPIC_PIPELINE && cfg.TROPIC_RECONNECT) problems.push(`TROPIC_PIPELINE="1" with TROPIC_RECONNECT="1": choose one (a retried exchange would be re-sent behind messages already written)`);
    if (cfg.TROPIC_TARGET === 'tvl-container' && !cfg.TVL_IMAGE && !cfg.TVL_WHEEL) problems.push(`TVL_IMAGE/TVL_WHEEL="(unset)": one is required when TROPIC_TARGET=tvl-container`);
  }
  if (problems.length) throw new ConfigError(`invalid tropic-harness configuration (${problems.length} problem${problems.length > 1 ? 's' : ''})`, problems);
  return cfg;
}

/** The resolved configuration with secrets redacted, for printing. */
export function redactedConfig(cfg: HarnessConfig): Record<string, string> {
  return Object.fromEntries(Object.keys(ENV_SPEC).map((k) => [k, mask(k, cfg[k as keyof HarnessConfig] === undefined ? undefined : String(cfg[k as keyof HarnessConfig]))]));
}

export function envExample(): string {
  return (
    '# tropic-harness configuration. Copy to .env (or .env.local / .env.<profile>) and edit.\n# Generated from harness/config/env.ts; every variable is optional unless noted.\n\n' +
    Object.entries(ENV_SPEC).map(([k, s]) => `# ${s.doc}\n${k}=${s.example}\n`).join('\n')
  );
}
