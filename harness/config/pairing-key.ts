/** The host pairing private key for the configured slot: PEM/DER file or 64 hex digits. Never logged. */
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { fromHex } from '../bytes.js';
import { ConfigError } from '../errors.js';
import path from 'node:path';
import { DEFAULT_PAIRING_KEY, WORKSPACE_ROOT } from '../paths.js';
import type { HarnessConfig } from './env.js';

export function loadPairingKey(cfg: Pick<HarnessConfig, 'TROPIC_PAIRING_KEY'>): Uint8Array {
  const v = cfg.TROPIC_PAIRING_KEY;
  if (v && /^[0-9a-fA-F]{64}$/.test(v)) return fromHex(v);
  // A relative path is the user's project's, wherever the process was started.
  const file = v ? path.resolve(WORKSPACE_ROOT, v) : DEFAULT_PAIRING_KEY;
  let jwk: { d?: string; crv?: string };
  try {
    const data = readFileSync(file);
    jwk = createPrivateKey(file.toLowerCase().endsWith('.der') ? { key: data, format: 'der', type: 'pkcs8' } : data).export({ format: 'jwk' }) as { d?: string; crv?: string };
  } catch (e) {
    throw new ConfigError(`TROPIC_PAIRING_KEY: cannot load ${file}: ${(e as Error).message}`);
  }
  if (jwk.crv !== 'X25519' || !jwk.d) throw new ConfigError(`TROPIC_PAIRING_KEY: ${file} is not an X25519 private key (curve ${jwk.crv ?? 'unknown'})`);
  return new Uint8Array(Buffer.from(jwk.d, 'base64url'));
}
