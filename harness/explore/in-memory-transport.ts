/**
 * An L1 transport straight into an embedded model server's message handler, in process: the same
 * tagged messages as over TCP (so the model sees exactly what a socket would carry) without the
 * socket, which makes the reference side of an exploration several times faster. Replies are
 * checked as TcpTransport checks them (EXCEPTION, INVALID, UNSUPPORTED become typed errors).
 */
import { TransportError } from '../errors.js';
import { tagName } from '../protocol/tagged-frame.js';
import { TaggedL1Transport, checkReplyTag } from '../transport/tagged-l1-transport.js';
import type { ModelServer } from '../model/server.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';

export class InMemoryTransport extends TaggedL1Transport {
  private seq = 0;
  private closed = false;

  constructor(readonly server: ModelServer) {
    super();
  }

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
      checkReplyTag(tag, payload, replyTag, reply);
      return reply;
    } catch (e) {
      rec.error = (e as Error).message;
      throw e;
    } finally {
      rec.durationMs = performance.now() - t0;
      this.onExchange?.(rec);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
