/**
 * Model server: the embedded model behind libtropic's tagged TCP protocol, a drop-in for ts-tvl's
 * `model_server tcp` (default 127.0.0.1:28992). One client is served at a time; a second client
 * waits, unread, until the first disconnects (or is dropped after `idleTimeoutMs` without a frame).
 * A disconnect keeps the chip's state, except that chip select rises and a response the client
 * had started to read is dropped; RESET_TARGET and internal errors (answered with EXCEPTION)
 * rebuild the chip from its configuration.
 *
 * Sturdier than ts-tvl: frames are parsed from a byte stream (split headers, several frames per
 * read), the replies to one read go out in one socket write, a client that does not read its
 * replies is no longer read either (backpressure), a client that disconnects mid-frame is logged
 * and dropped, and an oversize length is answered with EXCEPTION after its payload is drained; the
 * server never crashes on input.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { HEADER_SIZE, TAG, TaggedFrameParser, encodeFrame, tagName, writeHeader, MODEL_SERVER_MAX_PAYLOAD } from '../protocol/tagged-frame.js';
import { OneClientAtATime, clientName } from '../protocol/one-client-at-a-time.js';
import { ModelError } from '../errors.js';
import { TropicModel } from './chip.js';
import { ModelFaults } from './faults.js';
import type { ModelLog } from './log.js';
import { dumpModelConfig, loadModelConfig, type ModelConfig } from './model-config.js';
import { snapshotConfig } from './snapshot.js';

export const DEFAULT_MODEL_PORT = 28992;
export const DEFAULT_MODEL_ADDRESS = '127.0.0.1';
/** A client silent this long loses the chip to the next one (0: never). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Reply bytes a client may leave unread before the server stops reading its requests. */
export const DEFAULT_MAX_UNREAD_REPLY_BYTES = 64 * 1024;
/** Most replies to one read gathered into one write (a long read is answered in parts): 3 L3 Pings. */
export const REPLIES_PER_WRITE = 27;

export interface ModelServerOptions {
  port?: number;
  address?: string;
  /** Parsed configuration, or a YAML path; the project's default configuration when omitted. */
  config?: ModelConfig | string;
  /** Where to write the chip's state (ts-tvl YAML) on reset and on close. */
  configOut?: string;
  log?: ModelLog;
  /** Largest accepted payload; larger frames are drained and answered with EXCEPTION. */
  maxPayload?: number;
  /** Disconnect the served client after this long without a frame (0: never). */
  idleTimeoutMs?: number;
  /** Stop reading a client while more than this many reply bytes wait in its socket. */
  maxUnreadReplyBytes?: number;
}

export interface ServerStats {
  connections: number;
  /** Reads from client sockets, and socket writes of replies (one per read that completed a frame). */
  reads: number;
  writes: number;
  frames: number;
  exceptions: number;
  resets: number;
  protocolErrors: number;
  /** Times a client was no longer read because it left its replies unread. */
  backpressurePauses: number;
  /** Largest number of reply bytes seen queued in a client's socket. */
  peakUnreadReplyBytes: number;
  idleDisconnects: number;
  /** Half-read responses dropped when their client went away. */
  droppedResponses: number;
}

export class ModelServer {
  readonly config: ModelConfig;
  /** Shared by every chip this server builds, so a fault survives RESET_TARGET (see faults.ts). */
  readonly faults: ModelFaults;
  chip: TropicModel;
  readonly stats: ServerStats = {
    connections: 0,
    reads: 0,
    writes: 0,
    frames: 0,
    exceptions: 0,
    resets: 0,
    protocolErrors: 0,
    backpressurePauses: 0,
    peakUnreadReplyBytes: 0,
    idleDisconnects: 0,
    droppedResponses: 0,
  };
  private server?: net.Server;
  private readonly clients = new OneClientAtATime((sock) => this.serve(sock), (level, msg) => this.log(level, msg));
  private readonly log: ModelLog;
  private readonly maxPayload: number;
  private readonly idleTimeoutMs: number;
  private readonly maxUnread: number;

  constructor(private readonly opts: ModelServerOptions = {}) {
    this.config = typeof opts.config === 'object' ? opts.config : loadModelConfig(opts.config);
    this.log = opts.log ?? (() => {});
    this.maxPayload = opts.maxPayload ?? MODEL_SERVER_MAX_PAYLOAD;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxUnread = opts.maxUnreadReplyBytes ?? DEFAULT_MAX_UNREAD_REPLY_BYTES;
    this.faults = new ModelFaults(this.config.faults);
    this.chip = new TropicModel(this.config, this.log, this.faults);
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
  get address(): string {
    return this.opts.address ?? DEFAULT_MODEL_ADDRESS;
  }

  async start(): Promise<this> {
    // The write high-water mark is the bound on unread replies: write() answers false past it.
    const server = net.createServer({ highWaterMark: this.maxUnread }, (s) => this.clients.admit(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? DEFAULT_MODEL_PORT, this.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.log('info', `model server listening on ${this.address}:${this.port}`);
    return this;
  }

  /**
   * Rebuild the chip from its configuration (what RESET_TARGET does); faults stay as they are, and
   * so does a random source given to the chip (a seeded one: a frame log with RESET_TARGET replays).
   */
  resetChip(reason: string, keepRandom = true): void {
    this.saveState();
    const random = keepRandom && Object.hasOwn(this.chip, 'random') ? this.chip.random : undefined;
    this.chip = new TropicModel(this.config, this.log, this.faults);
    if (random) this.chip.random = random;
    this.stats.resets++;
    this.log('info', `chip rebuilt from its configuration (${reason})`);
  }

  /** A fresh chip for a new test: rebuilt, with only the configured faults. */
  freshChip(reason: string): void {
    this.faults.restore();
    this.resetChip(reason, false);
  }

  /** True once writing the chip's state to `configOut` failed (the CLI then exits non-zero). */
  stateSaveFailed = false;

  saveState(): void {
    if (!this.opts.configOut) return;
    try {
      writeFileSync(this.opts.configOut, dumpModelConfig(snapshotConfig(this.chip)));
    } catch (e) {
      this.stateSaveFailed = true;
      this.log('error', `cannot write the chip's state to ${this.opts.configOut}: ${(e as Error).message}`);
    }
  }

  private serve(sock: net.Socket): void {
    const who = clientName(sock);
    this.stats.connections++;
    this.log('info', `client ${who} connected`);
    // Payloads are views into the read: each is handled before the next read arrives.
    const parser = new TaggedFrameParser(this.maxPayload, 'discard', 'view');
    if (this.idleTimeoutMs > 0) {
      sock.setTimeout(this.idleTimeoutMs);
      sock.on('timeout', () => {
        this.stats.idleDisconnects++;
        this.log('warn', `client ${who} sent nothing for ${this.idleTimeoutMs} ms; disconnected so that a waiting client can be served`);
        sock.destroy();
      });
    }
    sock.on('data', (chunk: Buffer) => {
      this.stats.reads++;
      let replies: Uint8Array[] = [];
      for (const f of parser.push(chunk)) {
        if (f.oversize !== undefined) {
          this.stats.protocolErrors++;
          this.log('warn', `client ${who}: ${tagName(f.tag)} declared ${f.oversize} payload bytes, limit ${this.maxPayload}; payload discarded, answered EXCEPTION`);
          replies.push(encodeFrame(TAG.EXCEPTION));
        } else replies.push(this.handle(f.tag, f.payload));
        // A long read (many commands in flight) is answered in parts, so that the client decodes
        // the first replies while the rest are computed; a short one costs one write.
        if (replies.length === REPLIES_PER_WRITE) {
          this.reply(sock, who, Buffer.concat(replies));
          replies = [];
        }
      }
      if (replies.length) this.reply(sock, who, replies.length === 1 ? replies[0] : Buffer.concat(replies));
    });
    sock.on('drain', () => {
      if (!sock.isPaused() || sock.destroyed) return;
      this.log('info', `client ${who} read its replies; reading its requests again`);
      sock.resume();
    });
    sock.on('error', (e) => this.log('warn', `client ${who}: socket error ${e.message}`));
    sock.on('close', () => {
      if (parser.midFrame) {
        this.stats.protocolErrors++;
        this.log('warn', `client ${who} disconnected mid-frame; partial frame dropped`);
      }
      if (this.chip.spi.hostGone()) {
        this.stats.droppedResponses++;
        this.log('info', `client ${who} left a response half-read; its rest is dropped`);
      }
      this.log('info', `client ${who} disconnected (chip state kept, chip select high)`);
      this.clients.done();
    });
  }

  /** Write the replies to one read at once; stop reading a client that does not read them. */
  private reply(sock: net.Socket, who: string, bytes: Uint8Array): void {
    const delay = this.faults.settings.delayResponseMs;
    if (delay) {
      setTimeout(() => this.write(sock, who, bytes), delay);
      return;
    }
    this.write(sock, who, bytes);
  }

  private write(sock: net.Socket, who: string, bytes: Uint8Array): void {
    if (sock.destroyed) return;
    this.stats.writes++;
    const flushed = sock.write(bytes);
    const queued = sock.writableLength;
    if (queued > this.stats.peakUnreadReplyBytes) this.stats.peakUnreadReplyBytes = queued;
    if (!flushed && !sock.isPaused()) {
      this.stats.backpressurePauses++;
      this.log('warn', `client ${who} leaves ${queued} reply bytes unread; not reading its requests until it catches up`);
      sock.pause();
    }
  }

  /** Process one tagged message and return the encoded reply. */
  handle(tag: number, payload: Uint8Array): Uint8Array {
    this.stats.frames++;
    try {
      if (this.faults.takeFrameException()) throw new ModelError(`fault exceptionAtFrame: planted internal error on ${tagName(tag)}`, 'TH_MODEL_FAULT');
      switch (tag) {
        case TAG.CSN_LOW:
          this.chip.spi.csnFalling();
          return encodeFrame(tag);
        case TAG.CSN_HIGH:
          this.chip.spi.csnRising();
          return encodeFrame(tag);
        case TAG.SPI_SEND:
        {
          // The reply frame is built around the bytes clocked back (no copy of them).
          const n = payload.length;
          const frame = new Uint8Array(HEADER_SIZE + n);
          const back = this.chip.spi.transfer(payload, frame.subarray(HEADER_SIZE));
          if (back.length !== n) return encodeFrame(tag, back);
          writeHeader(frame, 0, tag, n);
          return frame;
        }
        case TAG.POWER_ON:
          return encodeFrame(tag);
        case TAG.POWER_OFF:
          this.chip.powerCycle();
          return encodeFrame(tag);
        case TAG.WAIT:
          return encodeFrame(tag); // a model has nothing to wait for; the payload is ignored
        case TAG.RESET_TARGET:
          this.resetChip('RESET_TARGET');
          return encodeFrame(tag);
        case TAG.EXCEPTION:
        case TAG.INVALID:
        case TAG.UNSUPPORTED:
          this.log('warn', `tag ${tagName(tag)} is known but has no behaviour`);
          return encodeFrame(TAG.UNSUPPORTED);
        default:
          this.log('warn', `tag 0x${tag.toString(16)} is not part of the protocol`);
          return encodeFrame(TAG.INVALID);
      }
    } catch (e) {
      this.stats.exceptions++;
      this.log('error', `internal error on ${tagName(tag)}: ${(e as Error).message}`);
      this.resetChip('internal error');
      return encodeFrame(TAG.EXCEPTION);
    }
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.saveState();
    this.clients.closeAll();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
    this.log('info', 'model server closed');
  }
}
