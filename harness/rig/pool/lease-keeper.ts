/**
 * Holding a lease: renewed on an unref'd timer at a third of its TTL (two renewals may fail
 * before it expires), and reported lost (TH_LEASE_LOST) as soon as a renewal fails. Waiting for a
 * rig: bounded, and a timeout names every matching rig's holder.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RigError } from '../../errors.js';
import { formatLabels, type Rig } from './inventory.js';
import { describeHolder, describeLease, type Lease, type LeaseHolder, type LeaseStore } from './lease-store.js';

export class HeldLease {
  private timer?: NodeJS.Timeout;
  private lostError?: RigError;
  private released = false;
  private readonly lostListeners: ((e: RigError) => void)[] = [];

  constructor(readonly store: LeaseStore, readonly lease: Lease, renewEveryMs = Math.max(100, Math.floor(lease.ttlMs / 3))) {
    this.timer = setInterval(() => void this.renewOnce(), renewEveryMs);
    this.timer.unref();
  }

  get rig(): string {
    return this.lease.rig;
  }
  /** Set once the lease is lost; every later use of the rig should stop. */
  get lost(): RigError | undefined {
    return this.lostError;
  }

  onLost(listener: (e: RigError) => void): void {
    if (this.lostError) listener(this.lostError);
    else this.lostListeners.push(listener);
  }

  private renewing = false;
  private async renewOnce(): Promise<void> {
    if (this.renewing || this.released || this.lostError) return;
    this.renewing = true;
    let why: string | undefined;
    try {
      if (!(await this.store.renew(this.lease))) why = 'it expired or was released by someone else (e.g. rig release --force)';
    } catch (e) {
      why = (e as Error).message;
    } finally {
      this.renewing = false;
    }
    if (why !== undefined && !this.released) this.markLost(why);
  }

  private markLost(why: string): void {
    clearInterval(this.timer);
    this.lostError = new RigError(`lease on rig ${this.lease.rig} (${this.store.where}) was lost: renewal failed: ${why}`, 'TH_LEASE_LOST');
    process.stderr.write(`tropic-harness: ${this.lostError.message}\n`);
    for (const l of this.lostListeners) l(this.lostError);
  }

  async release(): Promise<boolean> {
    if (this.released) return false;
    this.released = true;
    clearInterval(this.timer);
    return this.store.release(this.lease);
  }
}

export interface WaitOptions {
  ttlMs: number;
  waitMs: number;
  /** Labels asked for (named in messages). */
  labels: Record<string, string>;
  /** Try rigs starting here (e.g. the worker index) so workers spread over the pool. */
  startAt?: number;
  pollMs?: number;
  /** Who waits (named in the timeout message), e.g. "worker 3". */
  waiter?: string;
}

/** Lease the first free rig among `candidates`, waiting up to `waitMs`. */
export async function acquireAny(store: LeaseStore, candidates: Rig[], holder: LeaseHolder, o: WaitOptions): Promise<{ rig: Rig; held: HeldLease }> {
  if (candidates.length === 0) throw new RigError(`no rig matches labels ${formatLabels(o.labels)}`, 'TH_RIGS');
  const deadline = Date.now() + o.waitMs;
  const start = o.startAt ?? 0;
  for (;;) {
    for (let i = 0; i < candidates.length; i++) {
      const rig = candidates[(start + i) % candidates.length];
      const lease = await store.acquire(rig.name, holder, o.ttlMs);
      if (lease) return { rig, held: new HeldLease(store, lease) };
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(o.pollMs ?? 250, Math.max(10, deadline - Date.now())));
  }
  const names = new Set(candidates.map((r) => r.name));
  const holders = (await store.list()).filter((l) => names.has(l.rig));
  const heldText = holders.length ? holders.map((l) => `  - ${describeLease(l)}`).join('\n') : '  - (none listed now: a lease was just released or expired)';
  throw new RigError(
    `${o.waiter ?? describeHolder(holder)} waited ${o.waitMs} ms for a rig matching ${formatLabels(o.labels)} and got none: ` +
      `${candidates.length} rig${candidates.length > 1 ? 's' : ''} match (${[...names].join(', ')}), all held (${store.where}):\n${heldText}\n` +
      `Too few rigs for this run: use fewer workers (--workers=${candidates.length}), add rigs with these labels, or raise TROPIC_LEASE_WAIT_MS.`,
    'TH_LEASE_TIMEOUT',
  );
}
