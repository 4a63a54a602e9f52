/**
 * Rig leases across real processes, for both stores: the local store (lock files under a
 * directory) and the Redis store against a real redis-server on a free loopback port. Holders are
 * child processes running the built store (dist/, `npm run build`); SIGKILL stands for a crash.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';
import { RigError } from '../errors.js';
import { LocalLeaseStore } from '../rig/pool/local-store.js';
import { RedisLeaseStore } from '../rig/pool/redis-store.js';
import { acquireAny } from '../rig/pool/lease-keeper.js';
import type { LeaseStore } from '../rig/pool/lease-store.js';
import { freePort } from './transport-loopback.js';

const DIST_POOL = path.join(PROJECT_ROOT, 'dist', 'harness', 'rig', 'pool');
const RIG = { name: 'bench-1', url: 'tcp://127.0.0.1:1', labels: { part: 'TR01-C2P-T101' } };

/** A lease holder in its own process: acquires, renews, reports on stdout (JSON lines), releases on "release". */
const HOLDER_SCRIPT = `
const [kind, where, rig, ttl, runId] = process.argv.slice(2);
const pool = process.env.H5B_POOL_URL;
const { LocalLeaseStore } = await import(pool + '/local-store.js');
const { RedisLeaseStore } = await import(pool + '/redis-store.js');
const { HeldLease } = await import(pool + '/lease-keeper.js');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const store = kind === 'redis' ? new RedisLeaseStore(where) : new LocalLeaseStore(where);
const lease = await store.acquire(rig, { host: 'holder-host', pid: process.pid, runId }, Number(ttl));
if (!lease) { say({ acquired: false }); await store.close(); process.exit(0); }
const held = new HeldLease(store, lease);
held.onLost((e) => say({ lost: e.code, message: e.message }));
say({ acquired: true, pid: process.pid, since: lease.since });
const keepAlive = setInterval(() => {}, 1000);
process.stdin.on('data', async (d) => {
  if (String(d).includes('release')) { say({ released: await held.release() }); clearInterval(keepAlive); await store.close(); process.exit(0); }
});
`;

interface Holder {
  child: ChildProcess;
  next(pred: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function startHolder(dir: string, kind: 'local' | 'redis', where: string, ttlMs: number, runId: string): Holder {
  const script = path.join(dir, 'holder.mjs');
  writeFileSync(script, HOLDER_SCRIPT);
  const child = spawn(process.execPath, [script, kind, where, RIG.name, String(ttlMs), runId], {
    env: { ...process.env, H5B_POOL_URL: pathToFileURL(DIST_POOL).href },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    messages.push(JSON.parse(line) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  return {
    child,
    next: (pred, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`holder sent no matching message in ${timeoutMs} ms; got ${JSON.stringify(messages)}; stderr: ${stderr}`)), timeoutMs);
        const check = () => {
          const m = messages.find(pred);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else waiters.push(check);
        };
        check();
      }),
  };
}


async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error("redis-server is not installed: run `bash .ci/setup` (or apt-get install -y redis-server)");
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        resolve(d.toString().startsWith('+PONG'));
        s.destroy();
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: () => proc.kill('SIGKILL') };
}

for (const kind of ['local', 'redis'] as const) {
  test.describe(`${kind} lease store`, () => {
    test.describe.configure({ mode: 'serial' });
    let dir: string;
    let where: string;
    let stopRedis = () => {};
    const children: ChildProcess[] = [];
    const open = (): LeaseStore => (kind === 'redis' ? new RedisLeaseStore(where) : new LocalLeaseStore(where));
    const holder = (ttlMs: number, runId: string) => {
      const h = startHolder(dir, kind, where, ttlMs, runId);
      children.push(h.child);
      return h;
    };

    test.beforeAll(async () => {
      expect(existsSync(path.join(DIST_POOL, 'local-store.js')), 'run `npm run build` first (the holders run dist/)').toBe(true);
      dir = mkdtempSync(path.join(os.tmpdir(), `h5b-lease-${kind}-`));
      if (kind === 'redis') {
        const r = await startRedis();
        where = r.url;
        stopRedis = r.stop;
      } else where = path.join(dir, 'leases');
    });
    test.afterEach(async () => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      const s = open();
      await s.forceRelease(RIG.name);
      await s.close();
    });
    test.afterAll(() => {
      stopRedis();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a rig is leased to one process at a time; a bounded wait fails naming the holder', async () => {
      const a = holder(10_000, 'run-A');
      const got = await a.next((m) => 'acquired' in m);
      expect(got.acquired).toBe(true);
      const b = holder(10_000, 'run-B');
      expect((await b.next((m) => 'acquired' in m)).acquired).toBe(false);

      const store = open();
      try {
        const err = await acquireAny(store, [RIG], { host: 'waiter-host', pid: process.pid, runId: 'run-W' }, { ttlMs: 10_000, waitMs: 1500, labels: RIG.labels, pollMs: 200 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RigError);
        const e = err as RigError;
        expect(e.code).toBe('TH_LEASE_TIMEOUT');
        expect(e.message).toContain('holder-host');
        expect(e.message).toContain(`pid ${String(got.pid)}`);
        expect(e.message).toContain('run run-A');
        expect(e.message).toContain(`since ${String(got.since)}`);
        expect(e.message).toContain('part=TR01-C2P-T101');
        expect(e.message).toContain('bench-1');
      } finally {
        await store.close();
      }
    });

    test('a holder killed with SIGKILL stops renewing; its lease expires and another process takes the rig', async () => {
      const ttl = 5000;
      const a = holder(ttl, 'run-crash');
      const got = await a.next((m) => 'acquired' in m);
      expect(got.acquired).toBe(true);
      a.child.kill('SIGKILL');
      await new Promise((r) => a.child.once('exit', r));

      const store = open();
      try {
        // Still held right after the crash: only expiry frees it, nothing released it.
        const listed = (await store.list()).find((l) => l.rig === RIG.name);
        expect(listed?.holder.runId).toBe('run-crash');
        const b = holder(ttl, 'run-takeover');
        const first = await b.next((m) => 'acquired' in m);
        expect(first.acquired).toBe(false);
        const { held } = await acquireAny(store, [RIG], { host: 'taker', pid: process.pid, runId: 'run-taker' }, { ttlMs: ttl, waitMs: 20_000, labels: {}, pollMs: 200 });
        const now = (await store.list()).find((l) => l.rig === RIG.name);
        expect(now?.holder.runId).toBe('run-taker');
        expect(await held.release()).toBe(true);
        expect((await store.list()).some((l) => l.rig === RIG.name)).toBe(false);
      } finally {
        await store.close();
      }
    });

    test("only the holder's token renews or releases a lease", async () => {
      const a = holder(10_000, 'run-owner');
      expect((await a.next((m) => 'acquired' in m)).acquired).toBe(true);
      const store = open();
      try {
        const forged = { rig: RIG.name, token: '00'.repeat(16), holder: { host: 'x', pid: 1, runId: 'forger' }, since: new Date().toISOString(), ttlMs: 10_000 };
        expect(await store.release(forged)).toBe(false);
        expect(await store.renew(forged)).toBe(false);
        expect((await store.list()).find((l) => l.rig === RIG.name)?.holder.runId).toBe('run-owner');
        expect(await store.acquire(RIG.name, forged.holder, 10_000)).toBeUndefined();

        a.child.stdin!.write('release\n');
        expect((await a.next((m) => 'released' in m)).released).toBe(true);
        const mine = await store.acquire(RIG.name, { host: 'next', pid: process.pid, runId: 'run-next' }, 10_000);
        expect(mine?.rig).toBe(RIG.name);
        expect(await store.release(mine!)).toBe(true);
      } finally {
        await store.close();
      }
    });

    test('a forced release makes the holder report TH_LEASE_LOST at its next renewal', async () => {
      const a = holder(3000, 'run-forced');
      expect((await a.next((m) => 'acquired' in m)).acquired).toBe(true);
      const store = open();
      try {
        expect(await store.forceRelease(RIG.name)).toBe(true);
        const lost = await a.next((m) => 'lost' in m);
        expect(lost.lost).toBe('TH_LEASE_LOST');
        expect(String(lost.message)).toContain(`lease on rig ${RIG.name}`);
      } finally {
        await store.close();
      }
    });
  });
}
