/**
 * Model server: the embedded model behind libtropic's tagged TCP protocol, a drop-in for ts-tvl's
 * `model_server tcp` (default 127.0.0.1:28992). One client is served at a time; a second client
 * waits, unread, until the first disconnects. A disconnect keeps the chip's state; RESET_TARGET and
 * internal errors (answered with EXCEPTION) rebuild it from its configuration.
 *
 * Sturdier than ts-tvl: frames are parsed from a byte stream (split headers, several frames per
 * read), a client that disconnects mid-frame is logged and dropped, and an oversize length is
 * answered with EXCEPTION after its payload is drained; the server never crashes on input.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { TAG, TaggedFrameParser, encodeFrame, tagName, MAX_PAYLOAD_FIELD } from '../protocol/tagged-frame.js';
import { TropicModel, type ModelLog } from './chip.js';
import { dumpModelConfig, loadModelConfig, type ModelConfig } from './model-config.js';
import { snapshotConfig } from './snapshot.js';

export const DEFAULT_MODEL_PORT = 28992;
export const DEFAULT_MODEL_ADDRESS = '127.0.0.1';

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
}

export interface ServerStats {
  connections: number;
  frames: number;
  exceptions: number;
  resets: number;
  protocolErrors: number;
}

export class ModelServer {
  readonly config: ModelConfig;
  chip: TropicModel;
  readonly stats: ServerStats = { connections: 0, frames: 0, exceptions: 0, resets: 0, protocolErrors: 0 };
  private server?: net.Server;
  private active?: net.Socket;
  private waiting: net.Socket[] = [];
  private readonly log: ModelLog;
  private readonly maxPayload: number;
  private closing = false;

  constructor(private readonly opts: ModelServerOptions = {}) {
    this.config = typeof opts.config === 'object' ? opts.config : loadModelConfig(opts.config);
    this.log = opts.log ?? (() => {});
    this.maxPayload = opts.maxPayload ?? MAX_PAYLOAD_FIELD;
    this.chip = new TropicModel(this.config, this.log);
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
  get address(): string {
    return this.opts.address ?? DEFAULT_MODEL_ADDRESS;
  }

  async start(): Promise<this> {
    const server = net.createServer((s) => this.onConnection(s));
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

  /** Rebuild the chip from its configuration (what RESET_TARGET does). */
  resetChip(reason: string): void {
    this.saveState();
    this.chip = new TropicModel(this.config, this.log);
    this.stats.resets++;
    this.log('info', `chip rebuilt from its configuration (${reason})`);
  }

  saveState(): void {
    if (!this.opts.configOut) return;
    try {
      writeFileSync(this.opts.configOut, dumpModelConfig(snapshotConfig(this.chip)));
    } catch (e) {
      this.log('error', `cannot write ${this.opts.configOut}: ${(e as Error).message}`);
    }
  }

  private onConnection(sock: net.Socket): void {
    sock.setNoDelay(true);
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    if (this.active) {
      this.log('info', `client ${who} waits: another client is being served`);
      sock.pause();
      this.waiting.push(sock);
      sock.once('close', () => (this.waiting = this.waiting.filter((w) => w !== sock)));
      return;
    }
    this.serve(sock);
  }

  private serve(sock: net.Socket): void {
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    this.active = sock;
    this.stats.connections++;
    this.log('info', `client ${who} connected`);
    const parser = new TaggedFrameParser(this.maxPayload, 'discard');
    sock.on('data', (chunk: Buffer) => {
      for (const f of parser.push(chunk)) {
        if (f.oversize !== undefined) {
          this.stats.protocolErrors++;
          this.log('warn', `client ${who}: ${tagName(f.tag)} declared ${f.oversize} payload bytes, limit ${this.maxPayload}; payload discarded, answered EXCEPTION`);
          sock.write(encodeFrame(TAG.EXCEPTION));
        } else sock.write(this.handle(f.tag, f.payload));
      }
    });
    sock.on('error', (e) => this.log('warn', `client ${who}: socket error ${e.message}`));
    sock.on('close', () => {
      if (parser.midFrame) {
        this.stats.protocolErrors++;
        this.log('warn', `client ${who} disconnected mid-frame; partial frame dropped`);
      }
      this.log('info', `client ${who} disconnected (chip state kept)`);
      this.active = undefined;
      const next = this.waiting.shift();
      if (next && !this.closing) {
        this.serve(next);
        next.resume();
      }
    });
  }

  /** Process one tagged message and return the encoded reply. */
  handle(tag: number, payload: Uint8Array): Uint8Array {
    this.stats.frames++;
    try {
      switch (tag) {
        case TAG.CSN_LOW:
          this.chip.spi.csnFalling();
          return encodeFrame(tag);
        case TAG.CSN_HIGH:
          this.chip.spi.csnRising();
          return encodeFrame(tag);
        case TAG.SPI_SEND:
          return encodeFrame(tag, this.chip.spi.transfer(payload));
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
    this.closing = true;
    this.saveState();
    for (const s of [this.active, ...this.waiting]) s?.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
    this.log('info', 'model server closed');
  }
}
