/**
 * The shape of an L3 command in the model's command table: the CMD_DATA sizes it accepts and the
 * preamble every command of its kind shares (the slot index and its range, the configuration
 * address, the UAP field that must grant the session's pairing slot), declared next to the sizes
 * so each handler holds only what is particular to it.
 */
import { readU16le, concat } from '../../bytes.js';
import { L3_RESULT } from '../../protocol/l3.js';
import type { TropicModel } from '../chip.js';

/** An L3 command that ends with a result other than OK. */
export class L3Fail extends Error {
  constructor(readonly result: number, msg: string) {
    super(msg);
  }
}
export const fail = (msg: string): never => {
  throw new L3Fail(L3_RESULT.FAIL, msg);
};
export const unauthorized = (msg: string): never => {
  throw new L3Fail(L3_RESULT.UNAUTHORIZED, msg);
};

/** Which 8-bit UAP field of a configuration object must grant the pairing slot. */
export type Uap =
  /** One field: byte `byte` (default 0) of the register. */
  | { register: string; field: 'fixed'; byte?: number }
  /** Four fields, each covering `span` consecutive slots: byte = slot / span. */
  | { register: string; field: 'perSlot'; span: number }
  /** Configuration COs (address below 0x100) use byte 0, functionality COs byte 1. */
  | { register: string; field: 'perAddressBlock' };

export interface L3Command {
  /** Allowed CMD_DATA length (excluding CMD_ID). */
  size: [number, number] | ((chip: TropicModel) => [number, number]);
  /** CMD_DATA starts with a u16 slot index below `count`; a larger index answers UNAUTHORIZED. */
  slot?: { count: number; noun: string };
  /** CMD_DATA starts with a u16 configuration address (range: UNAUTHORIZED, alignment: FAIL). */
  address?: true;
  uap?: Uap;
  /** The command's own work; `index` is the checked slot or address (0 when the command has none). */
  run: (chip: TropicModel, data: Uint8Array, index: number) => Uint8Array;
}

export const u16 = (d: Uint8Array, off = 0): number => readU16le(d, off);
export const none = new Uint8Array(0);
/** Result data that starts with three padding bytes (User API result layouts). */
export const pad3 = (b: Uint8Array): Uint8Array => concat(new Uint8Array(3), b);
