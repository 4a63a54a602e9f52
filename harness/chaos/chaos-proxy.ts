/**
 * A chaos proxy that understands libtropic's tagged TCP protocol: it sits between a host driver and
 * a target (model, ts-tvl, rig bridge), counts the host's messages and the target's replies, and
 * injects the faults a real link or a misbehaving server has:
 * - `latencyMs` / `jitterMs`: every reply delayed;
 * - `splitReplies`: every reply written one byte per TCP segment;
 * - `mergeReplies`: replies held back and written together in one segment (n at a time);
 * - `dropAt` / `resetAt`: the connection closed (FIN) or reset (RST) when host message N arrives;
 * - `stallAt`: host message N is forwarded but its reply is never delivered;
 * - `corruptAt`: one byte of reply N flipped (`corruptOffset`, default the last byte);
 * - `trickleMs`: replies written one byte at a time with this delay between bytes.
 * Message numbers count from 1 over the proxy's life, across connections, so a fault can be placed
 * at a given exchange of a test. Faults change at run time (`setFaults`). Loopback only by default.
 */
import net from 'node:net';
import { retireSocket } from '../transport/connect-socket.js';
import { TaggedFrameParser, encodeFrame, tagName } from '../protocol/tagged-frame.js';
import { HarnessError } from '../errors.js';

export interface ChaosFaults {
  latencyMs?: number;
  jitterMs?: number;
  splitReplies?: boolean;
  mergeReplies?: number;
  dropAt?: number;
  resetAt?: number;
  stallAt?: number;
  corruptAt?: number;
  corruptOffset?: number;
  trickleMs?: number;
}

export interface ChaosProxyOptions {
  target: { host: string; port: number };
  listen?: { host?: string; port?: number };
  faults?: ChaosFaults;
  log?: (line: string) => void;
  /** Injectable for tests: random source for jitter. */
  random?: () => number;
}

export class ChaosError extends HarnessError {
  constructor(message: string, cause?: unknown) {
    super('transport', message, { cause }, 'TH_CHAOS');
  }
}

export interface ChaosStats {
  connections: number;
  hostMessages: number;
  replies: number;
  injected: Record<string, number>;
}

const FAULT_KEYS: (keyof ChaosFaults)[] = ['latencyMs', 'jitterMs', 'splitReplies', 'mergeReplies', 'dropAt', 'resetAt', 'stallAt', 'corruptAt', 'corruptOffset', 'trickleMs'];

/** Check a fault set: numbers non-negative integers (message indexes from 1), nothing unknown. */
export function checkFaults(f: ChaosFaults): ChaosFaults {
  for (const [k, v] of Object.entries(f)) {
    if (!FAULT_KEYS.includes(k as keyof ChaosFaults)) throw new ChaosError(`unknown fault ${JSON.stringify(k)}; known: ${FAULT_KEYS.join(', ')}`);
    if (k === 'splitReplies') {
      if (typeof v !== 'boolean') throw new ChaosError(`fault splitReplies must be true or false, got ${JSON.stringify(v)}`);
    } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (k.endsWith('At') && v < 1)) {
      throw new ChaosError(`fault ${k} must be ${k.endsWith('At') ? 'a message number >= 1' : 'an integer >= 0'}, got ${JSON.stringify(v)}`);
    }
  }
  return f;
}

export class ChaosProxy {
  private server?: net.Server;
  private faults: ChaosFaults;
  private readonly log: (line: string) => void;
  private readonly random: () => number;
  private readonly sockets = new Set<net.Socket>();
  readonly stats: ChaosStats = { connections: 0, hostMessages: 0, replies: 0, injected: {} };

  constructor(private readonly opts: ChaosProxyOptions) {
    this.faults = checkFaults({ ...opts.faults });
    this.log = opts.log ?? (() => {});
    this.random = opts.random ?? Math.random;
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
  get host(): string {
    return this.opts.listen?.host ?? '127.0.0.1';
  }

  setFaults(f: ChaosFaults): void {
    this.faults = checkFaults({ ...f });
  }

  private count(kind: string): void {
    this.stats.injected[kind] = (this.stats.injected[kind] ?? 0) + 1;
    this.log(`chaos: ${kind}`);
  }

  async start(): Promise<this> {
    const server = net.createServer((client) => this.onClient(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new ChaosError(`cannot listen on ${this.host}:${this.opts.listen?.port ?? 0}: ${e.message}`, e)));
      server.listen(this.opts.listen?.port ?? 0, this.host, () => resolve());
    });
    return this;
  }

  private onClient(client: net.Socket): void {
    this.stats.connections++;
    this.sockets.add(client);
    client.setNoDelay(true);
    const upstream = net.connect(this.opts.target);
    upstream.setNoDelay(true);
    this.sockets.add(upstream);
    const hostParser = new TaggedFrameParser(0xffff);
    const replyParser = new TaggedFrameParser(0xffff);
    /** Host message numbers whose replies are still owed, in order. */
    const owed: number[] = [];
    let held: Buffer[] = [];
    let mergeTimer: NodeJS.Timeout | undefined;
    let chain: Promise<void> = Promise.resolve();
    // The target side is always retired (FIN, drained), never destroyed while a reply may be in flight.
    const closeUpstream = () => retireSocket(upstream, 5_000);
    const closeBoth = () => {
      client.destroy();
      closeUpstream();
    };
    client.on('close', () => (this.sockets.delete(client), closeUpstream()));
    upstream.on('close', () => (this.sockets.delete(upstream), client.end()));
    client.on('error', () => closeUpstream());
    upstream.on('error', (e) => {
      this.log(`chaos: target ${this.opts.target.host}:${this.opts.target.port}: ${e.message}`);
      client.destroy();
    });

    client.on('data', (d: Buffer) => {
      let frames;
      try {
        frames = hostParser.push(d);
      } catch {
        return closeBoth();
      }
      for (const f of frames) {
        const n = ++this.stats.hostMessages;
        const f2 = this.faults;
        if (f2.resetAt === n) {
          this.count(`reset at message ${n} (${tagName(f.tag)})`);
          client.resetAndDestroy();
          closeUpstream();
          return;
        }
        if (f2.dropAt === n) {
          this.count(`drop at message ${n} (${tagName(f.tag)})`);
          client.end();
          closeUpstream();
          return;
        }
        owed.push(n);
        upstream.write(encodeFrame(f.tag, f.payload));
      }
    });

    upstream.on('data', (d: Buffer) => {
      let frames;
      try {
        frames = replyParser.push(d);
      } catch {
        return closeBoth();
      }
      for (const f of frames) {
        const n = owed.shift() ?? 0;
        this.stats.replies++;
        const f2 = this.faults;
        let bytes = Buffer.from(encodeFrame(f.tag, f.payload));
        if (f2.stallAt === n) {
          this.count(`stall reply to message ${n}`);
          continue;
        }
        if (f2.corruptAt === n) {
          const at = Math.min(bytes.length - 1, f2.corruptOffset ?? bytes.length - 1);
          bytes = Buffer.from(bytes);
          bytes[at] ^= 0xff;
          this.count(`corrupt byte ${at} of reply ${n}`);
        }
        const delay = (f2.latencyMs ?? 0) + (f2.jitterMs ? Math.floor(this.random() * f2.jitterMs) : 0);
        chain = chain.then(async () => {
          if (delay > 0) await sleep(delay);
          if (client.destroyed) return;
          if (f2.mergeReplies && f2.mergeReplies > 1) {
            // Held until n replies are in, or until no further reply came for 20 ms (a serial
            // host waits for each reply before sending on).
            held.push(bytes);
            if (mergeTimer) clearTimeout(mergeTimer);
            const flush = () => {
              mergeTimer = undefined;
              if (held.length === 0 || client.destroyed) return;
              this.count(`merge ${held.length} replies`);
              client.write(Buffer.concat(held));
              held = [];
            };
            if (held.length >= f2.mergeReplies) flush();
            else mergeTimer = setTimeout(flush, 20);
            return;
          }
          if (f2.splitReplies || f2.trickleMs) {
            for (const b of bytes) {
              if (client.destroyed) return;
              client.write(Buffer.of(b));
              await sleep(f2.trickleMs ?? 0);
            }
            return;
          }
          client.write(bytes);
        });
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
