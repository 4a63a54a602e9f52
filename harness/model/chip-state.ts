/**
 * The chip's memories and their rules (datasheet 6.x, User API 4.2), as ts-tvl models them:
 * pairing keys (blank / written / invalidated), R-config and I-config (I-config bits only clear),
 * ECC keys, User Data, monotonic counters, MAC-and-Destroy slots and keys.
 */
import { LIMITS } from '../protocol/l3.js';

export type PairingSlotState = 'blank' | 'written' | 'invalid';
export interface PairingSlot {
  state: PairingSlotState;
  value: Uint8Array;
}

export const CONFIG_SPACE = 0x200;

/** A configuration object: 128 words, every bit 1 after erase; value words are big-endian internally. */
export class ConfigSpace {
  readonly words = new Uint32Array(CONFIG_SPACE / 4).fill(0xffffffff);
  static check(address: number): 'ok' | 'range' | 'align' {
    if (address < 0 || address >= CONFIG_SPACE) return 'range';
    if (address % 4 !== 0) return 'align';
    return 'ok';
  }
  read(address: number): number {
    return this.words[address >>> 2];
  }
  write(address: number, value: number): void {
    this.words[address >>> 2] = value >>> 0;
  }
  erase(): void {
    this.words.fill(0xffffffff);
  }
  isErased(address: number): boolean {
    return this.words[address >>> 2] === 0xffffffff;
  }
  clone(): ConfigSpace {
    const c = new ConfigSpace();
    c.words.set(this.words);
    return c;
  }
}

export interface EccKeySlot {
  curve: 'P256' | 'ED25519';
  origin: 1 | 2;
  /** P-256: private scalar d. Ed25519: the 32-byte seed. */
  secret: Uint8Array;
  publicKey: Uint8Array;
  /** P-256: TMAC-derived nonce key w. Ed25519: clamped scalar s. */
  aux: Uint8Array;
  /** Ed25519 only: the prefix (second half of SHA-512 of the seed). */
  prefix?: Uint8Array;
}

export interface UserDataSlot {
  free: boolean;
  value: Uint8Array;
}

export const MCOUNTER_UNSET = 0xffffffff;

export class ChipMemory {
  pairing: PairingSlot[] = Array.from({ length: LIMITS.PAIRING_SLOTS }, () => ({ state: 'blank' as PairingSlotState, value: new Uint8Array(0) }));
  rConfig = new ConfigSpace();
  iConfig = new ConfigSpace();
  ecc: (EccKeySlot | undefined)[] = new Array(LIMITS.ECC_SLOTS).fill(undefined);
  userData: UserDataSlot[] = Array.from({ length: LIMITS.USER_DATA_SLOTS }, () => ({ free: true, value: new Uint8Array(0) }));
  mcounters = new Uint32Array(LIMITS.MCOUNTERS).fill(MCOUNTER_UNSET);
  macAndDestroySlots: Uint8Array[] = Array.from({ length: LIMITS.MAC_AND_DESTROY_SLOTS }, () => new Uint8Array(32).fill(0xff));
  /** MAC-and-Destroy KMAC keys 1 and 2 (index 0 unused). */
  macAndDestroyKeys: Uint8Array[] = Array.from({ length: 3 }, () => new Uint8Array(32).fill(0xff));
}
