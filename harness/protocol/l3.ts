/**
 * L3 command and result packets of User API v1.4.0 (section 4.2). A plaintext command is
 * CMD_ID || CMD_DATA; a result is RESULT || RES_DATA. Multi-byte fields are little-endian.
 * Encoders check every argument before anything is built, naming the argument and its range.
 */
import { ArgumentError, ProtocolError } from '../errors.js';
import { byteName, concat, readU32le, u16le, u32le } from '../bytes.js';

export const L3_CMD = {
  PING: 0x01,
  PAIRING_KEY_WRITE: 0x10,
  PAIRING_KEY_READ: 0x11,
  PAIRING_KEY_INVALIDATE: 0x12,
  R_CONFIG_WRITE: 0x20,
  R_CONFIG_READ: 0x21,
  R_CONFIG_ERASE: 0x22,
  I_CONFIG_WRITE: 0x30,
  I_CONFIG_READ: 0x31,
  R_MEM_DATA_WRITE: 0x40,
  R_MEM_DATA_READ: 0x41,
  R_MEM_DATA_ERASE: 0x42,
  RANDOM_VALUE_GET: 0x50,
  ECC_KEY_GENERATE: 0x60,
  ECC_KEY_STORE: 0x61,
  ECC_KEY_READ: 0x62,
  ECC_KEY_ERASE: 0x63,
  ECDSA_SIGN: 0x70,
  EDDSA_SIGN: 0x71,
  MCOUNTER_INIT: 0x80,
  MCOUNTER_UPDATE: 0x81,
  MCOUNTER_GET: 0x82,
  MAC_AND_DESTROY: 0x90,
} as const;
export type L3CommandName = keyof typeof L3_CMD;
export const L3_CMD_NAMES: Record<number, string> = Object.fromEntries(Object.entries(L3_CMD).map(([k, v]) => [v, k]));
export const commandName = (id: number): string => byteName(L3_CMD_NAMES, id);

export const L3_RESULT = {
  OK: 0xc3,
  FAIL: 0x3c,
  UNAUTHORIZED: 0x01,
  INVALID_CMD: 0x02,
  SLOT_NOT_EMPTY: 0x10,
  INVALID_KEY: 0x12,
  UPDATE_ERR: 0x13,
  COUNTER_INVALID: 0x14,
  SLOT_EMPTY: 0x15,
  SLOT_INVALID: 0x16,
  HARDWARE_FAIL: 0x17,
} as const;
export const L3_RESULT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(L3_RESULT).map(([k, v]) => [v, k]));
export const resultName = (r: number): string => byteName(L3_RESULT_NAMES, r);

export const CURVE = { P256: 0x01, ED25519: 0x02 } as const;
export type CurveName = keyof typeof CURVE;
export const ORIGIN = { GENERATED: 0x01, STORED: 0x02 } as const;

/** Partition sizes (User API 4.2, datasheet 6.x). */
export const LIMITS = {
  PAIRING_SLOTS: 4,
  ECC_SLOTS: 32,
  USER_DATA_SLOTS: 512,
  USER_DATA_SLOT_FW1: 444,
  USER_DATA_SLOT_FW2: 475,
  MCOUNTERS: 16,
  MAC_AND_DESTROY_SLOTS: 128,
  PING_MAX: 4096,
  EDDSA_MSG_MAX: 4096,
  RANDOM_MAX: 255,
  CONFIG_ADDRESS_MAX: 0x1fc,
  MCOUNTER_MAX: 0xfffffffe,
} as const;

// ---- argument checks ---------------------------------------------------------------------------

export function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentError(name, `${String(value)} is out of range; allowed ${min}..${max}`);
  }
  return value;
}

export function checkBytes(name: string, value: Uint8Array, min: number, max = min): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new ArgumentError(name, `expected bytes (Uint8Array), got ${typeof value}`);
  if (value.length < min || value.length > max) {
    const allowed = min === max ? `exactly ${min}` : `${min}..${max}`;
    throw new ArgumentError(name, `length ${value.length} bytes is out of range; allowed ${allowed} bytes`);
  }
  return value;
}

export function checkCurve(curve: CurveName | number): number {
  const v = typeof curve === 'number' ? curve : CURVE[curve];
  if (v !== CURVE.P256 && v !== CURVE.ED25519) throw new ArgumentError('curve', `${String(curve)} is not a curve; allowed P256 or ED25519`);
  return v;
}

const pad = (n: number): Uint8Array => new Uint8Array(n);
const cmd = (id: number, ...parts: Uint8Array[]): Uint8Array => concat(Uint8Array.of(id), ...parts);

// ---- command encoders --------------------------------------------------------------------------

export const encode = {
  ping: (data: Uint8Array) => cmd(L3_CMD.PING, checkBytes('data', data, 0, LIMITS.PING_MAX)),
  pairingKeyWrite: (slot: number, key: Uint8Array) =>
    cmd(L3_CMD.PAIRING_KEY_WRITE, u16le(checkInt('slot', slot, 0, 3)), pad(1), checkBytes('publicKey', key, 32)),
  pairingKeyRead: (slot: number) => cmd(L3_CMD.PAIRING_KEY_READ, u16le(checkInt('slot', slot, 0, 3))),
  pairingKeyInvalidate: (slot: number) => cmd(L3_CMD.PAIRING_KEY_INVALIDATE, u16le(checkInt('slot', slot, 0, 3))),
  rConfigWrite: (address: number, value: number) =>
    cmd(L3_CMD.R_CONFIG_WRITE, u16le(checkInt('address', address, 0, 0xffff)), pad(1), u32le(checkInt('value', value, 0, 0xffffffff))),
  rConfigRead: (address: number) => cmd(L3_CMD.R_CONFIG_READ, u16le(checkInt('address', address, 0, 0xffff))),
  rConfigErase: () => cmd(L3_CMD.R_CONFIG_ERASE),
  iConfigWrite: (address: number, bit: number) =>
    cmd(L3_CMD.I_CONFIG_WRITE, u16le(checkInt('address', address, 0, 0xffff)), Uint8Array.of(checkInt('bit', bit, 0, 255))),
  iConfigRead: (address: number) => cmd(L3_CMD.I_CONFIG_READ, u16le(checkInt('address', address, 0, 0xffff))),
  rMemDataWrite: (slot: number, data: Uint8Array, maxLen: number = LIMITS.USER_DATA_SLOT_FW2) =>
    cmd(L3_CMD.R_MEM_DATA_WRITE, u16le(checkInt('slot', slot, 0, LIMITS.USER_DATA_SLOTS - 1)), pad(1), checkBytes('data', data, 1, maxLen)),
  rMemDataRead: (slot: number) => cmd(L3_CMD.R_MEM_DATA_READ, u16le(checkInt('slot', slot, 0, LIMITS.USER_DATA_SLOTS - 1))),
  rMemDataErase: (slot: number) => cmd(L3_CMD.R_MEM_DATA_ERASE, u16le(checkInt('slot', slot, 0, LIMITS.USER_DATA_SLOTS - 1))),
  randomValueGet: (n: number) => cmd(L3_CMD.RANDOM_VALUE_GET, Uint8Array.of(checkInt('count', n, 0, LIMITS.RANDOM_MAX))),
  eccKeyGenerate: (slot: number, curve: CurveName | number) =>
    cmd(L3_CMD.ECC_KEY_GENERATE, u16le(checkInt('slot', slot, 0, LIMITS.ECC_SLOTS - 1)), Uint8Array.of(checkCurve(curve))),
  eccKeyStore: (slot: number, curve: CurveName | number, privateKey: Uint8Array) =>
    cmd(L3_CMD.ECC_KEY_STORE, u16le(checkInt('slot', slot, 0, LIMITS.ECC_SLOTS - 1)), Uint8Array.of(checkCurve(curve)), pad(12), checkBytes('privateKey', privateKey, 32)),
  eccKeyRead: (slot: number) => cmd(L3_CMD.ECC_KEY_READ, u16le(checkInt('slot', slot, 0, LIMITS.ECC_SLOTS - 1))),
  eccKeyErase: (slot: number) => cmd(L3_CMD.ECC_KEY_ERASE, u16le(checkInt('slot', slot, 0, LIMITS.ECC_SLOTS - 1))),
  ecdsaSign: (slot: number, hash: Uint8Array) =>
    cmd(L3_CMD.ECDSA_SIGN, u16le(checkInt('slot', slot, 0, LIMITS.ECC_SLOTS - 1)), pad(13), checkBytes('hash', hash, 32)),
  eddsaSign: (slot: number, message: Uint8Array) =>
    cmd(L3_CMD.EDDSA_SIGN, u16le(checkInt('slot', slot, 0, LIMITS.ECC_SLOTS - 1)), pad(13), checkBytes('message', message, 0, LIMITS.EDDSA_MSG_MAX)),
  mcounterInit: (index: number, value: number) =>
    cmd(L3_CMD.MCOUNTER_INIT, u16le(checkInt('index', index, 0, LIMITS.MCOUNTERS - 1)), pad(1), u32le(checkInt('value', value, 0, 0xffffffff))),
  mcounterUpdate: (index: number) => cmd(L3_CMD.MCOUNTER_UPDATE, u16le(checkInt('index', index, 0, LIMITS.MCOUNTERS - 1))),
  mcounterGet: (index: number) => cmd(L3_CMD.MCOUNTER_GET, u16le(checkInt('index', index, 0, LIMITS.MCOUNTERS - 1))),
  macAndDestroy: (slot: number, data: Uint8Array) =>
    cmd(L3_CMD.MAC_AND_DESTROY, u16le(checkInt('slot', slot, 0, LIMITS.MAC_AND_DESTROY_SLOTS - 1)), pad(1), checkBytes('data', data, 32)),
};

// ---- result decoders ---------------------------------------------------------------------------

function need(command: string, data: Uint8Array, min: number, max = min): void {
  if (data.length < min || data.length > max) {
    throw new ProtocolError('l3', `${command} result has ${data.length} data bytes, expected ${min === max ? min : `${min}..${max}`}`, 'TH_L3_LENGTH', {
      frame: data,
      expected: `${min}..${max} bytes`,
    });
  }
}

export interface EccKeyInfo {
  curve: CurveName;
  origin: 'GENERATED' | 'STORED';
  publicKey: Uint8Array;
}

export const decode = {
  ping: (d: Uint8Array) => d,
  pairingKeyRead: (d: Uint8Array) => (need('PAIRING_KEY_READ', d, 35), d.slice(3)),
  configRead: (d: Uint8Array) => (need('CONFIG_READ', d, 7), readU32le(d, 3)),
  rMemDataRead: (d: Uint8Array) => (need('R_MEM_DATA_READ', d, 3, 3 + LIMITS.USER_DATA_SLOT_FW2), d.slice(3)),
  randomValueGet: (d: Uint8Array) => (need('RANDOM_VALUE_GET', d, 3, 3 + LIMITS.RANDOM_MAX), d.slice(3)),
  eccKeyRead: (d: Uint8Array): EccKeyInfo => {
    need('ECC_KEY_READ', d, 47, 79);
    const curve = d[0] === CURVE.P256 ? 'P256' : d[0] === CURVE.ED25519 ? 'ED25519' : undefined;
    if (!curve) throw new ProtocolError('l3', `ECC_KEY_READ returned unknown curve 0x${d[0].toString(16)}`, 'TH_L3_FIELD', { frame: d, expected: 'curve 0x01 or 0x02' });
    const keyLen = curve === 'P256' ? 64 : 32;
    need('ECC_KEY_READ', d, 15 + keyLen);
    return { curve, origin: d[1] === ORIGIN.GENERATED ? 'GENERATED' : 'STORED', publicKey: d.slice(15) };
  },
  signature: (d: Uint8Array) => (need('SIGN', d, 79), { r: d.slice(15, 47), s: d.slice(47, 79) }),
  mcounterGet: (d: Uint8Array) => (need('MCOUNTER_GET', d, 7), readU32le(d, 3)),
  macAndDestroy: (d: Uint8Array) => (need('MAC_AND_DESTROY', d, 35), d.slice(3)),
};
