/**
 * What the driver needs from the physical side: chip select, SPI transfers, power, waits and a
 * target reset. Implemented by TcpTransport (model servers and TCP-attached rigs).
 */
export interface ExchangeRecord {
  seq: number;
  /** Wall-clock time the request was sent (ms since epoch). */
  time: number;
  durationMs: number;
  tag: number;
  request: Uint8Array;
  replyTag?: number;
  reply?: Uint8Array;
  error?: string;
}

export interface L1Transport {
  csnLow(): Promise<void>;
  csnHigh(): Promise<void>;
  /** Full-duplex transfer: returns as many bytes as were sent. */
  transfer(data: Uint8Array): Promise<Uint8Array>;
  /**
   * One chip-select window, CSN_LOW, `transfer(data)`, CSN_HIGH, issued at once: the same three
   * exchanges; fails with the first that fails, and chip select is raised even then. Optional: a
   * transport without it gets the three calls.
   */
  window?(data: Uint8Array): Promise<Uint8Array>;
  /** Clock out `length` filler bytes and return what the chip sends. */
  read(length: number): Promise<Uint8Array>;
  powerOn(): Promise<void>;
  powerOff(): Promise<void>;
  wait(ms: number): Promise<void>;
  resetTarget(): Promise<void>;
  close(): Promise<void>;
  /** Called for every completed exchange (frame recording). */
  onExchange?: (rec: ExchangeRecord) => void;
  /**
   * True when messages issued together are written together and answered in order (a target that
   * frames its input): the link may then issue Get_Response polls before the request's own reply
   * is back (harness/driver/l2-link.ts). Unset: one message at a time.
   */
  readonly pipelined?: boolean;
}
