/**
 * The L1 SPI state machine, as ts-tvl defines it. A chip-select falling edge starts a transaction;
 * its first transfer is either Get_Response (0xAA: CHIP_STATUS then the pending response, or
 * NO_RESP) or an L2 request (processed at once; CHIP_STATUS then init bytes are clocked back).
 * Responses may be read across several transfers. While chip select is high, transfers return nothing.
 *
 * Where ts-tvl raises (an internal error) the chip's documented behaviour is followed instead:
 * a new request while a response is still unread replaces it (datasheet 7.3.3: sending an L2
 * Request frame without reading the previous L2 Response frame is allowed and clears the
 * response-ready interrupt), and a request too short to hold a CRC is answered by the processor.
 */
import { L2_REQ, L2_STATUS } from '../protocol/l2.js';
import { CHIP_STATUS } from '../protocol/l1.js';
import { ModelError } from '../errors.js';
import type { ModelFaults } from './faults.js';
import type { ModelLog } from './log.js';

type State = 'idle' | 'edge' | 'sendResponse' | 'sendNoResp' | 'sendInit';

export interface RequestProcessor {
  /** Returns the response frames (queued in order), or 'resend' for Resend_Req. */
  process(request: Uint8Array): Uint8Array[] | 'resend';
}

export class SpiFsm {
  private state: State = 'idle';
  private csnLow = false;
  /** The response being clocked out; `pendingRead` bytes of it are already gone. */
  private pending: Uint8Array = new Uint8Array(0);
  private pendingRead = 0;
  private queue: Uint8Array[] = [];
  private latest: Uint8Array = new Uint8Array(0);
  private busyIndex = 0;

  constructor(
    private readonly processor: RequestProcessor,
    private readonly busyIter: boolean[],
    private readonly initByte: number,
    private readonly faults: ModelFaults,
    private readonly log: ModelLog = () => {},
  ) {}

  /** Startup_Req: buffers and the transaction state go; chip select stays where the host holds it. */
  reset(): void {
    this.queue = [];
    this.latest = new Uint8Array(0);
    this.setPending(new Uint8Array(0));
    this.state = 'idle';
  }

  /** Power-off: as reset, and chip select counts as high, so the next CSN_LOW starts a transaction. */
  powerOff(): void {
    this.reset();
    this.csnLow = false;
  }

  /**
   * The host went away (TCP disconnect): chip select rises as the bus floats, and a response the
   * host had started to read is dropped so the next client cannot read its tail as a frame.
   * Responses not yet started stay queued, like a chip that was simply not polled.
   */
  hostGone(): boolean {
    this.csnRising();
    if (this.pendingRead === 0 || this.pending.length === 0) return false;
    this.setPending(new Uint8Array(0));
    return true;
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

  /** Make `frame` the response to clock out next; Resend_Req repeats it as it was built. */
  private send(frame: Uint8Array): void {
    this.latest = frame;
    this.setPending(this.faults.outgoing(frame));
  }

  private setPending(frame: Uint8Array): void {
    this.pending = frame;
    this.pendingRead = 0;
  }

  private nextBusy(): boolean {
    if (this.faults.takeBusyPoll()) return true;
    if (this.busyIter.length === 0) return false;
    const b = this.busyIter[this.busyIndex % this.busyIter.length];
    this.busyIndex++;
    return b;
  }

  private fetch(n: number): Uint8Array {
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.pendingRead += out.length;
    return out;
  }

  private status(ready: boolean): number {
    return (ready ? CHIP_STATUS.READY : 0) | this.faults.chipStatusBits;
  }

  /**
   * One full-duplex transfer: the bytes clocked back, as many as `rx` (none while chip select is
   * high). `out` (zeroed, `rx.length` bytes) receives them when given, so a server can encode its
   * reply frame around them without another copy.
   */
  transfer(rx: Uint8Array, out: Uint8Array = new Uint8Array(rx.length)): Uint8Array {
    const n = rx.length;
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
      default:
        throw new ModelError(`SPI state machine in unknown state ${String(this.state)}`, 'TH_MODEL_STATE');
    }
    if (n === 0) return out;
    if (rx[0] === L2_REQ.GET_RESPONSE) {
      if (this.nextBusy()) {
        this.state = 'sendNoResp';
        out.fill(L2_STATUS.NO_RESP);
        out[0] = this.status(false);
        return out;
      }
      if (this.pending.length === 0 && this.queue.length > 0) this.send(this.queue.shift()!);
      if (this.pending.length > 0) {
        this.state = 'sendResponse';
        out[0] = this.status(true);
        out.set(this.fetch(n - 1), 1);
        return out;
      }
      this.state = 'sendNoResp';
      out.fill(L2_STATUS.NO_RESP);
      out[0] = this.status(true);
      return out;
    }
    const unread = { pending: this.pending, queue: this.queue };
    this.queue = [];
    this.setPending(new Uint8Array(0));
    const res = this.processor.process(rx);
    if (res === 'resend') {
      // Resend_Req repeats the last frame; responses queued behind it stay queued.
      this.queue = unread.queue;
      this.setPending(this.faults.outgoing(this.latest));
    } else {
      const dropped = unread.pending.length + unread.queue.reduce((s, q) => s + q.length, 0);
      if (dropped > 0) this.log('info', `L2 request while ${dropped} response bytes were unread: the unread response is replaced`);
      if (this.faults.takeLostResponse()) this.log('info', `fault loseResponse: ${res.length} response frame(s) lost`);
      else {
        this.queue = res.slice(1);
        if (res.length) this.send(res[0]);
      }
    }
    this.state = 'sendInit';
    out.fill(this.initByte);
    out[0] = this.status(false); // CHIP_STATUS while busy processing
    return out;
  }
}
