/**
 * Leases for a lab: one Redis key per rig, `SET key value NX PX ttl`. The value is the holder's
 * record with its token, so compare-and-renew and compare-and-delete (Lua, atomic in Redis) work
 * only for the holder. A holder that stops renewing loses the key when its TTL runs out.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { RigError } from '../../errors.js';
import { newLeaseToken, type Lease, type LeaseHolder, type LeaseInfo, type LeaseStore } from './lease-store.js';

const require = createRequire(import.meta.url);

const RENEW_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const DELETE_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

interface StoredLease {
  rig: string;
  token: string;
  holder: LeaseHolder;
  since: string;
  ttlMs: number;
}

/** `redis://host:port[/db]`, checked before connecting. */
export function parseRedisUrl(url: string): { host: string; port: number; db: number } {
  const m = /^redis:\/\/([^:/\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})(?:\/(\d{1,2}))?$/.exec(url);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new RigError(`lease store ${JSON.stringify(url)} is not redis://host:port[/db]`, 'TH_LEASE');
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), db: m[3] ? Number(m[3]) : 0 };
}

export class RedisLeaseStore implements LeaseStore {
  readonly where: string;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(url: string, opts: { prefix?: string; connectTimeoutMs?: number } = {}) {
    const { host, port, db } = parseRedisUrl(url);
    this.where = url;
    this.prefix = opts.prefix ?? 'tropic-harness:lease:';
    // ioredis is loaded with the first Redis store: every fixture process imports this module.
    const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
    this.redis = new RedisClient({
      host,
      port,
      db,
      lazyConnect: true,
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      // Fail a command instead of queueing it forever while Redis is down: a lease must not be assumed.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      retryStrategy: (times) => (times > 3 ? null : 200 * times),
    });
    this.redis.on('error', () => undefined); // reported through the failing command instead
  }

  private key(rig: string): string {
    return this.prefix + rig;
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      if (this.redis.status === 'wait') await this.redis.connect();
      return await run();
    } catch (e) {
      throw new RigError(`lease store ${this.where}: ${what} failed: ${(e as Error).message}`, 'TH_LEASE', { cause: e });
    }
  }

  async acquire(rig: string, holder: LeaseHolder, ttlMs: number): Promise<Lease | undefined> {
    const lease: Lease = { rig, token: newLeaseToken(), holder, since: new Date().toISOString(), ttlMs };
    const ok = await this.call(`SET NX ${rig}`, () => this.redis.set(this.key(rig), this.value(lease), 'PX', ttlMs, 'NX'));
    return ok === 'OK' ? lease : undefined;
  }

  private value(lease: Lease): string {
    const stored: StoredLease = { rig: lease.rig, token: lease.token, holder: lease.holder, since: lease.since, ttlMs: lease.ttlMs };
    return JSON.stringify(stored);
  }

  async renew(lease: Lease): Promise<boolean> {
    const r = await this.call(`renew ${lease.rig}`, () => this.redis.eval(RENEW_IF_OWNER, 1, this.key(lease.rig), this.value(lease), String(lease.ttlMs)));
    return r === 1;
  }

  async release(lease: Lease): Promise<boolean> {
    const r = await this.call(`release ${lease.rig}`, () => this.redis.eval(DELETE_IF_OWNER, 1, this.key(lease.rig), this.value(lease)));
    return r === 1;
  }

  async list(): Promise<LeaseInfo[]> {
    const keys: string[] = [];
    await this.call('SCAN', async () => {
      let cursor = '0';
      do {
        const [next, found] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 200);
        keys.push(...found);
        cursor = next;
      } while (cursor !== '0');
    });
    const out: LeaseInfo[] = [];
    for (const key of keys.sort()) {
      const [value, pttl] = await this.call(`GET ${key}`, async () => [await this.redis.get(key), await this.redis.pttl(key)] as const);
      if (value === null || pttl < 0) continue;
      try {
        const s = JSON.parse(value) as StoredLease;
        out.push({ rig: s.rig, holder: s.holder, since: s.since, expiresInMs: pttl });
      } catch {
        out.push({ rig: key.slice(this.prefix.length), holder: { host: '?', pid: 0, runId: `unreadable value in ${key}` }, since: '?', expiresInMs: pttl });
      }
    }
    return out;
  }

  async forceRelease(rig: string): Promise<boolean> {
    return (await this.call(`DEL ${rig}`, () => this.redis.del(this.key(rig)))) === 1;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
