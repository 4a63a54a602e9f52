/**
 * L1 over libtropic's tagged messages, whatever carries them (a TCP socket, or an in-process model
 * server): every L1 operation is one tagged exchange, and a reply whose tag does not echo the
 * request is a typed error. Subclasses supply only `exchange()` and `close()`.
 */
import { EventEmitter } from 'node:events';
import { ProtocolError, TransportTagError, type ErrorCode } from '../errors.js';
import { TAG, tagName } from '../protocol/tagged-frame.js';
import type { ExchangeRecord, L1Transport } from './l1-transport.js';

const TAG_ERRORS: Record<number, { code: ErrorCode; what: string }> = {
  [TAG.EXCEPTION]: { code: 'TH_TCP_EXCEPTION', what: 'raised an internal exception (the model rebuilds its chip)' },
  [TAG.INVALID]: { code: 'TH_TCP_INVALID', what: 'does not know the tag' },
  [TAG.UNSUPPORTED]: { code: 'TH_TCP_UNSUPPORTED', what: 'does not support the tag' },
};

/** Throws when `replyTag` does not echo `tag`: EXCEPTION, INVALID and UNSUPPORTED by name, anything else as a mismatch. */
export function checkReplyTag(tag: number, request: Uint8Array, replyTag: number, reply: Uint8Array): void {
  if (replyTag === tag) return;
  const known = TAG_ERRORS[replyTag];
  if (known) {
    throw new TransportTagError(`server ${known.what}: sent ${tagName(tag)} (0x${tag.toString(16).padStart(2, '0')}), got ${tagName(replyTag)}`, known.code, tag, replyTag, { frame: request });
  }
  throw new ProtocolError('transport', `reply tag ${tagName(replyTag)} does not echo request tag ${tagName(tag)}`, 'TH_TCP_TAG_MISMATCH', { frame: reply, expected: tagName(tag) });
}

export abstract class TaggedL1Transport extends EventEmitter implements L1Transport {
  onExchange?: (rec: ExchangeRecord) => void;

  /** Send one tagged message and return the reply payload. */
  abstract exchange(tag: number, payload?: Uint8Array): Promise<Uint8Array>;
  abstract close(): Promise<void>;

  async csnLow(): Promise<void> {
    await this.exchange(TAG.CSN_LOW);
  }
  async csnHigh(): Promise<void> {
    await this.exchange(TAG.CSN_HIGH);
  }
  transfer(data: Uint8Array): Promise<Uint8Array> {
    return this.exchange(TAG.SPI_SEND, data);
  }
  /** One chip-select window: CSN_LOW, the transfer, CSN_HIGH, all issued at once (see L1Transport). */
  async window(data: Uint8Array): Promise<Uint8Array> {
    const [, back] = await Promise.all([this.csnLow(), this.transfer(data), this.csnHigh()]);
    return back;
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
}
