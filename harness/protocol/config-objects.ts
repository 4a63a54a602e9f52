/**
 * Configuration objects of the application (User API 5.2, app note ODN_TR01_app_006). Each CO is a
 * 32-bit word at an address offset; R-Config and I-Config share the layout and the effective
 * configuration is their bitwise AND. UAP fields are 8-bit masks: bit N grants pairing slot N.
 */
import { ArgumentError } from '../errors.js';

export interface FieldDef {
  name: string;
  offset: number;
  width: number;
}
export interface RegisterDef {
  name: string;
  address: number;
  /** Reset value from User API 5.2. */
  reset: number;
  fields: FieldDef[];
}

const f = (name: string, offset: number, width = 1): FieldDef => ({ name, offset, width });
const slots4 = (prefix: string): FieldDef[] => [0, 1, 2, 3].map((i) => f(`${prefix}${i}`, 8 * i, 8));
const ranges = (prefix: string, step: number): FieldDef[] => [0, 1, 2, 3].map((i) => f(`${prefix}${i * step}_${i * step + step - 1}`, 8 * i, 8));

export const CONFIG_REGISTERS: RegisterDef[] = [
  { name: 'CFG_START_UP', address: 0x00, reset: 0x0000000f, fields: [f('RFU_1', 0), f('MBIST_DIS', 1), f('RNGTEST_DIS', 2), f('MAINTENANCE_ENA', 3)] },
  { name: 'CFG_SENSORS', address: 0x08, reset: 0x0003ffff, fields: [f('SENSORS_DIS', 0, 18)] },
  { name: 'CFG_DEBUG', address: 0x10, reset: 0x00000001, fields: [f('FW_LOG_EN', 0)] },
  { name: 'CFG_GPO', address: 0x14, reset: 0x00000001, fields: [f('GPO_FUNC', 0, 3)] },
  { name: 'CFG_SLEEP_MODE', address: 0x18, reset: 0x00000001, fields: [f('SLEEP_MODE_EN', 0)] },
  { name: 'CFG_UAP_PAIRING_KEY_WRITE', address: 0x20, reset: 0xffffffff, fields: slots4('WRITE_PKEY_SLOT_') },
  { name: 'CFG_UAP_PAIRING_KEY_READ', address: 0x24, reset: 0xffffffff, fields: slots4('READ_PKEY_SLOT_') },
  { name: 'CFG_UAP_PAIRING_KEY_INVALIDATE', address: 0x28, reset: 0xffffffff, fields: slots4('INVALIDATE_PKEY_SLOT_') },
  { name: 'CFG_UAP_R_CONFIG_WRITE_ERASE', address: 0x30, reset: 0x000000ff, fields: [f('R_CONFIG_WRITE_ERASE', 0, 8)] },
  { name: 'CFG_UAP_R_CONFIG_READ', address: 0x34, reset: 0x0000ffff, fields: [f('R_CONFIG_READ_CFG', 0, 8), f('R_CONFIG_READ_FUNC', 8, 8)] },
  { name: 'CFG_UAP_I_CONFIG_WRITE', address: 0x40, reset: 0x0000ffff, fields: [f('I_CONFIG_WRITE_CFG', 0, 8), f('I_CONFIG_WRITE_FUNC', 8, 8)] },
  { name: 'CFG_UAP_I_CONFIG_READ', address: 0x44, reset: 0x0000ffff, fields: [f('I_CONFIG_READ_CFG', 0, 8), f('I_CONFIG_READ_FUNC', 8, 8)] },
  { name: 'CFG_UAP_PING', address: 0x100, reset: 0x000000ff, fields: [f('PING', 0, 8)] },
  { name: 'CFG_UAP_R_MEM_DATA_WRITE', address: 0x110, reset: 0xffffffff, fields: ranges('WRITE_UDATA_SLOT_', 128) },
  { name: 'CFG_UAP_R_MEM_DATA_READ', address: 0x114, reset: 0xffffffff, fields: ranges('READ_UDATA_SLOT_', 128) },
  { name: 'CFG_UAP_R_MEM_DATA_ERASE', address: 0x118, reset: 0xffffffff, fields: ranges('ERASE_UDATA_SLOT_', 128) },
  { name: 'CFG_UAP_RANDOM_VALUE_GET', address: 0x120, reset: 0x000000ff, fields: [f('RANDOM_VALUE_GET', 0, 8)] },
  { name: 'CFG_UAP_ECC_KEY_GENERATE', address: 0x130, reset: 0xffffffff, fields: ranges('GEN_ECCKEY_SLOT_', 8) },
  { name: 'CFG_UAP_ECC_KEY_STORE', address: 0x134, reset: 0xffffffff, fields: ranges('STORE_ECCKEY_SLOT_', 8) },
  { name: 'CFG_UAP_ECC_KEY_READ', address: 0x138, reset: 0xffffffff, fields: ranges('READ_ECCKEY_SLOT_', 8) },
  { name: 'CFG_UAP_ECC_KEY_ERASE', address: 0x13c, reset: 0xffffffff, fields: ranges('ERASE_ECCKEY_SLOT_', 8) },
  { name: 'CFG_UAP_ECDSA_SIGN', address: 0x140, reset: 0xffffffff, fields: ranges('ECDSA_ECCKEY_SLOT_', 8) },
  { name: 'CFG_UAP_EDDSA_SIGN', address: 0x144, reset: 0xffffffff, fields: ranges('EDDSA_ECCKEY_SLOT_', 8) },
  { name: 'CFG_UAP_MCOUNTER_INIT', address: 0x150, reset: 0xffffffff, fields: ranges('MCOUNTER_INIT_', 4) },
  { name: 'CFG_UAP_MCOUNTER_GET', address: 0x154, reset: 0xffffffff, fields: ranges('MCOUNTER_GET_', 4) },
  { name: 'CFG_UAP_MCOUNTER_UPDATE', address: 0x158, reset: 0xffffffff, fields: ranges('MCOUNTER_UPDATE_', 4) },
  { name: 'CFG_UAP_MAC_AND_DESTROY', address: 0x160, reset: 0xffffffff, fields: ranges('MACANDD_', 32) },
];

export const REGISTER_BY_NAME = new Map(CONFIG_REGISTERS.map((r) => [r.name, r]));
export const REGISTER_BY_ADDRESS = new Map(CONFIG_REGISTERS.map((r) => [r.address, r]));
export const CFG = Object.fromEntries(CONFIG_REGISTERS.map((r) => [r.name, r.address])) as Record<string, number>;

/** COs below 0x100 are "configuration", from 0x100 "functionality" (separate UAP fields). */
export const isFunctionalityAddress = (address: number): boolean => address >= 0x100;

export function register(name: string): RegisterDef {
  const r = REGISTER_BY_NAME.get(name);
  if (!r) throw new ArgumentError('register', `unknown configuration object ${JSON.stringify(name)}; known: ${[...REGISTER_BY_NAME.keys()].join(', ')}`);
  return r;
}

export function decodeRegister(reg: RegisterDef, value: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of reg.fields) out[fd.name] = Number((BigInt(value >>> 0) >> BigInt(fd.offset)) & ((1n << BigInt(fd.width)) - 1n));
  return out;
}

/** Encode named fields back into a word; fields not given keep the bits of `base` (reset value by default). */
export function encodeRegister(reg: RegisterDef, fields: Record<string, number>, base = reg.reset): number {
  let v = BigInt(base >>> 0);
  for (const [name, value] of Object.entries(fields)) {
    const fd = reg.fields.find((x) => x.name === name);
    if (!fd) throw new ArgumentError(`${reg.name}.${name}`, `no such field; fields: ${reg.fields.map((x) => x.name).join(', ')}`);
    const mask = (1n << BigInt(fd.width)) - 1n;
    if (!Number.isInteger(value) || value < 0 || BigInt(value) > mask) throw new ArgumentError(`${reg.name}.${name}`, `${value} does not fit ${fd.width} bits`);
    v = (v & ~(mask << BigInt(fd.offset))) | (BigInt(value) << BigInt(fd.offset));
  }
  return Number(v & 0xffffffffn);
}

/** UAP mask for one pairing slot: 8-bit field value with only that slot's bit set. */
export const uapSlotBit = (slot: number): number => 1 << slot;
