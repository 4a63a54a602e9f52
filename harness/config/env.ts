/**
 * Run configuration from the environment and dotenv files: `.env`, then `.env.<TROPIC_PROFILE>`,
 * then `.env.local` (later files win; variables already in the environment win over all files).
 * One zod schema covers every variable; an invalid set fails before any test with one message
 * listing each bad variable, its value (secrets masked) and the expected form. Everything that can
 * be checked before the first test is checked here (files exist and parse, the tvl command can be
 * found, result folders can be written), so a bad set costs well under a second, not a test run.
 *
 * Besides the flat variables the resolved configuration carries what consumers need, parsed once:
 * `target` (one variant per TROPIC_TARGET), `transportOptions` and `pollOptions`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { ConfigError, HarnessError } from '../errors.js';
import { WORKSPACE_ROOT } from '../paths.js';
import { parseHostPort, parseTargetUrl } from '../transport/target-url.js';
import { parseCommandLine, type CommandLine } from './command-line.js';
import { checkFileChecks, type FileProblem } from './file-checks.js';
import { deriveTarget, type PollOptions, type TargetConfig, type TransportConfig, readTlsMaterial } from './target-config.js';

export const TARGET_KINDS = ['embedded', 'tvl-container', 'model-container', 'tvl-process', 'rig'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
export type { TargetConfig, PollOptions, TransportConfig } from './target-config.js';

const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const pemPath = z.string().regex(/\.(pem|crt|cer|key)$/i, 'a PEM file path (.pem, .crt, .cer or .key)');

/** A zod check that runs one of the harness's own parsers and reports its message. */
const parsedBy = (parse: (v: string) => unknown) =>
  z.string().superRefine((v, ctx) => {
    try {
      parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof HarnessError ? e.detail : (e as Error).message });
    }
  });

const leaseStore = parsedBy((v) => {
  if (v === 'local') return;
  const m = /^redis:\/\/([^/]+)(?:\/(\d{1,2}))?$/.exec(v);
  if (!m) throw new ConfigError(`${JSON.stringify(v)} is not "local" or redis://host:port[/db]`);
  parseHostPort(m[1], 'redis address');
});

const rigLabels = z.string().regex(/^\s*[\w.-]+=[^,=\s]+(\s*,\s*[\w.-]+=[^,=\s]+)*\s*$/, 'a comma list of key=value');

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
  TROPIC_RIG: {
    schema: parsedBy((v) => parseTargetUrl(v, 'TROPIC_RIG')).optional(),
    doc: 'rig endpoint for TROPIC_TARGET=rig: tcp://host:port, or tls://host:port with TROPIC_TLS_*; IPv6 as tcp://[::1]:28992',
    example: '',
  },
  TROPIC_RIG_NAME: { schema: z.string().optional(), doc: 'rig name for report labels', example: '' },
  TROPIC_RIGS: { schema: z.string().regex(/\.ya?ml$/, 'a .yaml file path').optional(), doc: 'rig pool: inventory YAML of the rigs a run may lease (one per worker)', example: '' },
  TROPIC_RIG_LABELS: { schema: rigLabels.optional(), doc: 'rig pool: labels a leased rig must carry, as key=value,key=value', example: '' },
  TROPIC_LEASE_STORE: { schema: leaseStore.default('local'), doc: 'rig pool: where leases are kept: local (this machine) | redis://host:port[/db]', example: 'local' },
  TROPIC_LEASE_TTL_MS: { schema: int(1, 3_600_000).default(15_000), doc: 'rig pool: a lease expires this long after its last renewal (ms)', example: '15000' },
  TROPIC_LEASE_WAIT_MS: { schema: int(1, 3_600_000).default(60_000), doc: 'rig pool: bound on waiting for a free matching rig (ms)', example: '60000' },
  TROPIC_LEASE_DIR: { schema: z.string().min(1).optional(), doc: "rig pool: folder of the local lease store; the system's temporary folder when unset", example: '' },
  TROPIC_RUN_ID: { schema: z.string().regex(/^[\w.:-]+$/).optional(), doc: 'names this run in lease records; one is made per process when unset', example: '' },
  TROPIC_TRUST_ROOT: { schema: pemPath.optional(), doc: 'PEM file with the root certificate(s) chip certificate chains must end in', example: '' },
  TROPIC_TLS_CA: { schema: pemPath.optional(), doc: 'tls:// rigs: PEM file of the CA(s) that signed the rig server certificate; the system store when unset', example: '' },
  TROPIC_TLS_CERT: { schema: pemPath.optional(), doc: 'tls:// rigs: PEM client certificate, for servers that require client authentication', example: '' },
  TROPIC_TLS_KEY: { schema: pemPath.optional(), doc: 'tls:// rigs: PEM private key of TROPIC_TLS_CERT (a path; the file is SECRET and never printed)', example: '', secret: true },
  TROPIC_ALLOW_IRREVERSIBLE: { schema: bool.default(false), doc: 'allow @irreversible specs (I-config writes, pairing-key writes/invalidation) on a rig: 0 | 1', example: '0' },
  TROPIC_CONNECT_TIMEOUT_MS: { schema: int(1, 600_000).default(2000), doc: 'per-address TCP connect timeout (ms)', example: '2000' },
  TROPIC_IO_TIMEOUT_MS: { schema: int(1, 600_000).default(5000), doc: 'bound on one tagged-message reply (ms)', example: '5000' },
  TROPIC_RESPONSE_TIMEOUT_MS: { schema: int(1, 600_000).default(10_000), doc: 'bound on polling one L2 response (ms)', example: '10000' },
  TROPIC_POLL_DELAY_MS: { schema: int(0, 10_000).default(0), doc: 'WAIT between Get_Response polls (ms); 0 suits the models; for real chips use what libtropic waits, 25 ms (LT_L1_READ_RETRY_DELAY, up to 50 polls)', example: '0' },
  TROPIC_TEST_TIMEOUT_MS: { schema: int(1000, 3_600_000).default(60_000), doc: 'Playwright per-test timeout (ms)', example: '60000' },
  TROPIC_PIPELINE: {
    schema: bool.optional(),
    doc: 'pipeline tagged messages (a chip-select window in one round trip): 0 | 1; unset: on where the target frames its input (embedded, model-container, this project\'s model server as TVL_COMMAND), off for ts-tvl, rigs and unknown servers (ts-tvl 2.2 loses frames). Not with TROPIC_RECONNECT',
    example: '',
  },
  TROPIC_RECONNECT: { schema: bool.default(false), doc: 'reconnect once and retry when the TCP link drops: 0 | 1', example: '0' },
  TROPIC_SEED: { schema: z.string().min(1).max(200).optional(), doc: 'run seed of the host and model random sources (each test derives its own); a fixed default when unset, so runs repeat', example: '' },
  TROPIC_RECORD_SECRETS: { schema: bool.default(false), doc: 'record secrets in frame logs: host random draws (ephemeral keys, for replay) and each secure session\'s keys K_CMD/K_RES (so `framelog decode` shows L3 commands and results of a rig or ts-tvl log): 0 | 1. Keep such logs private', example: '0' },
  TROPIC_FRAMELOG_VIEWS: { schema: z.enum(['failed', 'always']).default('failed'), doc: 'when a test gets the decoded views of its frame log (frame-log.decoded.txt, frame-log.html) beside the raw frame-log.jsonl every test gets: failed | always. `tropic-harness framelog decode` (--html for the page) makes them from any log later', example: 'failed' },
  TROPIC_RESTORE: { schema: z.enum(['auto', 'always']).default('auto'), doc: 'undo the reversible changes of each test in its teardown (fixtures/restore.ts): auto (on targets that keep their chip between tests: rigs) | always (also on model targets, whose chip is rebuilt before every test anyway: checks the restore itself)', example: 'auto' },
  TROPIC_EXPLORE_RUNS: { schema: int(1, 1_000_000).default(100), doc: 'exploration: number of generated command sequences per property', example: '100' },
  TROPIC_ALLURE_RESULTS: { schema: z.string().min(1).default('reports/allure-results'), doc: 'where allure-playwright writes results (relative to the project root)', example: 'reports/allure-results' },
  TROPIC_CONTAINER_SPECS: { schema: bool.optional(), doc: 'run the model-container spec project: 1 | 0; unset: when a Docker engine is configured', example: '' },
  TVL_COMMAND: {
    schema: z.string().min(1).optional(),
    doc: "tvl-process: command that starts ts-tvl's server, e.g. `model_server tcp` (port and configuration are appended; started without a shell: quotes work, pipes and $VARS do not; a relative path is taken from the project)",
    example: '',
  },
  TVL_VERSION: { schema: z.string().regex(/^\d+(\.\d+)*([.-]?\w+)?$/, 'a version such as 2.2').optional(), doc: 'tvl-process/tvl-container: the ts-tvl version the target runs (for known findings); read from the installed package when unset', example: '' },
  TVL_PORT_BASE: { schema: int(1024, 65000).default(28992), doc: 'tvl-process: first port; worker slot N uses base + 1 + N', example: '28992' },
  TVL_STARTUP_TIMEOUT_MS: { schema: int(100, 600_000).default(30_000), doc: 'tvl-process/containers: bound on waiting for the first answered frame (ms)', example: '30000' },
  TVL_IMAGE: { schema: z.string().optional(), doc: 'tvl-container: ready ts-tvl image (skips the build)', example: '' },
  TVL_WHEEL: { schema: z.string().optional(), doc: 'tvl-container: ts-tvl wheel (.whl) or source directory to install into the built image', example: '' },
  TVL_BASE_IMAGE: { schema: z.string().default('python:3.12-slim'), doc: 'tvl-container: base image of the built image', example: 'python:3.12-slim' },
  TVL_PIP_ARGS: { schema: z.string().default(''), doc: 'tvl-container: extra pip arguments for the built image, e.g. "--no-deps --no-build-isolation" on a base image that already has ts-tvl\'s dependencies (no registry)', example: '' },
  DOCKER_HOST: {
    schema: z.string().regex(/^(unix|tcp|npipe|ssh):\/\/\S+$/, 'unix://path, tcp://host:port, ssh://host or npipe://path').optional(),
    doc: "container targets: the Docker engine (local or remote). Unset: the engine that .ci/docker-engine started (reports/.docker/engine.env), else testcontainers' default. Naming that private engine also applies the settings recorded with it",
    example: '',
  },
  MODEL_BASE_IMAGE: { schema: z.string().default('tropic-harness/base:bookworm'), doc: "model-container: base image with Node 20 for the project's model image", example: 'tropic-harness/base:bookworm' },
} as const;

type Spec = typeof ENV_SPEC;
/** The variables, parsed. */
export type FlatConfig = { [K in keyof Spec]: z.output<Spec[K]['schema']> };

/** The variables plus what is derived from them once (never rebuild these by hand). */
export type HarnessConfig = FlatConfig & {
  /** The target, one variant per kind, with its addresses and files parsed and resolved. */
  readonly target: TargetConfig;
  /** Options for TcpTransport.connect (without host and port), TLS material included for tls:// rigs. */
  readonly transportOptions: TransportConfig;
  /** Options for the driver's L2 polling. */
  readonly pollOptions: PollOptions;
};

const isSecret = (k: string): boolean => 'secret' in (ENV_SPEC as Record<string, object>)[k];

export function mask(key: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  return isSecret(key) ? (/\.(pem|der|key)$/i.test(value) ? value : '***') : value;
}

/**
 * Lines of a dotenv file that are not NAME=value (blank lines and comments aside). dotenv skips
 * them silently, so `TROPIC_TARGET rig` would leave the default target in force without a word.
 * Multi-line quoted values are followed to their closing quote.
 */
export function malformedDotenvLines(text: string, file: string): string[] {
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][\w.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      const name = /^[A-Za-z_][\w.-]*/.exec(line)?.[0];
      const shown = name && isSecretName(name) ? `${name} …` : line.length > 80 ? line.slice(0, 79) + '…' : line;
      problems.push(`${file} line ${i + 1}: ${JSON.stringify(shown)} is not NAME=value (a missing "="?)`);
      continue;
    }
    const quote = m[2][0];
    if ((quote === '"' || quote === "'" || quote === '`') && !m[2].slice(1).includes(quote)) {
      while (i + 1 < lines.length && !lines[i + 1].includes(quote)) i++;
      i++;
    }
  }
  return problems;
}

const isSecretName = (name: string): boolean => name in ENV_SPEC && isSecret(name);

function readDotenvFiles(dir: string, env: NodeJS.ProcessEnv): { vars: Record<string, string>; problems: string[] } {
  const problems: string[] = [];
  const read = (f: string): Record<string, string> => {
    const file = path.join(dir, f);
    if (!existsSync(file)) return {};
    const text = readFileSync(file, 'utf8');
    problems.push(...malformedDotenvLines(text, f));
    return parseDotenv(text);
  };
  const base = read('.env');
  const profile = env.TROPIC_PROFILE || base.TROPIC_PROFILE;
  const vars = { ...base, ...(profile ? read(`.env.${profile}`) : {}), ...read('.env.local') };
  return { vars, problems };
}

/** Read dotenv files in precedence order (no process.env mutation). Malformed lines are an error. */
export function loadDotenv(dir = WORKSPACE_ROOT, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const { vars, problems } = readDotenvFiles(dir, env);
  if (problems.length) throw invalid(problems);
  return vars;
}

function invalid(problems: string[]): ConfigError {
  return new ConfigError(`invalid tropic-harness configuration (${problems.length} problem${problems.length > 1 ? 's' : ''})`, problems);
}

/**
 * The validated configuration. `dir` is the user's project: dotenv files are read there and
 * relative paths (model configuration, keys, TVL_COMMAND, results) are taken from there.
 */
export function resolveConfig(env: NodeJS.ProcessEnv = process.env, dir = WORKSPACE_ROOT): HarnessConfig {
  const { vars: files, problems } = readDotenvFiles(dir, env);
  const merged: Record<string, string | undefined> = { ...files };
  for (const k of Object.keys(ENV_SPEC)) if (env[k] !== undefined && env[k] !== '') merged[k] = env[k];
  for (const [k, v] of Object.entries(merged)) if (v === '') merged[k] = undefined;
  const out: Record<string, unknown> = {};
  const bad = new Set<string>();
  for (const [key, spec] of Object.entries(ENV_SPEC)) {
    const r = (spec.schema as z.ZodType).safeParse(merged[key]);
    if (r.success) {
      out[key] = r.data;
      continue;
    }
    bad.add(key);
    const message = r.error.issues.map((i) => i.message).join('; ');
    problems.push(`${key}=${JSON.stringify(mask(key, merged[key]))}: ${message}${/; expected /.test(message) ? '' : ` (expected: ${spec.doc})`}`);
  }
  // Every problem in one message: the checks below run on whatever parsed.
  const flat = out as FlatConfig;
  if (flat.TROPIC_PIPELINE && flat.TROPIC_RECONNECT) problems.push(`TROPIC_PIPELINE="1" with TROPIC_RECONNECT="1": choose one (a retried exchange would be re-sent behind messages already written)`);
  const target = TARGET_INPUTS.some((k) => bad.has(k)) ? undefined : deriveTarget(flat, dir);
  if (target && !target.success) problems.push(...target.problems);
  problems.push(...checkFileChecks(fileChecks(flat, target?.success ? target.value : undefined), dir));
  if (problems.length || !target?.success) throw invalid(problems);
  const transportOptions: TransportConfig = {
    connectTimeoutMs: flat.TROPIC_CONNECT_TIMEOUT_MS,
    ioTimeoutMs: flat.TROPIC_IO_TIMEOUT_MS,
    reconnect: flat.TROPIC_RECONNECT,
    // Unset: the target decides (harness/transport/pipeline-policy.ts).
    ...(flat.TROPIC_PIPELINE !== undefined ? { pipeline: flat.TROPIC_PIPELINE } : {}),
    ...(target.value.kind === 'rig' && target.value.tls ? { tls: readTlsMaterial(target.value.tls) } : {}),
  };
  return { ...flat, target: target.value, transportOptions, pollOptions: { pollDelayMs: flat.TROPIC_POLL_DELAY_MS, responseTimeoutMs: flat.TROPIC_RESPONSE_TIMEOUT_MS } };
}

/** The variables the target variant is built from (when one is invalid, its own message says so). */
const TARGET_INPUTS = ['TROPIC_TARGET', 'TROPIC_MODEL_CONFIG', 'TVL_COMMAND', 'TVL_PORT_BASE', 'TVL_STARTUP_TIMEOUT_MS', 'TVL_VERSION', 'TVL_IMAGE', 'TVL_WHEEL', 'TVL_BASE_IMAGE', 'MODEL_BASE_IMAGE', 'TVL_PIP_ARGS', 'TROPIC_RIG', 'TROPIC_RIG_NAME', 'TROPIC_TLS_CA', 'TROPIC_TLS_CERT', 'TROPIC_TLS_KEY'];

/** What must exist (and parse) before the first test, for this configuration. */
function fileChecks(cfg: Partial<FlatConfig>, target: TargetConfig | undefined): FileProblem[] {
  const checks: FileProblem[] = [
    { variable: 'TROPIC_ALLURE_RESULTS', value: cfg.TROPIC_ALLURE_RESULTS, check: 'writable-folder' },
    { variable: 'TROPIC_MODEL_CONFIG', value: cfg.TROPIC_MODEL_CONFIG, check: 'file' },
    { variable: 'TROPIC_PAIRING_KEY', value: cfg.TROPIC_PAIRING_KEY, check: 'pairing-key' },
    { variable: 'TROPIC_TRUST_ROOT', value: cfg.TROPIC_TRUST_ROOT, check: 'certificate' },
    { variable: 'TROPIC_RIGS', value: cfg.TROPIC_RIGS, check: 'file' },
  ];
  if (cfg.TROPIC_TARGET === 'tvl-process' && cfg.TVL_COMMAND) {
    const line = target?.kind === 'tvl-process' ? target : tryParseCommandLine(cfg.TVL_COMMAND);
    if (line) checks.push({ variable: 'TVL_COMMAND', value: cfg.TVL_COMMAND, check: 'program', program: line.argv[0], env: line.env });
  }
  if (target?.kind === 'tvl-container' && !cfg.TVL_IMAGE) checks.push({ variable: 'TVL_WHEEL', value: cfg.TVL_WHEEL, check: 'file-or-folder' });
  if (target?.kind === 'rig' && target.scheme === 'tls') {
    checks.push({ variable: 'TROPIC_TLS_CA', value: cfg.TROPIC_TLS_CA, check: 'certificate' });
    checks.push({ variable: 'TROPIC_TLS_CERT', value: cfg.TROPIC_TLS_CERT, check: 'certificate' });
    checks.push({ variable: 'TROPIC_TLS_KEY', value: cfg.TROPIC_TLS_KEY, check: 'private-key' });
  }
  return checks;
}

function tryParseCommandLine(text: string): CommandLine | undefined {
  try {
    return parseCommandLine(text, 'TVL_COMMAND');
  } catch {
    return undefined; // reported by the target check
  }
}

/** The resolved configuration with secrets redacted, for printing. */
export function redactedConfig(cfg: FlatConfig): Record<string, string> {
  return Object.fromEntries(Object.keys(ENV_SPEC).map((k) => [k, mask(k, cfg[k as keyof FlatConfig] === undefined ? undefined : String(cfg[k as keyof FlatConfig]))]));
}

export function envExample(): string {
  return (
    '# tropic-harness configuration. Copy to .env (or .env.local / .env.<profile>) and edit.\n# Generated from harness/config/env.ts; every variable is optional unless noted.\n\n' +
    Object.entries(ENV_SPEC).map(([k, s]) => `# ${s.doc}\n${k}=${s.example}\n`).join('\n')
  );
}
