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
 *
 * A batch of L3 commands (TropicSquare.l3Batch) goes further: `queueRequest` writes request windows
 * and their polls behind windows still outstanding, so several commands are in flight at once.
 * `receive()` never consumes a request window as a poll: a poll answered "not ready" or NO_RESP
 * with a request already written behind it cannot be polled again in its place, and fails
 * (TH_L1_NO_RESPONSE) instead; the batch then reads and drops what is outstanding.
 */
import { concat } from '../bytes.js';
import { ProtocolError, TimeoutError } from '../errors.js';
import { describeChipStatus, decodeChipStatus } from '../protocol/l1.js';
import { L2_REQ, L2_STATUS, decodeResponse, encodeRequest, requestName, type L2Response, type RawFrameOptions } from '../protocol/l2.js';
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

/** A window written ahead whose reply nobody consumed yet: a request's or a Get_Response poll's. */
interface Outstanding {
  request: boolean;
  reply: Promise<Uint8Array>;
}

export class L2Link {
  readonly poll: Required<PollOptions>;
  /** CHIP_STATUS seen on the last transfer. */
  lastChipStatus = 0;
  /** Polls that answered not-ready or NO_RESP (busy emulation shows up here). */
  busyPolls = 0;
  /** Polls issued ahead that were not needed (read and dropped before the next window). */
  droppedPolls = 0;
  /** Request windows written ahead whose replies were read and dropped (an aborted batch). */
  droppedRequests = 0;
  /** Windows already written whose replies have not been consumed, in wire order. */
  private ahead: Outstanding[] = [];

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
    for (let i = 0; i < count; i++) this.ahead.push({ request: false, reply: this.windowAhead(getResponseWindow()) });
  }

  /**
   * Write a request window and `polls` Get_Response windows now, behind every window still
   * outstanding (a batch of commands in flight); `takeRequestReply()` and `receive()` consume them
   * in wire order. Pipelining links only (`speculative`).
   */
  queueRequest(id: number, data: Uint8Array | undefined, opts: RawFrameOptions | undefined, polls: number): void {
    if (!this.speculative) throw new ProtocolError('l1', `cannot write ${requestName(id)} ahead: the transport does not pipeline (or reads are split)`, 'TH_PROTOCOL');
    this.ahead.push({ request: true, reply: this.windowAhead(encodeRequest(id, data, opts)) });
    this.prefetch(polls);
  }

  /** Consume the reply of the request window written next in line (CHIP_STATUS and init bytes). */
  async takeRequestReply(): Promise<void> {
    const next = this.ahead[0];
    if (!next?.request) throw new ProtocolError('l1', `expected a request window next in line, found ${next ? 'a Get_Response poll' : 'nothing written ahead'}`, 'TH_PROTOCOL');
    this.ahead.shift();
    this.lastChipStatus = (await next.reply)[0] ?? 0;
  }

  /** Windows written ahead and not consumed yet. */
  get outstanding(): number {
    return this.ahead.length;
  }

  private windowAhead(bytes: Uint8Array): Promise<Uint8Array> {
    const p = this.window(bytes);
    p.catch(() => undefined); // its error is seen by whoever consumes it, or dropped with it
    return p;
  }

  /**
   * Read and drop every window written ahead that nobody consumed, before anything else is
   * written: polls issued ahead and not needed, and what an aborted batch left in flight.
   */
  async dropPrefetched(): Promise<void> {
    while (this.ahead.length) {
      const next = this.ahead.shift()!;
      if (next.request) this.droppedRequests++;
      else this.droppedPolls++;
      try {
        this.lastChipStatus = (await next.reply)[0] ?? this.lastChipStatus;
      } catch {
        /* the link's error reaches the next exchange */
      }
    }
  }

  /** Send raw bytes in one chip-select window; returns the bytes clocked back (first is CHIP_STATUS). */
  async writeRaw(bytes: Uint8Array): Promise<Uint8Array> {
    if (this.ahead.length) await this.dropPrefetched();
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
    if (this.transport.window) return this.transport.window(bytes);
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
    if (this.ahead.length) await this.dropPrefetched();
    this.queueRequest(id, data, opts, 1 + pollsAhead);
    await this.takeRequestReply();
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
      if (this.ahead[0]?.request) {
        // A batch wrote the next request behind this response's polls: polling again now would
        // put the poll after that request, which replaces the response still awaited.
        throw new ProtocolError('l1', `no L2 response where one was polled for ahead: ${polls} Get_Response poll${polls === 1 ? '' : 's'} answered ${notReady} CHIP_STATUS not ready, ${noResp} NO_RESP, and the next request is already written behind them (${this.ahead.length} window${this.ahead.length === 1 ? '' : 's'} outstanding); last CHIP_STATUS ${describeChipStatus(this.lastChipStatus)}`, 'TH_L1_NO_RESPONSE');
      }
      const ahead = this.ahead.shift()?.reply;
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

/**
 * One Get_Response window: the request byte, then filler clocking out a maximum-size frame. One
 * shared array (two polls per L3 command made a fresh one each time): transports copy what they
 * send and records only read it, so nothing writes to it.
 */
const GET_RESPONSE_WINDOW = new Uint8Array(MAX_READ);
GET_RESPONSE_WINDOW[0] = L2_REQ.GET_RESPONSE;
function getResponseWindow(): Uint8Array {
  return GET_RESPONSE_WINDOW;
}
