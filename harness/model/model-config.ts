/**
 * ts-tvl's YAML model configuration, so one file configures both the embedded model and ts-tvl.
 * Byte values are YAML `!!binary` (base64); s_t_priv, s_t_pub and x509_certificate may instead be
 * PEM/DER file paths relative to the file. Unknown keys and wrong sizes are errors naming the key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { x25519Public, rawX25519PublicKey } from '../protocol/session.js';
import { ModelFaults, type FaultSettings } from './faults.js';
import { CONFIG_REGISTERS } from '../protocol/config-objects.js';
import { DEFAULT_MODEL_CONFIG } from '../paths.js';

const bytes = (name: string, min: number, max = min) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length >= min && v.length <= max, {
    message: `${name} must be !!binary of ${min === max ? `${min}` : `${min}..${max}`} bytes`,
  });
const keyOrPath = (name: string) =>
  z.custom<Uint8Array | string>((v) => (v instanceof Uint8Array && v.length === 32) || (typeof v === 'string' && /\.(pem|der)$/i.test(v)), {
    message: `${name} must be !!binary of 32 bytes or a path to a .pem/.der key file`,
  });
const registerNames = CONFIG_REGISTERS.map((r) => r.name.toLowerCase());
const configObject = z.record(z.string(), z.number().int().min(0).max(0xffffffff)).superRefine((o, ctx) => {
  for (const k of Object.keys(o)) if (!registerNames.includes(k)) ctx.addIssue({ code: 'custom', path: [k], message: `unknown configuration object; known: ${registerNames.join(', ')}` });
});

const eccKey = z.union([
  z.strictObject({ d: bytes('d', 32), w: bytes('w', 32), a: bytes('a', 64), origin: z.union([z.literal(1), z.literal(2)]) }),
  z.strictObject({ s: bytes('s', 32), prefix: bytes('prefix', 32), a: bytes('a', 32), origin: z.union([z.literal(1), z.literal(2)]) }),
]);

export const modelConfigSchema = z.strictObject({
  s_t_priv: keyOrPath('s_t_priv'),
  s_t_pub: keyOrPath('s_t_pub').optional(),
  x509_certificate: z.custom<Uint8Array | string>((v) => (v instanceof Uint8Array && v.length >= 1 && v.length <= 3840) || (typeof v === 'string' && /\.(pem|der)$/i.test(v)), {
    message: 'x509_certificate must be !!binary of 1..3840 bytes (a certificate store or one DER certificate) or a path to a .pem/.der certificate',
  }),
  i_pairing_keys: z.record(z.string(), z.strictObject({ value: bytes('value', 32).optional(), state: z.enum(['blank', 'written', 'invalid']).optional() })).optional(),
  r_config: configObject.optional(),
  i_config: configObject.optional(),
  r_user_data: z.record(z.string(), z.strictObject({ free: z.boolean().optional(), value: bytes('value', 0, 475) })).optional(),
  r_ecc_keys: z.record(z.string(), eccKey).optional(),
  r_mcounters: z.record(z.string(), z.strictObject({ value: z.number().int().min(0).max(0xfffffffe) })).optional(),
  r_macandd_data: z
    .strictObject({
      slots: z.record(z.string(), z.strictObject({ value: bytes('value', 32) })).optional(),
      keys: z.record(z.string(), z.strictObject({ value: bytes('value', 32) })).optional(),
    })
    .optional(),
  chip_id: bytes('chip_id', 1, 128).optional(),
  riscv_fw_version: bytes('riscv_fw_version', 4).optional(),
  spect_fw_version: bytes('spect_fw_version', 4).optional(),
  busy_iter: z.array(z.boolean()).min(1).optional(),
  init_byte: bytes('init_byte', 1).optional(),
  activate_encryption: z.boolean().optional(),
  debug_random_value: bytes('debug_random_value', 4).optional(),
  /**
   * Ours, not ts-tvl's: faults the embedded model injects from the start (see model/faults.ts), so
   * a separate `model serve` process can be made to misbehave, e.g.
   * `faults: { resultOverride: { command: ECC_KEY_READ, slot: 3, result: INVALID_KEY } }`.
   */
  faults: z.unknown().optional(),
});
export type RawModelConfig = z.infer<typeof modelConfigSchema>;

export interface ModelConfig {
  source: string;
  sTPriv: Uint8Array;
  sTPub: Uint8Array;
  x509Certificate: Uint8Array;
  chipId: Uint8Array;
  riscvFwVersion: Uint8Array;
  spectFwVersion: Uint8Array;
  raw: RawModelConfig;
  busyIter?: boolean[];
  initByte: number;
  activateEncryption: boolean;
  debugRandomValue?: Uint8Array;
  /** Faults injected from the start (the `faults:` key); none when absent. */
  faults?: FaultSettings;
}

function readKey(v: Uint8Array | string, dir: string, kind: 'private' | 'public', key: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  const file = path.resolve(dir, v);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(e as Error).message}`);
  }
  const format = file.toLowerCase().endsWith('.pem') ? 'pem' : 'der';
  let obj: KeyObject;
  try {
    obj = kind === 'private' ? createPrivateKey({ key: data, format, type: format === 'der' ? 'pkcs8' : undefined }) : createPublicKey({ key: data, format, type: format === 'der' ? 'spki' : undefined });
  } catch (e) {
    throw new ConfigError(`${key}: ${file} is not an X25519 ${kind} key in ${format.toUpperCase()}: ${(e as Error).message}`);
  }
  if (obj.asymmetricKeyType !== 'x25519') throw new ConfigError(`${key}: ${file} holds a ${obj.asymmetricKeyType} key, expected an X25519 ${kind} key`);
  if (kind === 'public') return rawX25519PublicKey(obj);
  const jwk = obj.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
}

function readCert(v: Uint8Array | string, dir: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  const file = path.resolve(dir, v);
  try {
    return new Uint8Array(new X509Certificate(readFileSync(file)).raw);
  } catch (e) {
    throw new ConfigError(`x509_certificate: cannot load ${file}: ${(e as Error).message}`);
  }
}

export function parseModelConfig(text: string, source: string): ModelConfig {
  let doc: unknown;
  try {
    doc = parse(text, { customTags: ['binary'] }) ?? {};
  } catch (e) {
    throw new ConfigError(`${source}: not valid YAML: ${(e as Error).message}`);
  }
  const res = modelConfigSchema.safeParse(doc);
  if (!res.success) {
    throw new ConfigError(`${source}: invalid model configuration`, res.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`));
  }
  const raw = res.data;
  const dir = path.dirname(path.resolve(source));
  const sTPriv = readKey(raw.s_t_priv, dir, 'private', 's_t_priv');
  const sTPub = raw.s_t_pub ? readKey(raw.s_t_pub, dir, 'public', 's_t_pub') : x25519Public(sTPriv);
  return {
    source,
    sTPriv,
    sTPub,
    x509Certificate: readCert(raw.x509_certificate, dir),
    chipId: raw.chip_id ?? new TextEncoder().encode('chip_id'),
    riscvFwVersion: raw.riscv_fw_version ?? Uint8Array.of(0, 0, 0, 2),
    spectFwVersion: raw.spect_fw_version ?? Uint8Array.of(0, 0, 0, 1),
    raw,
    busyIter: raw.busy_iter,
    initByte: raw.init_byte?.[0] ?? 0,
    activateEncryption: raw.activate_encryption ?? true,
    debugRandomValue: raw.debug_random_value,
    faults: parseFaults(raw.faults, source),
  };
}

function parseFaults(input: unknown, source: string): FaultSettings | undefined {
  if (input === undefined) return undefined;
  try {
    return ModelFaults.parse(input, 'faults');
  } catch (e) {
    throw new ConfigError(`${source}: invalid model configuration`, [(e as { detail?: string }).detail ?? (e as Error).message]);
  }
}

export function loadModelConfig(file: string = DEFAULT_MODEL_CONFIG): ModelConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read model configuration ${file}: ${(e as Error).message}`);
  }
  return parseModelConfig(text, file);
}

/** Serialize a model configuration back to ts-tvl's YAML (bytes as !!binary). */
export function dumpModelConfig(raw: Record<string, unknown>): string {
  return stringify(raw, { customTags: ['binary'] });
}
