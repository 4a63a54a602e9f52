/**
 * TcpTransport: L1 over libtropic's tagged TCP protocol, to a model server or a TCP-attached rig.
 *
 * - Connects to every address the host name resolves to, each with its own timeout, and reports
 *   all attempts when none answers.
 * - One exchange at a time (servers such as ts-tvl lose a second frame sent in the same segment);
 *   each reply is framed exactly, however TCP splits or merges it.
 * - Every wait is bounded; a timed-out receive is retried a bounded number of times.
 * - Opt-in reconnect: when the link drops, reconnect once at a message boundary, retry the
 *   exchange and report the `degraded` state.
 * - Opt-in pipelining, for servers that frame their input (the embedded model does; ts-tvl 2.2
 *   loses the second of two frames in one read): each message is written as soon as it is
 *   issued and replies are matched in order, so a chip-select window (CSN_LOW, SPI_SEND,
 *   CSN_HIGH) costs one round trip instead of three.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import { TransportError, TransportTagError, TimeoutError, ProtocolError, type ErrorCode } from '../errors.js';
import { hex } from '../bytes.js';
import { DEFAULT_MAX_PAYLOAD, TAG, TaggedFrameParser, encodeFrame, tagName, type TaggedFrame } from '../protocol/tagged-frame.js';
import type { ExchangeRecord, L1Transport } from './l1-transport.js';

export interface TcpTransportOptions {
  host: string;
  port: number;
  /** Per-address connect timeout. */
  connectTimeoutMs?: number;
  /** Bound on waiting for one reply. */
  ioTimeoutMs?: number;
  /** Extra waits for a reply after an I/O timeout before giving up. */
  receiveRetries?: number;
  /** Largest payload sent or accepted (protocol maximum for SPI transfers by default). */
  maxPayload?: number;
  /** Reconnect once and retry when the connection drops. Off by default. */
  reconnect?: boolean;
  /** Write messages without waiting for earlier replies (see above). Off by default; not with reconnect. */
  pipeline?: boolean;
}

export type ConnectionState = 'connecting' | 'connected' | 'degraded' | 'closed';

export interface StateEvent {
  state: ConnectionState;
  reason?: string;
  local?: string;
  remote?: string;
}

interface Pending {
  resolve: (f: TaggedFrame) => void;
  reject: (e: Error) => void;
}

export class TcpTransport extends EventEmitter implements L1Transport {
  readonly options: Required<TcpTransportOptions>;
  onExchange?: (rec: ExchangeRecord) => void;
  private socket?: net.Socket;
  private parser: TaggedFrameParser;
  private inbox: TaggedFrame[] = [];
  private waiter?: Pending;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private closed = false;
  private linkError?: Error;
  private _state: ConnectionState = 'connecting';
  private reconnects = 0;
  private local?: string;
  private remote?: string;

  private constructor(opts: TcpTransportOptions) {
    super();
    this.options = {
      connectTimeoutMs: 2000,
      ioTimeoutMs: 5000,
      receiveRetries: 1,
      maxPayload: DEFAULT_MAX_PAYLOAD,
      reconnect: false,
      pipeline: false,
      ...opts,
    };
    if (this.options.pipeline && this.options.reconnect) {
      // A retried exchange would be re-sent after messages already written behind it.
      throw new TransportError('pipeline and reconnect cannot be combined', 'TH_TCP_OPTIONS', { expected: 'pipeline or reconnect, not both' });
    }
    this.parser = new TaggedFrameParser(this.options.maxPayload);
  }

  static async connect(opts: TcpTransportOptions): Promise<TcpTransport> {
    const t = new TcpTransport(opts);
    await t.open();
    return t;
  }

  get state(): ConnectionState {
    return this._state;
  }
  /** Addresses of the current (or last) connection; kept after it closes, for reports. */
  get localAddress(): string | undefined {
    return this.local;
  }
  get remoteAddress(): string | undefined {
    return this.remote;
  }
  /** Number of exchanges sent so far (the next exchange gets this sequence number). */
  get sequence(): number {
    return this.seq;
  }

  private setState(state: ConnectionState, reason?: string): void {
    this._state = state;
    const ev: StateEvent = { state, reason, local: this.localAddress, remote: this.remoteAddress };
    this.emit('state', ev);
  }

  private async open(): Promise<void> {
    const { host, port, connectTimeoutMs } = this.options;
    let addresses: { address: string; family: number }[];
    try {
      addresses = net.isIP(host) ? [{ address: host, family: net.isIP(host) }] : await lookup(host, { all: true });
    } catch (cause) {
      throw new TransportError(`cannot resolve ${host}: ${(cause as Error).message}`, 'TH_TCP_RESOLVE', { cause });
    }
    const failures: string[] = [];
    for (const { address } of addresses) {
      try {
        this.socket = await connectOne(address, port, connectTimeoutMs);
        this.attach(this.socket);
        this.linkError = undefined;
        this.setState(this.reconnects > 0 ? 'degraded' : 'connected', this.reconnects > 0 ? `reconnected (${this.reconnects})` : undefined);
        return;
      } catch (e) {
        failures.push(`${address}:${port}: ${(e as Error).message}`);
      }
    }
    throw new TransportError(`cannot connect to ${host}:${port}; tried ${failures.length} address(es): ${failures.join('; ')}`, 'TH_TCP_CONNECT');
  }

  private attach(sock: net.Socket): void {
    sock.setNoDelay(true);
    this.local = `${sock.localAddress}:${sock.localPort}`;
    this.remote = `${sock.remoteAddress}:${sock.remotePort}`;
    this.parser.reset();
    this.inbox = [];
    sock.on('data', (d: Buffer) => {
      let frames: TaggedFrame[];
      try {
        frames = this.parser.push(d);
      } catch (e) {
        this.fail(e as Error);
        sock.destroy();
        return;
      }
      for (const f of frames) {
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = undefined;
          w.resolve(f);
        } else this.inbox.push(f);
      }
    });
    sock.on('error', (e) => this.fail(new TransportError(`socket error: ${e.message}`, 'TH_TCP_IO', { cause: e })));
    sock.on('close', () => {
      if (this.socket === sock) {
        this.fail(new TransportError(this.parser.midFrame ? 'connection closed mid-frame' : 'connection closed by peer', 'TH_TCP_CLOSED'));
        if (!this.closed) this.setState('degraded', 'connection lost');
      }
    });
  }

  private fail(e: Error): void {
    this.linkError ??= e;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(e);
    }
  }

  private nextFrame(timeoutMs: number): Promise<TaggedFrame> {
    const ready = this.inbox.shift();
    if (ready) return Promise.resolve(ready);
    if (this.linkError) return Promise.reject(this.linkError);
    return new Promise<TaggedFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TimeoutError('transport', `no reply within ${timeoutMs} ms`, timeoutMs));
      }, timeoutMs);
      this.waiter = {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  /**
   * Send one tagged message and return the reply payload. Replies are taken in order; without
   * pipelining a message is written only after the previous reply has arrived.
   */
  exchange(tag: number, payload: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    // Pipelined: write now if the message is valid and the link is up; otherwise the exchange
    // fails in its turn with the usual error.
    const written = this.options.pipeline && !this.closed && !this.linkError && !!this.socket && payload.length <= this.options.maxPayload;
    if (written) this.socket!.write(encodeFrame(tag, payload));
    const run = this.queue.then(() => this.exchangeNow(tag, payload, written));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchangeNow(tag: number, payload: Uint8Array, written = false): Promise<Uint8Array> {
    if (this.closed) throw new TransportError(`transport is closed; cannot send ${tagName(tag)}`, 'TH_TCP_CLOSED');
    if (payload.length > this.options.maxPayload) {
      throw new TransportError(`${tagName(tag)} payload of ${payload.length} bytes exceeds the maximum of ${this.options.maxPayload}`, 'TH_TCP_PAYLOAD', {
        expected: `<= ${this.options.maxPayload} bytes`,
      });
    }
    const seq = this.seq++;
    const started = Date.now();
    const t0 = performance.now();
    const rec: ExchangeRecord = { seq, time: started, durationMs: 0, tag, request: payload };
    try {
      const reply = await this.roundTrip(tag, payload, written);
      rec.replyTag = reply.tag;
      rec.reply = reply.payload;
      this.check(tag, payload, reply);
      return reply.payload;
    } catch (e) {
      rec.error = (e as Error).message;
      throw e;
    } finally {
      rec.durationMs = performance.now() - t0;
      this.onExchange?.(rec);
      this.emit('exchange', rec);
    }
  }

  private async roundTrip(tag: number, payload: Uint8Array, written: boolean): Promise<TaggedFrame> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.linkError || !this.socket) throw this.linkError ?? new TransportError('not connected', 'TH_TCP_CLOSED');
        if (!written || attempt > 0) this.socket.write(encodeFrame(tag, payload));
        let lastTimeout: TimeoutError | undefined;
        for (let r = 0; r <= this.options.receiveRetries; r++) {
          try {
            return await this.nextFrame(this.options.ioTimeoutMs);
          } catch (e) {
            if (!(e instanceof TimeoutError)) throw e;
            lastTimeout = e;
          }
        }
        throw new TimeoutError('transport', `no reply to ${tagName(tag)} after ${this.options.receiveRetries + 1} waits of ${this.options.ioTimeoutMs} ms`, this.options.ioTimeoutMs, {
          frame: payload,
          cause: lastTimeout,
        });
      } catch (e) {
        const linkDown = e instanceof TransportError && (e.code === 'TH_TCP_CLOSED' || e.code === 'TH_TCP_IO');
        if (!linkDown || !this.options.reconnect || attempt > 0 || this.closed) throw e;
        this.reconnects++;
        this.socket?.destroy();
        this.socket = undefined;
        await this.open();
      }
    }
  }

  private check(tag: number, payload: Uint8Array, reply: TaggedFrame): void {
    if (reply.tag === tag) {
      if (tag === TAG.SPI_SEND && reply.payload.length !== payload.length) {
        throw new ProtocolError('transport', `SPI_SEND of ${payload.length} bytes answered with ${reply.payload.length} bytes`, 'TH_TCP_SPI_LENGTH', {
          frame: reply.payload,
          expected: `${payload.length} bytes`,
        });
      }
      return;
    }
    const codes: Record<number, ErrorCode> = {
      [TAG.EXCEPTION]: 'TH_TCP_EXCEPTION',
      [TAG.INVALID]: 'TH_TCP_INVALID',
      [TAG.UNSUPPORTED]: 'TH_TCP_UNSUPPORTED',
    };
    const code = codes[reply.tag];
    if (code) {
      const what = reply.tag === TAG.EXCEPTION ? 'raised an internal exception (the model rebuilds its chip)' : reply.tag === TAG.INVALID ? 'does not know the tag' : 'does not support the tag';
      throw new TransportTagError(`server ${what}: sent ${tagName(tag)} (0x${hex(Uint8Array.of(tag))}), got ${tagName(reply.tag)}`, code, tag, reply.tag, { frame: payload });
    }
    throw new ProtocolError('transport', `reply tag ${tagName(reply.tag)} does not echo request tag ${tagName(tag)}`, 'TH_TCP_TAG_MISMATCH', {
      frame: reply.payload,
      expected: tagName(tag),
    });
  }

  async csnLow(): Promise<void> {
    await this.exchange(TAG.CSN_LOW);
  }
  async csnHigh(): Promise<void> {
    await this.exchange(TAG.CSN_HIGH);
  }
  transfer(data: Uint8Array): Promise<Uint8Array> {
    return this.exchange(TAG.SPI_SEND, data);
  }
  read(length: number): Promise<Uint8Array> {
    return this.exchange(TAG.SPI_SEND, new Uint8Array(length));
  }
  async powerOn(): Promise<void> {
    await this.exchange(TAG.POWER_ON);
  }
  async powerOff(): Promise<void> {
    await this.exchange(TAG.POWER_OFF);
  }
  /** WAIT carries the time in milliseconds (u32 LE); model servers ignore it. */
  async wait(ms: number): Promise<void> {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setUint32(0, Math.max(0, Math.round(ms)) >>> 0, true);
    await this.exchange(TAG.WAIT, p);
  }
  async resetTarget(): Promise<void> {
    await this.exchange(TAG.RESET_TARGET);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sock = this.socket;
    this.fail(new TransportError('transport closed', 'TH_TCP_CLOSED'));
    if (sock && !sock.destroyed) {
      await new Promise<void>((resolve) => {
        sock.once('close', () => resolve());
        sock.end();
        setTimeout(() => (sock.destroy(), resolve()), 500).unref();
      });
    }
    this.setState('closed');
  }
}

function connectOne(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
