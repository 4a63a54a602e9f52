/**
 * The DevKit bridge: libtropic's tagged TCP protocol (the model server's protocol, so TcpTransport,
 * libtropic's TCP HAL and every target-agnostic tool work unchanged) in front of a TROPIC01 USB
 * DevKit on a serial port, either firmware.
 *
 * Like the model server: frames are parsed from the byte stream, one client is served at a time
 * (a second waits, unread, until the first disconnects), every message gets exactly one reply and
 * everything is logged. Tag mapping: CSN_LOW/CSN_HIGH/SPI_SEND go to the DevKit (SPI_SEND while
 * chip select is high answers no bytes, as the model does); POWER_ON/POWER_OFF switch the chip
 * supply where the firmware can (framed firmware: SetTr01Pwr; legacy: PWR=, when the firmware
 * knows it) and answer UNSUPPORTED otherwise; RESET_TARGET answers UNSUPPORTED (a DevKit cannot
 * reset a chip); WAIT waits its u32 LE milliseconds (at most `maxWaitMs`); unknown tags INVALID.
 *
 * Faults: a DevKit fault (no answer in time, garbage, bad CRC, error response, port gone) is
 * logged with its code and answered EXCEPTION; the client stays connected. After a DevKit fault
 * the serial input is drained so the next message starts clean; after the port is lost (DevKit
 * unplugged) the bridge reopens it, and detects the firmware again, at the next message.
 *
 * Binding: loopback by default. Any other address requires TLS with client certificates: the
 * client's certificate must be signed by the configured CA (requestCert, rejectUnauthorized) and
 * be on the allow-list; a refused client is closed before a byte of it is read.
 */
import net from 'node:net';
import tls from 'node:tls';
import { HarnessError, RigError } from '../../errors.js';
import { TAG, TaggedFrameParser, encodeFrame, tagName } from '../../protocol/tagged-frame.js';
import { OneClientAtATime, clientName } from '../../protocol/one-client-at-a-time.js';
import { openDevkit, type OpenDevkit, type OpenDevkitOptions } from '../devkit/devkit.js';
import { refusal, type AllowList } from './allow-list.js';

export const DEFAULT_BRIDGE_PORT = 28992;
export const DEFAULT_BRIDGE_ADDRESS = '127.0.0.1';
/** The legacy firmware's SPI buffer is 512 bytes; an L1 frame needs at most 257. */
export const BRIDGE_MAX_PAYLOAD = 512;

export type BridgeLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface BridgeTls {
  /** PEM contents. */
  cert: string;
  key: string;
  /** CA(s) that sign client certificates. */
  ca: string;
  allow: AllowList;
}

export interface BridgeServerOptions {
  devkit: OpenDevkitOptions;
  address?: string;
  port?: number;
  tls?: BridgeTls;
  log?: BridgeLog;
  /** Cap on a WAIT message's delay. */
  maxWaitMs?: number;
}

export interface BridgeStats {
  connections: number;
  refused: number;
  frames: number;
  exceptions: number;
  devkitOpens: number;
}

export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address) || /^::ffff:127\./.test(address);
}

export class BridgeServer {
  readonly stats: BridgeStats = { connections: 0, refused: 0, frames: 0, exceptions: 0, devkitOpens: 0 };
  private server?: net.Server;
  private readonly clients = new OneClientAtATime((sock) => this.serve(sock), (level, msg) => this.log(level, msg));
  private open?: OpenDevkit;
  private opening?: Promise<OpenDevkit>;
  private csLow = false;
  private readonly log: BridgeLog;

  constructor(private readonly opts: BridgeServerOptions) {
    this.log = opts.log ?? (() => {});
    const address = opts.address ?? DEFAULT_BRIDGE_ADDRESS;
    if (!isLoopback(address) && !opts.tls)
      throw new RigError(`serving the DevKit on ${address} (not loopback) needs TLS with client certificates: give a server certificate, key, client CA and allow-list`, 'TH_TLS');
  }

  get address(): string {
    return this.opts.address ?? DEFAULT_BRIDGE_ADDRESS;
  }
  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
  get firmware(): string | undefined {
    return this.open?.devkit.firmware;
  }

  /** Open the DevKit (fails here, not at the first client, when the port or firmware is wrong), then listen. */
  async start(): Promise<this> {
    await this.devkit();
    const t = this.opts.tls;
    const server = t
      ? tls.createServer({ cert: t.cert, key: t.key, ca: t.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (s) => this.onTlsConnection(s, t.allow))
      : net.createServer((s) => this.clients.admit(s));
    if (t) server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => this.log('warn', `TLS client ${s.remoteAddress}:${s.remotePort} refused in the handshake: ${e.message}`));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new RigError(`cannot listen on ${this.address}:${this.opts.port ?? DEFAULT_BRIDGE_PORT}: ${e.message}`, 'TH_TARGET_PORT_BUSY', { cause: e })));
      server.listen(this.opts.port ?? DEFAULT_BRIDGE_PORT, this.address, () => resolve());
    });
    this.log('info', `DevKit bridge listening on ${this.address}:${this.port}${t ? ' (TLS, client certificates required)' : ''} for ${this.opts.devkit.path} (${this.firmware} firmware)`);
    return this;
  }

  private async devkit(): Promise<OpenDevkit> {
    if (this.open?.link.isOpen) return this.open;
    this.opening ??= (async () => {
      if (this.open) {
        this.log('warn', `${this.opts.devkit.path}: serial port was lost; reopening`);
        await this.open.link.close().catch(() => {});
        this.open = undefined;
      }
      const o = await openDevkit(this.opts.devkit);
      o.link.onClose = (reason) => this.log('warn', `${this.opts.devkit.path}: ${reason}`);
      this.stats.devkitOpens++;
      this.csLow = false;
      this.log('info', `${this.opts.devkit.path}: ${o.devkit.firmware} DevKit firmware`);
      this.open = o;
      return o;
    })().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private onTlsConnection(sock: tls.TLSSocket, allow: AllowList): void {
    const why = refusal(allow, sock.getPeerCertificate());
    if (why) {
      this.stats.refused++;
      this.log('warn', `TLS client ${sock.remoteAddress}:${sock.remotePort} refused: ${why}`);
      sock.destroy();
      return;
    }
    this.clients.admit(sock);
  }

  private serve(sock: net.Socket): void {
    const who = clientName(sock);
    this.stats.connections++;
    this.log('info', `client ${who} connected`);
    const parser = new TaggedFrameParser(BRIDGE_MAX_PAYLOAD, 'discard');
    let chain: Promise<void> = Promise.resolve();
    sock.on('data', (chunk: Buffer) => {
      for (const f of parser.push(chunk)) {
        chain = chain.then(async () => {
          let reply: Uint8Array;
          if (f.oversize !== undefined) {
            this.log('warn', `client ${who}: ${tagName(f.tag)} declared ${f.oversize} payload bytes, limit ${BRIDGE_MAX_PAYLOAD}; answered EXCEPTION`);
            reply = encodeFrame(TAG.EXCEPTION);
          } else reply = await this.handle(f.tag, f.payload);
          if (!sock.destroyed) sock.write(reply);
        });
      }
    });
    sock.on('error', (e) => this.log('warn', `client ${who}: socket error ${e.message}`));
    sock.on('close', () => {
      if (parser.midFrame) this.log('warn', `client ${who} disconnected mid-frame; partial frame dropped`);
      this.log('info', `client ${who} disconnected`);
      void chain.then(async () => {
        // leave the chip's bus idle for the next client
        if (this.csLow && this.open?.link.isOpen) await this.open.devkit.csnHigh().then(() => (this.csLow = false), () => {});
        this.clients.done();
      });
    });
  }

  /** One tagged message to the DevKit; returns the encoded reply. Never throws. */
  async handle(tag: number, payload: Uint8Array): Promise<Uint8Array> {
    this.stats.frames++;
    try {
      switch (tag) {
        case TAG.CSN_LOW: {
          await (await this.devkit()).devkit.csnLow();
          this.csLow = true;
          return encodeFrame(tag);
        }
        case TAG.CSN_HIGH: {
          await (await this.devkit()).devkit.csnHigh();
          this.csLow = false;
          return encodeFrame(tag);
        }
        case TAG.SPI_SEND: {
          if (!this.csLow) return encodeFrame(tag); // nothing is clocked while chip select is high
          return encodeFrame(tag, await (await this.devkit()).devkit.transfer(payload));
        }
        case TAG.POWER_ON:
        case TAG.POWER_OFF: {
          const done = await (await this.devkit()).devkit.power(tag === TAG.POWER_ON);
          if (!done) this.log('info', `${tagName(tag)}: this DevKit firmware cannot switch the chip supply; answered UNSUPPORTED`);
          return encodeFrame(done ? tag : TAG.UNSUPPORTED);
        }
        case TAG.WAIT: {
          if (payload.length === 4) {
            const ms = Math.min(Buffer.from(payload).readUInt32LE(0), this.opts.maxWaitMs ?? 5000);
            await new Promise((r) => setTimeout(r, ms));
          }
          return encodeFrame(tag);
        }
        case TAG.RESET_TARGET:
          this.log('info', 'RESET_TARGET: a DevKit cannot reset the chip; answered UNSUPPORTED');
          return encodeFrame(TAG.UNSUPPORTED);
        case TAG.EXCEPTION:
        case TAG.INVALID:
        case TAG.UNSUPPORTED:
          return encodeFrame(TAG.UNSUPPORTED);
        default:
          this.log('warn', `tag 0x${tag.toString(16)} is not part of the protocol`);
          return encodeFrame(TAG.INVALID);
      }
    } catch (e) {
      this.stats.exceptions++;
      const code = e instanceof HarnessError ? e.code : 'TH_ERR';
      this.log('error', `${tagName(tag)} failed, answered EXCEPTION: ${(e as Error).message}`);
      if (code !== 'TH_SERIAL' && this.open?.link.isOpen) await this.open.devkit.resync().catch(() => {});
      return encodeFrame(TAG.EXCEPTION);
    }
  }

  async close(): Promise<void> {
    this.clients.closeAll();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
    await this.open?.link.close();
    this.log('info', 'DevKit bridge closed');
  }
}
