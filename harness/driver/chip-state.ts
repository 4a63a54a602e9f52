/**
 * A snapshot of everything the User API lets a host read back from a chip, through the driver (a
 * secure session is needed): ECC slots, User Data slots, R-config and I-config, pairing keys,
 * monotonic counters. Two snapshots compare with `toEqual`. MAC-and-Destroy slots have no read
 * command and are not in it (see `NOT_RESTORABLE` in operations.ts for what cannot be put back).
 */
import { L3ResultError } from '../errors.js';
import { CONFIG_REGISTERS } from '../protocol/config-objects.js';
import { LIMITS } from '../protocol/l3.js';
import type { TropicSquare } from './tropic-square.js';

export interface ChipStateSnapshot {
  /** Per ECC slot: `curve origin public-key-hex`, or `empty`. */
  eccSlots: string[];
  /** Non-empty User Data slots: slot → content (hex). */
  userData: Record<number, string>;
  /** R-config CO name → value. */
  rConfig: Record<string, number>;
  /** I-config CO name → value. */
  iConfig: Record<string, number>;
  /** Per pairing slot: public key (hex), or the result that answered the read (SLOT_EMPTY, SLOT_INVALID). */
  pairingKeys: string[];
  /** Per monotonic counter: its value, or the result that answered the read (COUNTER_INVALID). */
  counters: (number | string)[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Read `run`'s value, or the L3 result name it was refused with. */
async function orResult<T>(run: () => Promise<T>, show: (v: T) => string | number): Promise<string | number> {
  try {
    return show(await run());
  } catch (e) {
    if (e instanceof L3ResultError) return e.resultName;
    throw e;
  }
}

export async function readChipState(ts: TropicSquare): Promise<ChipStateSnapshot> {
  const eccSlots: string[] = [];
  for (let slot = 0; slot < LIMITS.ECC_SLOTS; slot++) {
    const v = await orResult(() => ts.eccKeyRead(slot), (k) => `${k.curve} ${k.origin} ${hex(k.publicKey)}`);
    eccSlots.push(v === 'INVALID_KEY' ? 'empty' : String(v));
  }
  const userData: Record<number, string> = {};
  for (let slot = 0; slot < LIMITS.USER_DATA_SLOTS; slot++) {
    const data = await ts.memDataRead(slot);
    if (data.length) userData[slot] = hex(data);
  }
  const rConfig: Record<string, number> = {};
  const iConfig: Record<string, number> = {};
  for (const r of CONFIG_REGISTERS) {
    rConfig[r.name] = await ts.rConfigRead(r.address);
    iConfig[r.name] = await ts.iConfigRead(r.address);
  }
  const pairingKeys: string[] = [];
  for (let slot = 0; slot < LIMITS.PAIRING_SLOTS; slot++) pairingKeys.push(String(await orResult(() => ts.pairingKeyRead(slot), hex)));
  const counters: (number | string)[] = [];
  for (let index = 0; index < LIMITS.MCOUNTERS; index++) counters.push(await orResult(() => ts.mcounterGet(index), (v) => v));
  return { eccSlots, userData, rConfig, iConfig, pairingKeys, counters };
}
