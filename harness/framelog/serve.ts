/**
 * A mock chip on libtropic's tagged TCP protocol that answers from a frame log's chip side: the
 * n-th message a host sends gets the n-th recorded reply. Where the host departs from the recorded
 * host side (another tag, other bytes) the departure is reported (decoded where it is an L2
 * request) and the recorded reply is still given (an SPI_SEND reply is cut or padded to the length
 * sent), so a host can be followed past a difference. A host's connect-time CSN_HIGH resync is
 * answered without taking a record. Messages past the end of the log are answered INVALID.
 */
import net from 'node:net';
import { hex } from '../bytes.js';
import { TAG, TaggedFrameParser, encodeFrame, tagName } from '../protocol/tagged-frame.js';
import { entryBytes, type FrameLogEntry } from './frame-log.js';
import { summarizeWindow } from './l2-window.js';

export interface Departure {
  /** Position in the log (record seq) where the host departed. */
  seq: number;
  expected: string;
  got: string;
  step?: string;
}

export class FrameLogServer {
  private server?: net.Server;
  private next = 0;
  readonly departures: Departure[] = [];
  /** Messages answered (records used). */
  answered = 0;
  beyondEnd = 0;
  private readonly replies: { tag: number; payload: Uint8Array }[];
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly entries: FrameLogEntry[], private readonly onDeparture?: (d: Departure) => void) {
    this.replies = entries.map((e) => ({ tag: e.rtag ?? e.tag, payload: entryBytes(e).rx ?? new Uint8Array(0) }));
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** True once every record has been answered. */
  get done(): boolean {
    return this.next >= this.entries.length;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<this> {
    const server = net.createServer((s) => this.serve(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return this;
  }

  private serve(sock: net.Socket): void {
    sock.setNoDelay(true);
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    const parser = new TaggedFrameParser(0xffff, 'discard');
    let first = true;
    sock.on('data', (d) => {
      for (const f of parser.push(d)) {
        const resync = first && f.tag === TAG.CSN_HIGH && this.entries[this.next]?.tag !== TAG.CSN_HIGH;
        first = false;
        sock.write(resync ? encodeFrame(TAG.CSN_HIGH) : this.answer(f.tag, f.payload));
      }
    });
    sock.on('error', () => sock.destroy());
  }

  private answer(tag: number, payload: Uint8Array): Uint8Array {
    const e = this.entries[this.next];
    if (!e) {
      this.beyondEnd++;
      return encodeFrame(TAG.INVALID);
    }
    const reply = this.replies[this.next++];
    this.answered++;
    if (e.tag !== tag || e.tx !== hex(payload)) {
      const l2 = (b: Uint8Array) => (tag === TAG.SPI_SEND && b.length > 1 && b[0] !== 0xaa ? ` (${JSON.stringify(summarizeWindow(b, new Uint8Array(0)))})` : '');
      const d: Departure = {
        seq: e.seq,
        expected: `${tagName(e.tag)} ${e.tx}${l2(entryBytes(e).tx)}`,
        got: `${tagName(tag)} ${hex(payload)}${l2(payload)}`,
        step: e.step,
      };
      this.departures.push(d);
      this.onDeparture?.(d);
    }
    let out = reply.payload;
    if (tag === TAG.SPI_SEND && reply.tag === TAG.SPI_SEND && out.length !== payload.length) {
      const fixed = new Uint8Array(payload.length);
      fixed.set(out.subarray(0, payload.length));
      out = fixed;
    }
    return encodeFrame(reply.tag === e.tag && e.tag !== tag ? tag : reply.tag, out);
  }

  /** Stops listening and drops connected hosts (a stop must not wait for a host to hang up). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
