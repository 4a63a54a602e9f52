/**
 * libtropic's tagged TCP protocol (hal/posix/tcp): TAG (1 byte), LENGTH (u16 LE), PAYLOAD.
 * Every request gets exactly one reply; the reply echoes the tag, or carries EXCEPTION, INVALID or
 * UNSUPPORTED. `TaggedFrameParser` is an explicit state machine (like ws's Receiver): bytes go in
 * in whatever segments TCP delivers, complete frames come out, and a bad length is a coded error.
 */
import { ProtocolError } from '../errors.js';

export const TAG = {
  CSN_LOW: 0x01,
  CSN_HIGH: 0x02,
  SPI_SEND: 0x03,
  POWER_ON: 0x04,
  POWER_OFF: 0x05,
  WAIT: 0x06,
  RESET_TARGET: 0x10,
  EXCEPTION: 0xf0,
  INVALID: 0xfd,
  UNSUPPORTED: 0xfe,
} as const;
export const TAG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TAG).map(([k, v]) => [v, k]));
export const tagName = (t: number): string => TAG_NAMES[t] ?? `TAG_0x${t.toString(16).padStart(2, '0')}`;

export const HEADER_SIZE = 3;
/** Largest payload the protocol's u16 length can carry. */
export const MAX_PAYLOAD_FIELD = 0xffff;
/**
 * Largest SPI transfer a host needs: CHIP_STATUS + STATUS + LEN + 252 data + 2 CRC = 257 bytes.
 * The transport refuses to send or accept more unless configured otherwise.
 */
export const DEFAULT_MAX_PAYLOAD = 257;
/**
 * Largest payload the model server accepts; a longer frame is discarded and answered EXCEPTION.
 * It is the largest payload the hosts of this protocol send: libtropic's TCP port
 * (hal/posix/tcp/libtropic_port_posix_tcp.c, lt_port_spi_transfer) refuses SPI transfers over
 * TR01_L1_LEN_MAX = CHIP_STATUS 1 + TR01_L2_MAX_FRAME_SIZE (1 + 1 + 252 + 2) = 257 bytes, and its
 * other payloads are WAIT's 4 bytes; ts-tvl sends nothing (it is only a server, reading 1024-byte
 * chunks, tvl/server/tcp_connection.py TCP_BUFFER_SIZE), and this project's transport sends at most
 * DEFAULT_MAX_PAYLOAD (the same 257).
 */
export const MODEL_SERVER_MAX_PAYLOAD = 257;

export interface TaggedFrame {
  tag: number;
  payload: Uint8Array;
  /** Set (to the declared length) when the frame was over the limit and its payload discarded. */
  oversize?: number;
}

/**
 * Write a frame header (TAG, LENGTH u16 LE) into `out` at `at`: for callers that build several
 * frames in one buffer, or a frame around bytes already in place. The payload follows at `at + 3`.
 */
export function writeHeader(out: Uint8Array, at: number, tag: number, length: number): void {
  if (length > MAX_PAYLOAD_FIELD) throw new RangeError(`payload of ${length} bytes does not fit the u16 length field`);
  out[at] = tag;
  out[at + 1] = length & 0xff;
  out[at + 2] = length >>> 8;
}

export function encodeFrame(tag: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  writeHeader(out, 0, tag, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}

type ParserState = 'header' | 'payload' | 'discard';

/** Incremental decoder for a byte stream of tagged frames. */
export class TaggedFrameParser {
  private state: ParserState = 'header';
  /** Unconsumed input; the first chunk is consumed from `offset` on (no re-slicing per frame). */
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private buffered = 0;
  private tag = 0;
  private length = 0;
  private oversizeSkipped = 0;

  /**
   * `throw`: an oversize length raises TH_TCP_OVERSIZE (a client cannot trust the stream).
   * `discard`: the payload is skipped and a frame marked `oversize` is returned (a server stays in sync).
   */
  constructor(
    private readonly maxPayload = MAX_PAYLOAD_FIELD,
    private readonly onOversize: 'throw' | 'discard' = 'throw',
    /**
     * `copy` (default): every payload is a fresh array the caller owns. `view`: a payload that
     * arrived in one chunk is a view into it (a server that handles each frame at once and keeps
     * nothing: one copy less per message); one spread over chunks is still assembled in a copy.
     */
    private readonly payloads: 'copy' | 'view' = 'copy',
  ) {}

  /** True while a frame has started but not completed (a disconnect now is mid-frame). */
  get midFrame(): boolean {
    return this.state !== 'header' || this.buffered > 0;
  }

  /** Feed bytes; returns every frame completed by them. Throws ProtocolError on an oversize length. */
  push(data: Uint8Array): TaggedFrame[] {
    if (data.length) {
      // A plain Uint8Array view (not a Buffer): its subarrays are cheaper, and a payload's slice() copies.
      this.chunks.push(Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data);
      this.buffered += data.length;
    }
    const out: TaggedFrame[] = [];
    for (;;) {
      if (this.state === 'header') {
        if (this.buffered < HEADER_SIZE) break;
        const first = this.chunks[0];
        if (first.length - this.offset >= HEADER_SIZE) {
          // Common case: the header is in one chunk; read it in place.
          this.tag = first[this.offset];
          this.length = first[this.offset + 1] | (first[this.offset + 2] << 8);
          this.consume(HEADER_SIZE, first);
        } else {
          const h = this.take(HEADER_SIZE);
          this.tag = h[0];
          this.length = h[1] | (h[2] << 8);
        }
        if (this.length > this.maxPayload && this.onOversize === 'discard') {
          this.state = 'discard';
        } else if (this.length > this.maxPayload) {
          const tag = this.tag;
          this.reset();
          throw new ProtocolError('transport', `tagged frame ${tagName(tag)} declares ${this.length} payload bytes, limit is ${this.maxPayload}`, 'TH_TCP_OVERSIZE', {
            frame: Uint8Array.of(tag, this.length & 0xff, this.length >>> 8),
            expected: `length <= ${this.maxPayload}`,
          });
        }
        else this.state = 'payload';
      }
      if (this.state === 'discard') {
        const n = Math.min(this.length, this.buffered);
        this.skip(n);
        this.length -= n;
        this.oversizeSkipped += n;
        if (this.length > 0) break;
        out.push({ tag: this.tag, payload: new Uint8Array(0), oversize: this.oversizeSkipped });
        this.oversizeSkipped = 0;
        this.state = 'header';
        continue;
      }
      if (this.state === 'payload') {
        if (this.buffered < this.length) break;
        out.push({ tag: this.tag, payload: this.payloads === 'view' ? this.view(this.length) : this.take(this.length) });
        this.state = 'header';
      }
    }
    return out;
  }

  reset(): void {
    this.state = 'header';
    this.chunks = [];
    this.offset = 0;
    this.buffered = 0;
  }

  /**
   * Remove `n` buffered bytes and return them as a fresh copy: the caller owns it, and a frame
   * kept (a frame log, a test's reply) does not pin the whole socket read it came in.
   */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const first = this.chunks[0];
      const count = Math.min(n - filled, first.length - this.offset);
      if (count === 1) out[filled] = first[this.offset];
      else out.set(first.subarray(this.offset, this.offset + count), filled);
      filled += count;
      this.consume(count, first);
    }
    return out;
  }

  /** Remove `n` buffered bytes: a view when they are in the first chunk, else a copy. */
  private view(n: number): Uint8Array {
    const first = this.chunks[0];
    if (n === 0 || first.length - this.offset < n) return this.take(n);
    const out = first.subarray(this.offset, this.offset + n);
    this.consume(n, first);
    return out;
  }

  private skip(n: number): void {
    while (n > 0) {
      const first = this.chunks[0];
      const count = Math.min(n, first.length - this.offset);
      n -= count;
      this.consume(count, first);
    }
  }

  private consume(count: number, first: Uint8Array): void {
    this.offset += count;
    this.buffered -= count;
    if (this.offset === first.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
