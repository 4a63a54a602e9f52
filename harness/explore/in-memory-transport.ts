/**
 * An L1 transport straight into an embedded model server's message handler, in process: the same
 * tagged messages as over TCP (so the model sees exactly what a socket would carry) without the
 * socket, which makes the reference side of an exploration several times faster. Replies are
 * checked as TcpTransport checks them (EXCEPTION, INVALID, UNSUPPORTED become typed errors).
 */
import { TransportError, TransportTagError, type ErrorCode } from '../errors.js';
import { TAG, tagName } from '../protocol/tagged-frame.js';
import type { ModelServer } from '../model/server.js';
import type { ExchangeRecord, L1Transport } from '../transport/l1-transport.js';

const TAG_ERRORS: Record<number, ErrorCode> = { [TAG.EXCEPTION]: 'TH_TCP_EXCEPTION', [TAG.INVALID]: 'TH_TCP_INVALID', [TAG.UNSUPPORTED]: 'TH_TCP_UNSUPPORTED' };

export class InMemoryTransport implements L1Transport {
  onExchange?: (rec: ExchangeRecord) => void;
  private seq = 0;
  private closed = false;

  constructor(readonly server: ModelServer) {}

  get sequence(): number {
    return this.seq;
  }

  async exchange(tag: number, payload: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    if (this.closed) throw new TransportError(`in-process model transport is closed; cannot send ${tagName(tag)}`, 'TH_TCP_CLOSED');
    const t0 = performance.now();
    const rec: ExchangeRecord = { seq: this.seq++, time: Date.now(), durationMs: 0, tag, request: payload };
    try {
      const frame = this.server.handle(tag, payload);
      const replyTag = frame[0];
      const reply = frame.subarray(3, 3 + (frame[1] | (frame[2] << 8)));
      rec.replyTag = replyTag;
      rec.reply = reply;
      if (replyTag !== tag) {
        const code = TAG_ERRORS[replyTag] ?? 'TH_TCP_TAG_MISMATCH';
        throw new TransportTagError(`model answered ${tagName(replyTag)} to ${tagName(tag)} (0x${tag.toString(16).padStart(2, '0')})`, code, tag, replyTag, { frame: payload });
      }
      return reply;
    } catch (e) {
      rec.error = (e as Error).message;
      throw e;
    } finally {
      rec.durationMs = performance.now() - t0;
      this.onExchange?.(rec);
    }
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
  async wait(ms: number): Promise<void> {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setUint32(0, Math.max(0, Math.round(ms)) >>> 0, true);
    await this.exchange(TAG.WAIT, p);
  }
  async resetTarget(): Promise<void> {
    await this.exchange(TAG.RESET_TARGET);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
