/**
 * L1/L2 link: writes request frames in one chip-select window and polls for responses with
 * Get_Response (0xAA), honouring CHIP_STATUS (READY/ALARM) and STATUS=NO_RESP, within a bounded
 * number of polls and a time budget.
 *
 * Speculative polls: on a pipelining transport (a target that frames its input and answers in
 * order) the first Get_Response window of a request is written together with the request window,
 * and the driver may ask for more ahead (`prefetch`: the L3 result after the last command chunk,
 * the remaining result chunks once their count is known). Each poll's reply is still interpreted
 * in wire order by `receive()`, exactly as if it had been sent after the previous reply: a poll
 * answered "not ready" or NO_RESP is simply the next poll. So the exchanges are the ones a serial
 * host makes, but a request and its response cost one round trip instead of two, and an L3
 * command one instead of three. A poll issued ahead and never needed (the command failed before
 * its result) is read and dropped before the next window, as a chip drops an unread response when
 * a new request arrives; `droppedPolls` counts them.
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
  /** Polls issued ahead that were not needed (read and dropped before the next window). */
  droppedPolls = 0;
  /** Get_Response windows already written whose replies `receive()` has not consumed, in wire order. */
  private prefetched: Promise<Uint8Array>[] = [];

  constructor(readonly transport: L1Transport, poll: PollOptions = {}) {
    this.poll = { maxPolls: 200, pollDelayMs: 0, responseTimeoutMs: 10_000, readMode: 'single', ...poll };
  }

  /** Whether polls may be issued ahead: a pipelining transport, and whole-frame reads. */
  get speculative(): boolean {
    return this.transport.pipelined === true && this.poll.readMode === 'single';
  }

  /**
   * Write `count` Get_Response windows now, ahead of the replies they follow; `receive()` consumes
   * them in order before polling again. A no-op unless `speculative`.
   */
  prefetch(count: number): void {
    if (!this.speculative) return;
    for (let i = 0; i < count; i++) {
      const p = this.window(getResponseWindow());
      p.catch(() => undefined); // its error is seen by whoever consumes it, or dropped with it
      this.prefetched.push(p);
    }
  }

  /** Read and drop polls issued ahead that nobody consumed, before anything else is written. */
  private async dropPrefetched(): Promise<void> {
    while (this.prefetched.length) {
      const p = this.prefetched.shift()!;
      this.droppedPolls++;
      try {
        this.lastChipStatus = (await p)[0] ?? this.lastChipStatus;
      } catch {
        /* the link's error reaches the next exchange */
      }
    }
  }

  /** Send raw bytes in one chip-select window; returns the bytes clocked back (first is CHIP_STATUS). */
  async writeRaw(bytes: Uint8Array): Promise<Uint8Array> {
    if (this.prefetched.length) await this.dropPrefetched();
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

  /**
   * Send a request and poll for its response. `pollsAhead`: extra Get_Response windows written
   * with it on a pipelining transport (e.g. 1 for the L3 result after the last command chunk).
   */
  async request(id: number, data?: Uint8Array, opts?: RawFrameOptions, pollsAhead = 0): Promise<L2Response> {
    if (!this.speculative) {
      await this.sendRequest(id, data, opts);
      return this.receive();
    }
    if (this.prefetched.length) await this.dropPrefetched();
    const sent = this.window(encodeRequest(id, data, opts));
    this.prefetch(1 + pollsAhead);
    this.lastChipStatus = (await sent)[0] ?? 0;
    return this.receive();
  }

  /** Poll for the next L2 response frame; returns it whatever its STATUS (except NO_RESP). */
  async receive(): Promise<L2Response> {
    const started = performance.now();
    const deadline = started + this.poll.responseTimeoutMs;
    let polls = 0;
    let notReady = 0;
    let noResp = 0;
    while (polls < this.poll.maxPolls && performance.now() <= deadline) {
      const ahead = this.prefetched.shift();
      if (!ahead && polls > 0 && this.poll.pollDelayMs > 0) await this.transport.wait(this.poll.pollDelayMs);
      polls++;
      if (ahead || this.poll.readMode === 'single') {
        const back = await (ahead ?? this.window(getResponseWindow()));
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

}

/** One Get_Response window: the request byte, then filler clocking out a maximum-size frame. */
function getResponseWindow(): Uint8Array {
  const req = new Uint8Array(MAX_READ);
  req[0] = L2_REQ.GET_RESPONSE;
  return req;
}
