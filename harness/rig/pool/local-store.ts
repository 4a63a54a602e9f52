/**
 * Leases for the rigs of one machine: a lock per rig under a directory (proper-lockfile: a
 * `<rig>.lock` directory whose mtime the holder's process refreshes; a lock not refreshed within
 * the TTL is stale and the next acquirer takes it over), with the holder's details in
 * `<rig>.json` beside it. The JSON keeps a hash of the token, never the token.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { RigError } from '../../errors.js';
import { newLeaseToken, type Lease, type LeaseHolder, type LeaseInfo, type LeaseStore } from './lease-store.js';

/** proper-lockfile's floor on staleness: shorter TTLs are raised to it. */
export const LOCAL_MIN_TTL_MS = 2000;

interface HolderFile {
  rig: string;
  tokenSha256: string;
  holder: LeaseHolder;
  since: string;
  ttlMs: number;
  renewedAt: string;
}

interface HeldHere {
  unlock: () => Promise<void>;
  compromised: boolean;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export class LocalLeaseStore implements LeaseStore {
  readonly where: string;
  private readonly held = new Map<string, HeldHere>();

  constructor(readonly dir: string) {
    this.where = dir;
  }

  private paths(rig: string) {
    const base = path.join(this.dir, rig);
    return { file: base, lock: `${base}.lock`, json: `${base}.json` };
  }

  private readHolder(rig: string): HolderFile | undefined {
    try {
      return JSON.parse(readFileSync(this.paths(rig).json, 'utf8')) as HolderFile;
    } catch {
      return undefined;
    }
  }

  private writeHolder(h: HolderFile): void {
    const { json } = this.paths(h.rig);
    const tmp = `${json}.${process.pid}.${newLeaseToken().slice(0, 8)}.tmp`;
    writeFileSync(tmp, JSON.stringify(h, null, 2) + '\n');
    renameSync(tmp, json);
  }

  async acquire(rig: string, holder: LeaseHolder, ttlMs: number): Promise<Lease | undefined> {
    const ttl = Math.max(ttlMs, LOCAL_MIN_TTL_MS);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new RigError(`lease directory ${this.dir} cannot be created: ${(e as Error).message}`, 'TH_LEASE');
    }
    const p = this.paths(rig);
    // Staleness is judged with the holder's TTL, not ours: a short-TTL waiter must not steal a long lease.
    const stale = Math.max(ttl, this.readHolder(rig)?.ttlMs ?? 0);
    const state: HeldHere = { unlock: async () => {}, compromised: false };
    try {
      // Loaded with the first lease: every fixture process imports this module, few lease rigs.
      const { default: lockfile } = await import('proper-lockfile');
      state.unlock = await lockfile.lock(p.file, {
        realpath: false,
        lockfilePath: p.lock,
        stale,
        update: Math.max(1000, Math.floor(ttl / 3)),
        retries: 0,
        // Someone forced the release, or took the lock while this process was stalled: the lease is lost.
        onCompromised: () => {
          state.compromised = true;
        },
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
      throw new RigError(`lock ${p.lock} for rig ${rig}: ${(e as Error).message}`, 'TH_LEASE', { cause: e });
    }
    const token = newLeaseToken();
    const since = new Date().toISOString();
    this.writeHolder({ rig, tokenSha256: sha256(token), holder, since, ttlMs: ttl, renewedAt: since });
    this.held.set(token, state);
    return { rig, token, holder, since, ttlMs: ttl };
  }

  private ownedBy(lease: Lease): boolean {
    return this.readHolder(lease.rig)?.tokenSha256 === sha256(lease.token);
  }

  async renew(lease: Lease): Promise<boolean> {
    const here = this.held.get(lease.token);
    // The lock's heartbeat is proper-lockfile's; renewing checks the lease is still ours and records it.
    if (!here || here.compromised || !this.ownedBy(lease)) return false;
    try {
      statSync(this.paths(lease.rig).lock);
    } catch {
      return false;
    }
    const h = this.readHolder(lease.rig)!;
    this.writeHolder({ ...h, renewedAt: new Date().toISOString() });
    return true;
  }

  async release(lease: Lease): Promise<boolean> {
    const here = this.held.get(lease.token);
    this.held.delete(lease.token);
    if (!this.ownedBy(lease)) {
      await here?.unlock().catch(() => undefined);
      return false;
    }
    const p = this.paths(lease.rig);
    // The holder file goes first, while the lock is still ours: a new holder's file is never removed.
    rmSync(p.json, { force: true });
    if (here && !here.compromised) await here.unlock().catch(() => undefined);
    else rmSync(p.lock, { recursive: true, force: true });
    return true;
  }

  async list(): Promise<LeaseInfo[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: LeaseInfo[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const h = this.readHolder(name.slice(0, -'.json'.length));
      if (!h) continue;
      let mtimeMs: number;
      try {
        mtimeMs = statSync(this.paths(h.rig).lock).mtimeMs;
      } catch {
        continue; // released or taken over mid-listing
      }
      out.push({ rig: h.rig, holder: h.holder, since: h.since, expiresInMs: Math.round(mtimeMs + h.ttlMs - Date.now()) });
    }
    return out;
  }

  async forceRelease(rig: string): Promise<boolean> {
    const p = this.paths(rig);
    let existed = true;
    try {
      statSync(p.lock);
    } catch {
      existed = false;
    }
    rmSync(p.json, { force: true });
    rmSync(p.lock, { recursive: true, force: true });
    return existed;
  }

  async close(): Promise<void> {}
}
