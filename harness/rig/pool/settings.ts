/**
 * Rig-pool settings. The variables belong to the harness configuration (harness/config/env.ts);
 * they are read from a resolved configuration when it has them, else from the environment, so the
 * pool works before and after the configuration schema lists them.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { RigError } from '../../errors.js';
import { LocalLeaseStore } from './local-store.js';
import { RedisLeaseStore } from './redis-store.js';
import type { LeaseStore } from './lease-store.js';

export interface PoolSettings {
  /** rigs.yaml path (TROPIC_RIGS). */
  rigsFile?: string;
  /** TROPIC_RIG_LABELS, unparsed. */
  labels?: string;
  /** `local` or `redis://host:port[/db]` (TROPIC_LEASE_STORE). */
  store: string;
  /** Directory of the local store (TROPIC_LEASE_DIR). */
  leaseDir: string;
  ttlMs: number;
  /** Bound on waiting for a free matching rig (TROPIC_LEASE_WAIT_MS). */
  waitMs: number;
  /** PEM file with the trusted root certificate(s) (TROPIC_TRUST_ROOT). */
  trustRoot?: string;
  /** Names this run in lease records (TROPIC_RUN_ID; one is made per process otherwise). */
  runId: string;
}

export const DEFAULT_LEASE_TTL_MS = 15_000;
export const DEFAULT_LEASE_WAIT_MS = 60_000;
/** Shared by every user of the machine: the local store's leases are per machine. */
export const DEFAULT_LEASE_DIR = path.join(os.tmpdir(), 'tropic-harness-leases');

const processRunId = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RigError(`${name}=${JSON.stringify(text)} is not a positive integer (milliseconds)`, 'TH_RIGS');
  return n;
}

/** `cfg` is a resolved HarnessConfig (any object with the variables as keys); `env` fills the gaps. */
export function poolSettings(cfg: object = {}, env: NodeJS.ProcessEnv = process.env): PoolSettings {
  const c = cfg as Record<string, unknown>;
  const get = (k: string): string | undefined => {
    const v = c[k] ?? env[k];
    return v === undefined || v === '' ? undefined : String(v);
  };
  return {
    rigsFile: get('TROPIC_RIGS'),
    labels: get('TROPIC_RIG_LABELS'),
    store: get('TROPIC_LEASE_STORE') ?? 'local',
    leaseDir: get('TROPIC_LEASE_DIR') ?? DEFAULT_LEASE_DIR,
    ttlMs: positiveInt('TROPIC_LEASE_TTL_MS', get('TROPIC_LEASE_TTL_MS'), DEFAULT_LEASE_TTL_MS),
    waitMs: positiveInt('TROPIC_LEASE_WAIT_MS', get('TROPIC_LEASE_WAIT_MS'), DEFAULT_LEASE_WAIT_MS),
    trustRoot: get('TROPIC_TRUST_ROOT'),
    runId: get('TROPIC_RUN_ID') ?? processRunId,
  };
}

export function openLeaseStore(s: Pick<PoolSettings, 'store' | 'leaseDir'>): LeaseStore {
  if (s.store === 'local') return new LocalLeaseStore(s.leaseDir);
  if (s.store.startsWith('redis://')) return new RedisLeaseStore(s.store);
  throw new RigError(`TROPIC_LEASE_STORE=${JSON.stringify(s.store)} is not "local" or redis://host:port[/db]`, 'TH_LEASE');
}
