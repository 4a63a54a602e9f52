/**
 * Leases on rigs: one holder at a time, across processes (local store) or machines (Redis store).
 * A lease expires when its holder stops renewing it (the holder died, hung or lost its network),
 * so a crashed run never keeps a chip. Only the holder's token releases or renews a lease; a
 * person can force a release (`tropic-harness rig release --force NAME`).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';

/** Who holds a lease: enough for a person to find the run and ask it to stop. */
export interface LeaseHolder {
  host: string;
  pid: number;
  runId: string;
  user?: string;
}

export interface Lease {
  rig: string;
  /** Random, secret to the holder: renew and release compare it. */
  token: string;
  holder: LeaseHolder;
  /** ISO time the lease was taken. */
  since: string;
  ttlMs: number;
}

/** A lease as anyone can see it (no token). */
export interface LeaseInfo {
  rig: string;
  holder: LeaseHolder;
  since: string;
  /** Milliseconds until the lease expires unless renewed (0 or less: expired, not yet taken over). */
  expiresInMs: number;
}

export interface LeaseStore {
  /** Where the leases live, for messages (a directory or redis://host:port/db). */
  readonly where: string;
  /** Take the rig if nobody holds it (or its lease expired); undefined when it is held. */
  acquire(rig: string, holder: LeaseHolder, ttlMs: number): Promise<Lease | undefined>;
  /** Extend the lease by its TTL; false when it is no longer this holder's (expired and taken, or forced). */
  renew(lease: Lease): Promise<boolean>;
  /** Give the rig back; false when the lease was not (or no longer) this token's. */
  release(lease: Lease): Promise<boolean>;
  list(): Promise<LeaseInfo[]>;
  /** Remove whatever lease the rig has (a person's decision); true when there was one. */
  forceRelease(rig: string): Promise<boolean>;
  close(): Promise<void>;
}

export const newLeaseToken = (): string => randomBytes(16).toString('hex');

/** This process as a holder; the run id comes from the caller (TROPIC_RUN_ID, or one made per run). */
export function currentHolder(runId: string): LeaseHolder {
  let user: string | undefined;
  try {
    user = os.userInfo().username;
  } catch {
    user = undefined;
  }
  return { host: os.hostname(), pid: process.pid, runId, user };
}

export function describeHolder(h: LeaseHolder): string {
  return `${h.user ? `${h.user}@` : ''}${h.host} pid ${h.pid} run ${h.runId}`;
}

export function describeLease(l: LeaseInfo): string {
  const expires = l.expiresInMs > 0 ? `expires in ${(l.expiresInMs / 1000).toFixed(1)} s unless renewed` : 'expired';
  return `${l.rig} held by ${describeHolder(l.holder)} since ${l.since} (${expires})`;
}
