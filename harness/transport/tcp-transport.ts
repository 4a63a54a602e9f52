/**
 * TcpTransport: L1 over libtropic's tagged TCP protocol, to a model server or a TCP-attached rig,
 * in plain TCP or over TLS (client-certificate authentication).
 *
 * - Connects to every address the host name resolves to, each with its own timeout, and reports
 *   all attempts when none answers.
 * - Every new connection starts with CSN_HIGH (`resyncOnConnect`, on by default): whatever an
 *   earlier client left behind (chip select low, a half-read response) cannot leak into ours.
 * - One exchange at a time (servers such as ts-tvl lose a second frame sent in the same segment);
 *   each reply is framed exactly, however TCP splits or merges it.
 * - Every wait is bounded; a timed-out receive is waited for again a bounded number of times. A
 *   final timeout ends the link: a reply arriving later would otherwise be taken as the answer to
 *   the next exchange. Later exchanges fail with TH_TCP_LINK_LOST, or reconnect when enabled.
 * - Opt-in reconnect: when the link is lost, reconnect once at a message boundary (then CSN_HIGH
 *   first), retry the exchange and report the `degraded` state.
 * - Opt-in pipelining, for servers that frame their input (the embedded model does; ts-tvl 2.2
 *   loses the second of two frames in one read): messages issued in the same tick go out in one
 *   socket write and replies are matched in order, so a chip-select window (CSN_LOW, SPI_SEND,
 *   CSN_HIGH) costs one write and one round trip instead of three.
 */
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import { TransportError, TimeoutError, ProtocolError, type ErrorCode } from '../errors.js';
import { DEFAULT_MAX_PAYLOAD, HEADER_SIZE, TAG, TaggedFrameParser, encodeFrame, tagName, writeHeader, type TaggedFrame } from '../protocol/tagged-frame.js';
import { connectSocket, isTlsError, retireSocket, ConnectFailure, type StreamSocket, type TlsOptions } from './connect-socket.js';
import type { ExchangeRecord } from './l1-transport.js';
import { TaggedL1Transport, checkReplyTag } from './tagged-l1-transport.js';

export type { TlsOptions } from './connect-socket.js';

export interface TcpTransportOptions {
  host: string;
  port: number;
  /** Per-address connect timeout (TCP connect plus, with `tls`, the TLS handshake). */
  connectTimeoutMs?: number;
  /** Bound on waiting for one reply. */
  ioTimeoutMs?: number;
  /** Extra waits for a reply after an I/O timeout before giving up (and ending the link). */
  receiveRetries?: number;
  /** Largest payload sent or accepted (protocol maximum for SPI transfers by default). */
  maxPayload?: number;
  /** Reconnect once and retry when the link is lost. Off by default. */
  reconnect?: boolean;
  /** Write messages without waiting for earlier replies (see above). Off by default; not with reconnect. */
  pipeline?: boolean;
  /**
   * Send CSN_HIGH before anything else on every new connection (also after a reconnect), so a
   * chip select left low or a response left half-read by an earlier client cannot leak in. On by
   * default; this exchange is link management: it takes no sequence number and is reported as a
   * `resync` event, not an `exchange`.
   */
  resyncOnConnect?: boolean;
  /** Connect over TLS with this material (PEM contents). Plain TCP when omitted. */
  tls?: TlsOptions;
}

export type ResolvedTcpTransportOptions = Required<Omit<TcpTransportOptions, 'tls'>> & { tls?: TlsOptions };

export type ConnectionState = 'connecting' | 'connected' | 'degraded' | 'closed';

export interface StateEvent {
  state: ConnectionState;
  reason?: string;
  local?: string;
  remote?: string;
}

/** The CSN_HIGH sent at the start of a connection. */
export interface ResyncEvent {
  remote?: string;
  durationMs: number;
  replyTag: number;
}

interface Pending {
  resolve: (f: TaggedFrame) => void;
  reject: (e: Error) => void;
  /** performance.now() after which the wait has failed. */
  deadline: number;
  /** The error a wait that ran out fails with. */
  timedOut: () => Error;
}

/**
 * A pipelined exchange: written when issued, matched to its reply in turn. Only the exchange at
 * the head of the queue waits (and is bounded); the ones behind it start their turn as it settles.
 */
interface Queued {
  tag: number;
  payload: Uint8Array;
  /** False when the message could not be written at issue (link down, too long): it fails in its turn. */
  written: boolean;
  resolve: (reply: Uint8Array) => void;
  reject: (e: Error) => void;
  /** Set when its turn starts. */
  rec?: ExchangeRecord;
  t0: number;
  deadline: number;
}

const EMPTY = new Uint8Array(0);
const closedError = (tag: number): TransportError => new TransportError(`transport is closed; cannot send ${tagName(tag)}`, 'TH_TCP_CLOSED');
const notConnected = (): TransportError => new TransportError('not connected', 'TH_TCP_CLOSED');
const NOOP = (): void => {};
const CSN_HIGH_FRAME = encodeFrame(TAG.CSN_HIGH);
/** Errors after which the connection is unusable; with `reconnect` the exchange is retried on a new one. */
const LINK_DOWN_CODES: readonly ErrorCode[] = ['TH_TCP_CLOSED', 'TH_TCP_IO', 'TH_TCP_LINK_LOST', 'TH_TLS'];

export class TcpTransport extends TaggedL1Transport {
  readonly options: ResolvedTcpTransportOptions;
  private socket?: StreamSocket;
  private parser: TaggedFrameParser;
  private inbox: TaggedFrame[] = [];
  private waiter?: Pending;
  /** Pipelined frames issued in the current tick, written together by `flush`. */
  private outbox: Uint8Array[] = [];
  /** Pipelined exchanges in wire order; the head is the one whose reply is awaited. */
  private queue: Queued[] = [];
  /** The latest exchange issued; the next one runs after it settles. */
  private last?: Promise<unknown>;
  /** Exchanges issued and not yet finished: with none, the next one starts at once. */
  private inFlight = 0;
  /**
   * One timer bounds whichever reply is awaited, re-armed lazily (a timer per exchange costs more
   * than the exchange on loopback); unref'd while nothing is awaited, so it never holds a process.
   */
  private timer?: NodeJS.Timeout;
  private timerDue = Infinity;
  private seq = 0;
  private writes = 0;
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
      resyncOnConnect: true,
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
  /** Messages issued together go out in one write and are answered in order (the `pipeline` option). */
  get pipelined(): boolean {
    return this.options.pipeline;
  }
  /** Socket writes so far, resync included (a pipelined chip-select window is one). */
  get socketWrites(): number {
    return this.writes;
  }

  private setState(state: ConnectionState, reason?: string): void {
    this._state = state;
    const ev: StateEvent = { state, reason, local: this.localAddress, remote: this.remoteAddress };
    this.emit('state', ev);
  }

  private async open(): Promise<void> {
    const { host, port, connectTimeoutMs, tls } = this.options;
    let addresses: { address: string; family: number }[];
    try {
      addresses = net.isIP(host) ? [{ address: host, family: net.isIP(host) }] : await lookup(host, { all: true });
    } catch (cause) {
      throw new TransportError(`cannot resolve ${host}: ${(cause as Error).message}`, 'TH_TCP_RESOLVE', { cause });
    }
    const failures: string[] = [];
    let tlsRefused = false;
    let lastCause: unknown;
    for (const { address } of addresses) {
      const shown = endpoint(address, port);
      let sock: StreamSocket;
      try {
        sock = await connectSocket(address, port, connectTimeoutMs, host, tls);
      } catch (e) {
        failures.push(`${shown}: ${(e as Error).message}`);
        tlsRefused ||= e instanceof ConnectFailure && e.tls;
        lastCause = (e as Error).cause ?? e;
        continue;
      }
      this.socket = sock;
      this.attach(sock);
      this.linkError = undefined;
      // Resync before reporting the link up: a server that rejects us (TLS client auth under
      // TLS 1.3 fails only now) or answers nothing must fail the connect, not the first test step.
      if (this.options.resyncOnConnect) await this.resync(shown);
      const again = this.reconnects > 0;
      this.setState(again ? 'degraded' : 'connected', again ? `reconnected (${this.reconnects})` : undefined);
      return;
    }
    const what = tls ? 'TLS' : 'TCP';
    throw new TransportError(`cannot connect (${what}) to ${host}:${port}; tried ${failures.length} address(es): ${failures.join('; ')}`, tlsRefused ? 'TH_TLS' : 'TH_TCP_CONNECT', {
      cause: lastCause,
    });
  }

  /** CSN_HIGH as the connection's first message; failure ends this connection and is thrown. */
  private async resync(shown: string): Promise<void> {
    const t0 = performance.now();
    const waitMs = this.options.ioTimeoutMs * (this.options.receiveRetries + 1);
    this.writeNow(CSN_HIGH_FRAME);
    let reply: TaggedFrame;
    try {
      reply = await this.nextFrame(waitMs);
      this.check(TAG.CSN_HIGH, new Uint8Array(0), reply);
    } catch (e) {
      let err = e as Error;
      if (e instanceof TimeoutError) err = new TimeoutError('transport', `connected to ${shown} but the resync CSN_HIGH got no reply within ${waitMs} ms`, waitMs, { cause: e });
      // Under TLS 1.3 a refused client certificate shows only now, on the first read.
      else if (e instanceof TransportError && e.code === 'TH_TLS') err = new TransportError(`TLS connection to ${shown} refused after the handshake: ${e.detail}`, 'TH_TLS', { cause: e });
      this.loseLink(err, 'resync CSN_HIGH failed', false);
      throw err;
    }
    const ev: ResyncEvent = { remote: this.remote, durationMs: performance.now() - t0, replyTag: reply.tag };
    this.emit('resync', ev);
  }

  private attach(sock: StreamSocket): void {
    sock.setNoDelay(true);
    this.local = endpoint(sock.localAddress, sock.localPort);
    this.remote = endpoint(sock.remoteAddress, sock.remotePort);
    this.parser.reset();
    this.inbox = [];
    this.outbox = [];
    sock.on('data', (d: Buffer) => {
      if (this.socket !== sock) return; // a connection we have given up on
      let frames: TaggedFrame[];
      try {
        frames = this.parser.push(d);
      } catch (e) {
        // The waiting exchange gets the protocol error; later ones find the link lost.
        const w = this.settleWaiter();
        const head = this.takeWaitingHead();
        this.loseLink(e as Error, 'reply stream out of sync');
        w?.reject(e as Error);
        if (head) {
          this.settleHead(head, e as Error);
          this.drainQueue();
        }
        return;
      }
      for (const f of frames) {
        // (the timer is left alone unless a waiter settles: toggling it per message showed in profiles)
        const w = this.waiter && this.settleWaiter();
        if (w) w.resolve(f);
        else this.inbox.push(f);
      }
      if (this.queue.length) this.drainQueue();
    });
    sock.on('error', (e) => {
      if (this.socket !== sock) return;
      const viaTls = isTlsError(e);
      this.fail(new TransportError(`${viaTls ? 'TLS' : 'socket'} error: ${e.message}`, viaTls ? 'TH_TLS' : 'TH_TCP_IO', { cause: e }));
    });
    sock.on('close', () => {
      if (this.socket !== sock) return;
      this.fail(new TransportError(this.parser.midFrame ? 'connection closed mid-frame' : 'connection closed by peer', 'TH_TCP_CLOSED'));
      if (!this.closed) this.setState('degraded', 'connection lost');
    });
  }

  /** Record the link's first error and fail the exchange waiting on it. */
  private fail(e: Error): void {
    this.linkError ??= e;
    this.settleWaiter()?.reject(e);
    const head = this.takeWaitingHead();
    if (!head) return;
    this.settleHead(head, e);
    this.drainQueue(); // the ones behind it fail in their turn
  }

  /**
   * Give up on the current connection: nothing that arrives on it later can be matched to a
   * request any more. Later exchanges fail with TH_TCP_LINK_LOST (or reconnect when enabled).
   */
  private loseLink(cause: Error, reason: string, announce = true): void {
    const sock = this.socket;
    this.socket = undefined;
    this.fail(new TransportError(`link ended: ${reason}; later exchanges on this connection cannot be matched to their replies`, 'TH_TCP_LINK_LOST', { cause }));
    this.inbox = [];
    this.outbox = [];
    if (sock) retireSocket(sock); // its listeners ignore it (`this.socket !== sock`)
    if (announce && !this.closed) this.setState('degraded', reason);
  }

  /** The next reply frame, within `timeoutMs`; `timedOut` makes the error a wait that ran out fails with. */
  private nextFrame(timeoutMs: number, timedOut: () => Error = () => new TimeoutError('transport', `no reply within ${timeoutMs} ms`, timeoutMs)): Promise<TaggedFrame> {
    const ready = this.inbox.shift();
    if (ready) return Promise.resolve(ready);
    if (this.linkError) return Promise.reject(this.linkError);
    return new Promise<TaggedFrame>((resolve, reject) => {
      const deadline = performance.now() + timeoutMs;
      this.waiter = { resolve, reject, deadline, timedOut };
      this.armTimer(deadline);
    });
  }

  private armTimer(deadline: number): void {
    if (this.timer && this.timerDue <= deadline) {
      this.timer.ref();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = deadline;
    this.timer = setTimeout(this.onTimer, Math.max(0, deadline - performance.now()));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerDue = Infinity;
    const head = this.queue[0];
    if (head?.rec && !this.waiter) {
      if (performance.now() < head.deadline) return this.armTimer(head.deadline);
      this.takeWaitingHead();
      this.settleHead(head, this.replyTimedOut(head.tag, head.payload));
      return this.drainQueue();
    }
    const w = this.waiter;
    if (!w) return;
    if (performance.now() < w.deadline) return this.armTimer(w.deadline);
    this.waiter = undefined;
    w.reject(w.timedOut());
  };

  /** A reply arrived or the link failed: the waiter is done; the timer stays, unref'd, for the next. */
  private settleWaiter(): Pending | undefined {
    const w = this.waiter;
    this.waiter = undefined;
    this.timer?.unref();
    return w;
  }

  private writeNow(frame: Uint8Array): void {
    this.writes++;
    this.socket!.write(frame);
  }

  /** Pipelined: gather the frames issued in this tick and write them together. */
  private writeGathered(frame: Uint8Array): void {
    this.outbox.push(frame);
    const sock = this.socket;
    if (this.outbox.length === 1) queueMicrotask(() => this.flush(sock));
  }

  private flush(sock: StreamSocket | undefined): void {
    const frames = this.outbox;
    this.outbox = [];
    // The link may have been lost since: those exchanges fail in their turn with its error.
    if (!frames.length || !sock || sock !== this.socket || sock.destroyed) return;
    this.writes++;
    sock.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }

  /**
   * Send one tagged message and return the reply payload. Replies are taken in order; without
   * pipelining a message is written only after the previous reply has arrived.
   */
  exchange(tag: number, payload: Uint8Array = EMPTY): Promise<Uint8Array> {
    if (this.options.pipeline) {
      // Written now if the message is valid and the link is up; otherwise it fails in its turn.
      return new Promise<Uint8Array>((resolve, reject) => {
        const ok = this.writable(payload);
        if (ok) this.writeGathered(encodeFrame(tag, payload));
        this.enqueue(tag, payload, ok, resolve, reject);
      });
    }
    // Nothing in flight: start now (no hop through a settled promise); otherwise after the last.
    const go = () => this.exchangeNow(tag, payload);
    const run = this.inFlight === 0 || !this.last ? go() : this.last.then(go, go);
    this.inFlight++;
    this.last = run;
    return run;
  }

  /**
   * One chip-select window (CSN_LOW, SPI_SEND, CSN_HIGH): the same three exchanges, recorded one
   * by one, with one promise for the bytes clocked back. It fails with the first exchange that
   * fails, and chip select is raised even then (all three are issued together). Pipelined, the
   * three messages are encoded into one buffer and matched without a promise each.
   */
  override window(bytes: Uint8Array): Promise<Uint8Array> {
    if (!this.options.pipeline) return super.window(bytes);
    return new Promise<Uint8Array>((resolve, reject) => {
      let back: Uint8Array = EMPTY;
      let failed = false;
      const fail = (e: Error): void => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const ok = this.writable(bytes);
      if (ok) {
        const n = bytes.length;
        const frames = new Uint8Array(3 * HEADER_SIZE + n);
        writeHeader(frames, 0, TAG.CSN_LOW, 0);
        writeHeader(frames, HEADER_SIZE, TAG.SPI_SEND, n);
        frames.set(bytes, 2 * HEADER_SIZE);
        writeHeader(frames, 2 * HEADER_SIZE + n, TAG.CSN_HIGH, 0);
        this.writeGathered(frames);
      }
      this.enqueue(TAG.CSN_LOW, EMPTY, ok, NOOP, fail);
      this.enqueue(TAG.SPI_SEND, bytes, ok, (r) => (back = r), fail);
      this.enqueue(TAG.CSN_HIGH, EMPTY, ok, () => failed || resolve(back), fail);
    });
  }

  /** Whether a pipelined message can be written when issued. */
  private writable(payload: Uint8Array): boolean {
    return !this.closed && !this.linkError && !!this.socket && payload.length <= this.options.maxPayload;
  }

  private enqueue(tag: number, payload: Uint8Array, written: boolean, resolve: (r: Uint8Array) => void, reject: (e: Error) => void): void {
    this.queue.push({ tag, payload, written, resolve, reject, t0: 0, deadline: 0 });
    if (this.queue.length === 1) this.drainQueue();
  }

  /**
   * Start the head's turn, and settle every exchange whose reply is already here (or that fails
   * before any reply: closed, too long, link lost), in order. The same checks, records and
   * errors as a serial exchange, in the same order.
   */
  private drainQueue(): void {
    for (let head = this.queue[0]; head; head = this.queue[0]) {
      if (!head.rec) {
        if (this.closed) {
          this.queue.shift();
          head.reject(closedError(head.tag));
          continue;
        }
        if (head.payload.length > this.options.maxPayload) {
          this.queue.shift();
          head.reject(this.payloadTooLong(head.tag, head.payload));
          continue;
        }
        head.rec = { seq: this.seq++, time: Date.now(), durationMs: 0, tag: head.tag, request: head.payload };
        head.t0 = performance.now();
        if (this.linkError || !this.socket) {
          this.settleHead(head, this.linkError ?? notConnected());
          continue;
        }
        if (!head.written) this.writeNow(encodeFrame(head.tag, head.payload));
        head.deadline = head.t0 + this.options.ioTimeoutMs * (this.options.receiveRetries + 1);
      }
      const reply = this.inbox.shift();
      if (!reply) {
        this.armTimer(head.deadline);
        return;
      }
      this.settleHead(head, undefined, reply);
    }
    this.timer?.unref();
  }

  /** The head, if it is waiting for its reply, taken off the queue (its turn ends now). */
  private takeWaitingHead(): Queued | undefined {
    const head = this.queue[0];
    if (!head?.rec) return undefined;
    this.queue.shift();
    return head;
  }

  /**
   * Finish an exchange whose turn has started: check, record, settle. The caller starts the next
   * one's turn (`drainQueue`, a loop: settling in a recursion overflowed the stack at ~10,000
   * exchanges answered in one read).
   */
  private settleHead(head: Queued, error?: Error, reply?: TaggedFrame): void {
    if (this.queue[0] === head) this.queue.shift();
    const rec = head.rec!;
    if (reply) {
      rec.replyTag = reply.tag;
      rec.reply = reply.payload;
      try {
        this.check(head.tag, head.payload, reply);
      } catch (e) {
        error = e as Error;
      }
    }
    if (error) rec.error = error.message;
    this.publish(rec, head.t0);
    if (error) head.reject(error);
    else head.resolve(reply!.payload);
  }

  private payloadTooLong(tag: number, payload: Uint8Array): TransportError {
    return new TransportError(`${tagName(tag)} payload of ${payload.length} bytes exceeds the maximum of ${this.options.maxPayload}`, 'TH_TCP_PAYLOAD', {
      expected: `<= ${this.options.maxPayload} bytes`,
    });
  }

  private async exchangeNow(tag: number, payload: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.recordedExchange(tag, payload);
    } finally {
      this.inFlight--;
    }
  }

  private async recordedExchange(tag: number, payload: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw closedError(tag);
    if (payload.length > this.options.maxPayload) throw this.payloadTooLong(tag, payload);
    const seq = this.seq++;
    const started = Date.now();
    const t0 = performance.now();
    const rec: ExchangeRecord = { seq, time: started, durationMs: 0, tag, request: payload };
    try {
      const reply = await this.roundTrip(tag, payload);
      rec.replyTag = reply.tag;
      rec.reply = reply.payload;
      this.check(tag, payload, reply);
      return reply.payload;
    } catch (e) {
      rec.error = (e as Error).message;
      throw e;
    } finally {
      this.publish(rec, t0);
    }
  }

  /** A finished exchange (`t0`: when its turn started) to the recorder and the listeners. */
  private publish(rec: ExchangeRecord, t0: number): void {
    rec.durationMs = performance.now() - t0;
    this.onExchange?.(rec);
    this.emit('exchange', rec);
  }

  private async roundTrip(tag: number, payload: Uint8Array): Promise<TaggedFrame> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.linkError || !this.socket) throw this.linkError ?? notConnected();
        this.writeNow(encodeFrame(tag, payload));
        return await this.receive(tag, payload);
      } catch (e) {
        const linkDown = e instanceof TransportError && LINK_DOWN_CODES.includes(e.code);
        if (!linkDown || !this.options.reconnect || attempt > 0 || this.closed) throw e;
        this.reconnects++;
        if (this.socket) retireSocket(this.socket);
        this.socket = undefined;
        await this.open();
      }
    }
  }

  /**
   * The reply to the message just sent; a final timeout ends the link (see the header). The
   * `receiveRetries` extra waits of `ioTimeoutMs` are one wait of their sum: nothing happens
   * between them, and one bounded wait costs one timer instead of one per retry.
   */
  private receive(tag: number, payload: Uint8Array): Promise<TaggedFrame> {
    const { ioTimeoutMs, receiveRetries } = this.options;
    return this.nextFrame(ioTimeoutMs * (receiveRetries + 1), () => this.replyTimedOut(tag, payload));
  }

  /** A reply that did not come within every wait: the link ends (a late reply would be taken as the next one's). */
  private replyTimedOut(tag: number, payload: Uint8Array): TimeoutError {
    const { ioTimeoutMs, receiveRetries } = this.options;
    const waits = receiveRetries + 1;
    const err = new TimeoutError('transport', `no reply to ${tagName(tag)} after ${waits} waits of ${ioTimeoutMs} ms`, ioTimeoutMs, { frame: payload });
    this.loseLink(err, `no reply to ${tagName(tag)} within ${waits * ioTimeoutMs} ms`);
    return err;
  }

  private check(tag: number, payload: Uint8Array, reply: TaggedFrame): void {
    checkReplyTag(tag, payload, reply.tag, reply.payload);
    if (tag === TAG.SPI_SEND && reply.payload.length !== payload.length) {
      throw new ProtocolError('transport', `SPI_SEND of ${payload.length} bytes answered with ${reply.payload.length} bytes`, 'TH_TCP_SPI_LENGTH', {
        frame: reply.payload,
        expected: `${payload.length} bytes`,
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sock = this.socket;
    this.fail(new TransportError('transport closed', 'TH_TCP_CLOSED'));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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

/** `addr:port`, with IPv6 addresses in brackets. */
function endpoint(address: string | undefined, port: number | undefined): string {
  return net.isIPv6(address ?? '') ? `[${address}]:${port}` : `${address}:${port}`;
}
