/** What the bridge needs from a DevKit, whichever firmware it runs. */
export type DevkitFirmware = 'legacy' | 'proto';

export interface DevkitProtocol {
  readonly firmware: DevkitFirmware;
  /** Drive chip select low (start of an L1 frame). */
  csnLow(): Promise<void>;
  /** Drive chip select high (end of an L1 frame). */
  csnHigh(): Promise<void>;
  /** Clock `tx` out on SPI with chip select kept low; returns the bytes clocked back. */
  transfer(tx: Uint8Array): Promise<Uint8Array>;
  /** Switch the chip's supply; false when this firmware cannot. */
  power(on: boolean): Promise<boolean>;
  /** The chip's GPO (interrupt) pin. */
  gpo(): Promise<boolean>;
  /** Drop unread input after a fault so the next command starts clean. */
  resync(): Promise<void>;
}

export interface DevkitTimeouts {
  /** Bound on each DevKit answer. */
  replyMs: number;
  /** SPI transfer timeout passed to the framed firmware (its HAL_SPI_TransmitReceive). */
  spiMs: number;
}
export const DEFAULT_DEVKIT_TIMEOUTS: DevkitTimeouts = { replyMs: 1000, spiMs: 100 };
