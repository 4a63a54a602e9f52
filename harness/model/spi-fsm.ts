/**
 * The L1 SPI state machine, as ts-tvl defines it. A chip-select falling edge starts a transaction;
 * its first transfer is either Get_Response (0xAA: CHIP_STATUS then the pending response, or
 * NO_RESP) or an L2 request (processed at once; CHIP_STATUS then init bytes are clocked back).
 * Responses may be read across several transfers. While chip select is high, transfers return nothing.
 */
import { L2_REQ, L2_STATUS } from '../protocol/l2.js';
import { CHIP_STATUS } from '../protocol/l1.js';

type State = 'idle' | 'edge' | 'sendResponse' | 'sendNoResp' | 'sendInit';

export interface RequestProcessor {
  /** Returns the response frames (queued in order), or 'resend' for Resend_Req. */
  process(request: Uint8Array): Uint8Array[] | 'resend';
}

export class ModelStateError extends Error {}

export class SpiFsm {
  private state: State = 'idle';
  private csnLow = false;
  private pending: Uint8Array = new Uint8Array(0);
  private queue: Uint8Array[] = [];
  private latest: Uint8Array = new Uint8Array(0);
  private busyIndex = 0;

  constructor(private readonly processor: RequestProcessor, private readonly busyIter: boolean[], private readonly initByte: number) {}

  reset(): void {
    this.queue = [];
    this.latest = new Uint8Array(0);
    this.pending = new Uint8Array(0);
    this.state = 'idle';
  }

  /** Last response sent (for Resend_Req). */
  get latestResponse(): Uint8Array {
    return this.latest;
  }

  csnFalling(): void {
    if (!this.csnLow) this.state = 'edge';
    this.csnLow = true;
  }
  csnRising(): void {
    this.state = 'idle';
    this.csnLow = false;
  }

  private nextBusy(): boolean {
    if (this.busyIter.length === 0) return false;
    const b = this.busyIter[this.busyIndex % this.busyIter.length];
    this.busyIndex++;
    return b;
  }

  private fetch(n: number): Uint8Array {
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  transfer(rx: Uint8Array): Uint8Array {
    const n = rx.length;
    const out = new Uint8Array(n);
    switch (this.state) {
      case 'idle':
        return new Uint8Array(0);
      case 'sendResponse':
        out.set(this.fetch(n));
        return out;
      case 'sendNoResp':
        return out.fill(L2_STATUS.NO_RESP);
      case 'sendInit':
        return out.fill(this.initByte);
      case 'edge':
        break;
    }
    if (n === 0) return out;
    if (rx[0] === L2_REQ.GET_RESPONSE) {
      if (this.nextBusy()) {
        this.state = 'sendNoResp';
        out.fill(L2_STATUS.NO_RESP);
        out[0] = 0; // CHIP_STATUS without READY
        return out;
      }
      if (this.pending.length === 0 && this.queue.length > 0) {
        this.pending = this.queue.shift()!;
        this.latest = this.pending;
      }
      if (this.pending.length > 0) {
        this.state = 'sendResponse';
        out[0] = CHIP_STATUS.READY;
        out.set(this.fetch(n - 1), 1);
        return out;
      }
      this.state = 'sendNoResp';
      out.fill(L2_STATUS.NO_RESP);
      out[0] = CHIP_STATUS.READY;
      return out;
    }
    // A new request while a response is still being read: ts-tvl raises (EXCEPTION, fresh chip).
    if (this.pending.length > 0) throw new ModelStateError('request received while the previous response was not read completely');
    const res = this.processor.process(rx);
    if (res === 'resend') {
      this.pending = this.latest;
    } else {
      this.queue.push(...res);
      this.pending = this.queue.shift() ?? new Uint8Array(0);
      this.latest = this.pending;
    }
    this.state = 'sendInit';
    out.fill(this.initByte);
    out[0] = 0; // CHIP_STATUS while busy processing
    return out;
  }
}
