/**
 * L1/L2 link: writes request frames in one chip-select window and polls for responses with
 * Get_Response (0xAA), honouring CHIP_STATUS (READY/ALARM) and STATUS=NO_RESP, within a bounded
 * number of polls and a time budget.
 */
import { concat } from '../bytes.js';
import { ProtocolError, TimeoutError } from '../errors.js';
import { describeChipStatus, decodeChipStatus } from '../protocol/l1.js';
import { L2_REQ, L2_STATUS, decodeResponse, encodeRequest, type L2Response, type RawFrameOptions } from '../protocol/l2.js';
import type { L1Transport } from '../transport/l1-transport.js';

export interface PollOptions {
  /** Most Get_Response polls before giving up. */
  maxPolls?: number;
  /** Delay between polls, sent to the target as WAIT (0: poll again at once). */
  pollDelayMs?: number;
  /** Time budget for one response. */
  responseTimeoutMs?: number;
  /**
   * 'single': one transfer clocks out CHIP_STATUS and a maximum-size frame (fewest round trips).
   * 'split': CHIP_STATUS, then STATUS+RSP_LEN, then the rest, as libtropic reads.
   */
  readMode?: 'single' | 'split';
}

/** CHIP_STATUS + STATUS + RSP_LEN + 252 data + 2 CRC. */
const MAX_READ = 1 + 2 + 252 + 2;

export class L2Link {
  readonly poll: Required<PollOptions>;
  /** CHIP_STATUS seen on the last transfer. */
  lastChipStatus = 0;
  /** Polls that answered not-ready or NO_RESP (busy emulation shows up here). */
  busyPolls = 0;

  constructor(readonly transport: L1Transport, poll: PollOptions = {}) {
    this.poll = { maxPolls: 200, pollDelayMs: 0, responseTimeoutMs: 10_000, readMode: 'single', ...poll };
  }

  /** Send raw bytes in one chip-select window; returns the bytes clocked back (first is CHIP_STATUS). */
  async writeRaw(bytes: Uint8Array): Promise<Uint8Array> {
    const back = await this.window(bytes);
    this.lastChipStatus = back[0] ?? 0;
    return back;
  }

  /**
   * One chip-select window: CSN_LOW, one transfer, CSN_HIGH. All three are issued at once, so a
   * pipelining transport sends them in one round trip; others still send them one by one. The
   * window is closed even when the transfer fails.
   */
  private async window(bytes: Uint8Array): Promise<Uint8Array> {
    const [, back] = await Promise.all([this.transport.csnLow(), this.transport.transfer(bytes), this.transport.csnHigh()]);
    return back;
  }

  async sendRequest(id: number, data?: Uint8Array, opts?: RawFrameOptions): Promise<void> {
    await this.writeRaw(encodeRequest(id, data, opts));
  }

  /** Poll for the next L2 response frame; returns it whatever its STATUS (except NO_RESP). */
  async receive(): Promise<L2Response> {
    const started = performance.now();
    const deadline = started + this.poll.responseTimeoutMs;
    let polls = 0;
    let notReady = 0;
    let noResp = 0;
    while (polls < this.poll.maxPolls && performance.now() <= deadline) {
      if (polls > 0 && this.poll.pollDelayMs > 0) await this.transport.wait(this.poll.pollDelayMs);
      polls++;
      if (this.poll.readMode === 'single') {
        const req = new Uint8Array(MAX_READ);
        req[0] = L2_REQ.GET_RESPONSE;
        const back = await this.window(req);
        if (!this.chipReady(back[0])) {
          notReady++;
          this.busyPolls++;
          continue;
        }
        if (back[1] === L2_STATUS.NO_RESP) {
          noResp++;
          this.busyPolls++;
          continue;
        }
        return decodeResponse(back.slice(1, 1 + back[2] + 4));
      }
      await this.transport.csnLow();
      try {
        if (!this.chipReady((await this.transport.transfer(Uint8Array.of(L2_REQ.GET_RESPONSE)))[0])) {
          notReady++;
          this.busyPolls++;
          continue;
        }
        const head = await this.transport.read(2);
        if (head[0] === L2_STATUS.NO_RESP) {
          noResp++;
          this.busyPolls++;
          continue;
        }
        const body = await this.transport.read(head[1] + 2);
        return decodeResponse(concat(head, body));
      } finally {
        await this.transport.csnHigh();
      }
    }
    const elapsed = performance.now() - started;
    // Name the bound that ended the polling, with what was actually done, not the configured limits alone.
    const bound = polls >= this.poll.maxPolls ? `the poll limit (maxPolls ${this.poll.maxPolls}) was reached` : `the time budget (responseTimeoutMs ${this.poll.responseTimeoutMs}) ran out`;
    throw new TimeoutError(
      'l1',
      `no L2 response: ${bound} after ${polls} Get_Response poll${polls === 1 ? '' : 's'} in ${elapsed.toFixed(0)} ms (${notReady} answered CHIP_STATUS not ready, ${noResp} answered NO_RESP; poll delay ${this.poll.pollDelayMs} ms); last CHIP_STATUS ${describeChipStatus(this.lastChipStatus)}`,
      this.poll.responseTimeoutMs,
    );
  }

  /** Record CHIP_STATUS; ALARM is fatal, otherwise returns READY. */
  private chipReady(st: number): boolean {
    this.lastChipStatus = st;
    const cs = decodeChipStatus(st);
    if (cs.alarm) throw new ProtocolError('l1', `chip is in ALARM mode: CHIP_STATUS ${describeChipStatus(st)}`, 'TH_L1_ALARM', { frame: Uint8Array.of(st) });
    return cs.ready;
  }

  async request(id: number, data?: Uint8Array, opts?: RawFrameOptions): Promise<L2Response> {
    await this.sendRequest(id, data, opts);
    return this.receive();
  }
}
