/**
 * The target part of the configuration, as a zod discriminated union on the target kind: each
 * variant requires what its kind needs (a rig its URL, tvl-process its command, tvl-container an
 * image or a wheel) and yields it parsed (URL → scheme/host/port, command → argv, paths resolved
 * against the project), so targets and fixtures never re-parse the flat variables or assert `!`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, HarnessError } from '../errors.js';
import { parseTargetUrl, type TargetScheme } from '../transport/target-url.js';
import type { TcpTransportOptions, TlsOptions } from '../transport/tcp-transport.js';
import { parseCommandLine } from './command-line.js';
import type { FlatConfig } from './env.js';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export type TargetConfig =
  | { kind: 'embedded'; modelConfig?: string }
  | {
      kind: 'tvl-process';
      /** TVL_COMMAND as written (for messages). */
      command: string;
      argv: string[];
      env: Record<string, string>;
      portBase: number;
      startupTimeoutMs: number;
      modelConfig?: string;
      declaredVersion?: string;
    }
  | { kind: 'tvl-container'; image?: string; wheel?: string; baseImage: string; pipArgs: string; startupTimeoutMs: number; modelConfig?: string; declaredVersion?: string }
  | { kind: 'model-container'; baseImage: string; startupTimeoutMs: number; modelConfig?: string }
  | { kind: 'rig'; url: string; scheme: TargetScheme; host: string; port: number; name?: string; tls?: TlsFiles; /** TROPIC_RIGS: the worker leases its rig (url empty until then). */ pool?: string };

export type TransportConfig = Omit<TcpTransportOptions, 'host' | 'port'>;

export interface PollOptions {
  pollDelayMs: number;
  responseTimeoutMs: number;
}

type Ctx = z.RefinementCtx;
const issue = (ctx: Ctx, message: string) => ctx.addIssue({ code: 'custom', message });

/** Runs a harness parser inside a transform; a failure becomes an issue with the parser's message. */
function parseOr<T>(ctx: Ctx, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    issue(ctx, e instanceof HarnessError ? e.detail : (e as Error).message);
    return undefined;
  }
}

const required = (variable: string, kind: string, expected: string) => z.string({ error: `${variable}="(unset)": required when TROPIC_TARGET=${kind} (expected: ${expected})` });
const modelConfig = z.string().optional();

function targetSchema(dir: string) {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  return z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('embedded'), modelConfig }).transform((t) => ({ kind: t.kind, modelConfig: abs(t.modelConfig) })),
    z
      .object({
        kind: z.literal('tvl-process'),
        command: required('TVL_COMMAND', 'tvl-process', 'e.g. "model_server tcp"'),
        portBase: z.number(),
        startupTimeoutMs: z.number(),
        modelConfig,
        declaredVersion: z.string().optional(),
      })
      .transform((t, ctx) => {
        const line = parseOr(ctx, () => parseCommandLine(t.command, 'TVL_COMMAND'));
        if (!line) return z.NEVER;
        return { ...t, argv: line.argv, env: line.env, modelConfig: abs(t.modelConfig) };
      }),
    z
      .object({
        kind: z.literal('tvl-container'),
        image: z.string().optional(),
        wheel: z.string().optional(),
        baseImage: z.string(),
        pipArgs: z.string(),
        startupTimeoutMs: z.number(),
        modelConfig,
        declaredVersion: z.string().optional(),
      })
      .transform((t, ctx) => {
        if (!t.image && !t.wheel) {
          issue(ctx, 'TVL_IMAGE/TVL_WHEEL="(unset)": one is required when TROPIC_TARGET=tvl-container (a ready ts-tvl image, or a wheel/source folder to build one)');
          return z.NEVER;
        }
        return { ...t, wheel: abs(t.wheel), modelConfig: abs(t.modelConfig) };
      }),
    z.object({ kind: z.literal('model-container'), baseImage: z.string(), startupTimeoutMs: z.number(), modelConfig }).transform((t) => ({ ...t, modelConfig: abs(t.modelConfig) })),
    z
      .object({ kind: z.literal('rig'), url: z.string().optional(), pool: z.string().optional(), name: z.string().optional(), tls: z.object({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional() }) })
      .transform((t, ctx) => {
        // With a rig pool (TROPIC_RIGS) each worker leases its rig: no fixed TROPIC_RIG needed.
        if (t.url === undefined) {
          if (t.pool) return { kind: t.kind, url: '', scheme: 'tcp' as const, host: '', port: 0, name: t.name, pool: abs(t.pool) };
          issue(ctx, 'TROPIC_RIG="(unset)": required when TROPIC_TARGET=rig, unless TROPIC_RIGS names a rig pool (expected: tcp://host:port or tls://host:port)');
          return z.NEVER;
        }
        const url = parseOr(ctx, () => parseTargetUrl(t.url!, 'TROPIC_RIG'));
        if (!url) return z.NEVER;
        if (url.scheme === 'tcp' && (t.tls.ca || t.tls.cert || t.tls.key)) issue(ctx, `TROPIC_TLS_* set with TROPIC_RIG=${t.url}: TLS material is used only with tls:// (write tls://${t.url.slice('tcp://'.length)})`);
        if (!!t.tls.cert !== !!t.tls.key) issue(ctx, `TROPIC_TLS_CERT and TROPIC_TLS_KEY go together (only ${t.tls.cert ? 'TROPIC_TLS_CERT' : 'TROPIC_TLS_KEY'} is set)`);
        const tls = url.scheme === 'tls' ? { ca: abs(t.tls.ca), cert: abs(t.tls.cert), key: abs(t.tls.key) } : undefined;
        return { kind: t.kind, url: t.url, ...url, name: t.name, tls };
      }),
  ]);
}

/** The target variant of a parsed flat configuration, or every problem with it. */
export function deriveTarget(cfg: FlatConfig, dir: string): { success: true; value: TargetConfig } | { success: false; problems: string[] } {
  const input = {
    kind: cfg.TROPIC_TARGET,
    modelConfig: cfg.TROPIC_MODEL_CONFIG,
    command: cfg.TVL_COMMAND,
    portBase: cfg.TVL_PORT_BASE,
    startupTimeoutMs: cfg.TVL_STARTUP_TIMEOUT_MS,
    declaredVersion: cfg.TVL_VERSION,
    image: cfg.TVL_IMAGE,
    wheel: cfg.TVL_WHEEL,
    baseImage: cfg.TROPIC_TARGET === 'model-container' ? cfg.MODEL_BASE_IMAGE : cfg.TVL_BASE_IMAGE,
    pipArgs: cfg.TVL_PIP_ARGS,
    url: cfg.TROPIC_RIG,
    pool: cfg.TROPIC_RIGS,
    name: cfg.TROPIC_RIG_NAME,
    tls: { ca: cfg.TROPIC_TLS_CA, cert: cfg.TROPIC_TLS_CERT, key: cfg.TROPIC_TLS_KEY },
  };
  const r = targetSchema(dir).safeParse(input);
  if (r.success) return { success: true, value: r.data as TargetConfig };
  return { success: false, problems: r.error.issues.map((i) => i.message) };
}

/**
 * The PEM contents of a tls:// rig's files, read once. The private key is kept off the object's
 * enumerable properties, so printing or serialising a configuration can never show it.
 */
export function readTlsMaterial(files: TlsFiles): TlsOptions {
  const read = (variable: string, file: string | undefined) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ConfigError(`${variable}=${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const material: TlsOptions = {};
  const ca = read('TROPIC_TLS_CA', files.ca);
  const cert = read('TROPIC_TLS_CERT', files.cert);
  if (ca) material.ca = ca;
  if (cert) material.cert = cert;
  const key = read('TROPIC_TLS_KEY', files.key);
  if (key) Object.defineProperty(material, 'key', { value: key, enumerable: false });
  return material;
}
