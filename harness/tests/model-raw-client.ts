/**
 * A raw client of the model server for the model-*.test.ts files: writes tagged frames (or any
 * bytes), reads tagged replies; nothing in between, so tests see exactly what the server sends.
 */
import net from 'node:net';
import { TaggedFrameParser, encodeFrame, type TaggedFrame } from '../protocol/tagged-frame.js';
import { TAG } from '../protocol/tagged-frame.js';

export class RawClient {
  private parser = new TaggedFrameParser(0xffff);
  private frames: TaggedFrame[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.frames.push(...this.parser.push(d));
      this.waiters.splice(0).forEach((w) => w());
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  static async open(port: number): Promise<RawClient> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    return new RawClient(sock);
  }
  /** The next reply; rejects with 'closed' or 'no reply' after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<TaggedFrame> {
    const end = Date.now() + timeoutMs;
    while (!this.frames.length) {
      if (this.closed || Date.now() > end) throw new Error(this.closed ? 'closed' : 'no reply');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.frames.shift()!;
  }
  async ask(tag: number, payload: Uint8Array = new Uint8Array(0)): Promise<TaggedFrame> {
    this.sock.write(encodeFrame(tag, payload));
    return this.next();
  }
  /** One SPI transfer inside its own chip-select window; returns the bytes clocked back. */
  async window(bytes: Uint8Array): Promise<Uint8Array> {
    await this.ask(TAG.CSN_LOW);
    const r = await this.ask(TAG.SPI_SEND, bytes);
    await this.ask(TAG.CSN_HIGH);
    return r.payload;
  }
  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > end) throw new Error('still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  close(): void {
    this.sock.destroy();
  }
}

/** Get_Response: 0xAA followed by `n - 1` filler bytes. */
export const getResponse = (n = 1 + 2 + 252 + 2): Uint8Array => {
  const b = new Uint8Array(n);
  b[0] = 0xaa;
  return b;
};
