/**
 * The embedded TROPIC01 model: L2 requests and L3 commands of User API v1.4.0 with their error
 * statuses and result codes, user access privileges, and the partitions' rules. Behaviour follows
 * ts-tvl where it defines it; where ts-tvl differs from the User API the User API wins and the
 * README lists the difference. One handler per L2 request and per L3 command.
 */
import { randomBytes } from 'node:crypto';
import { kmac256 } from '@noble/hashes/sha3-addons';
import { concat, readU16le, readU32le, u32le } from '../bytes.js';
import { crc16 } from '../protocol/crc16.js';
import { CERT_BLOCK_SIZE, GET_INFO_OBJECT, L2_REQ, L2_REQ_LEN, L2_STATUS, encodeResponse, requestName } from '../protocol/l2.js';
import { L3_CMD, L3_RESULT, LIMITS, commandName } from '../protocol/l3.js';
import { SessionCipher, TAG_LEN, deriveSession, frameL3, x25519Public, x25519Shared } from '../protocol/session.js';
import { REGISTER_BY_NAME } from '../protocol/config-objects.js';
import { decodeFwVersion } from '../protocol/chip-id.js';
import { ChipMemory, ConfigSpace, MCOUNTER_UNSET, type EccKeySlot } from './chip-state.js';
import { ecdsaSign, eddsaSign, ed25519Setup, p256Setup, p256ValidPrivate } from './ecc.js';
import { SpiFsm, type RequestProcessor } from './spi-fsm.js';
import type { ModelConfig } from './model-config.js';

export type ModelLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

/** One log line as every model log shows it (server CLI, target attachments). */
export const formatLogLine = (level: Parameters<ModelLog>[0], msg: string): string => `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`;

/** Response chunk size for encrypted results (ts-tvl: 128 bytes). */
const RESULT_CHUNK = 128;
const MACANDD_CUSTOM = new TextEncoder().encode('My Tagged Application');

class L3Fail extends Error {
  constructor(readonly result: number, msg: string) {
    super(msg);
  }
}
const fail = (msg: string): never => {
  throw new L3Fail(L3_RESULT.FAIL, msg);
};
const unauthorized = (msg: string): never => {
  throw new L3Fail(L3_RESULT.UNAUTHORIZED, msg);
};

type L3Handler = (chip: TropicModel, data: Uint8Array) => Uint8Array;
type L2Handler = (chip: TropicModel, data: Uint8Array) => Uint8Array[] | 'resend';

export class TropicModel implements RequestProcessor {
  memory = new ChipMemory();
  readonly spi: SpiFsm;
  cipher?: SessionCipher;
  pairingSlot = -1;
  private cmdTotal = 0;
  private cmdChunks: Uint8Array[] = [];
  private effective?: ConfigSpace;
  readonly stats = { requests: 0, commands: 0 };

  constructor(readonly config: ModelConfig, readonly log: ModelLog = () => {}) {
    this.spi = new SpiFsm(this, config.busyIter ?? [false], config.initByte);
    loadPartitions(this.memory, config);
  }

  /** User Data slot size of the configured RISC-V FW: 444 bytes on FW 1.x, 475 on FW 2.x. */
  get userDataSlotSize(): number {
    return decodeFwVersion(this.config.riscvFwVersion).major >= 2 ? LIMITS.USER_DATA_SLOT_FW2 : LIMITS.USER_DATA_SLOT_FW1;
  }

  random(n: number): Uint8Array {
    const dbg = this.config.debugRandomValue;
    if (!dbg) return new Uint8Array(randomBytes(n));
    return Uint8Array.from({ length: n }, (_, i) => dbg[i % dbg.length]);
  }

  /** Effective configuration: I-config AND R-config, computed once per power cycle (as the chip does at start-up). */
  get effectiveConfig(): ConfigSpace {
    if (!this.effective) {
      const c = new ConfigSpace();
      for (let i = 0; i < c.words.length; i++) c.words[i] = this.memory.iConfig.words[i] & this.memory.rConfig.words[i];
      this.effective = c;
    }
    return this.effective;
  }

  invalidateSession(): void {
    this.cipher = undefined;
    this.pairingSlot = -1;
  }

  resetCommandBuffer(): void {
    this.cmdTotal = 0;
    this.cmdChunks = [];
  }

  /** Power off or Startup_Req: session, buffers and the effective configuration are gone. */
  powerCycle(): void {
    this.invalidateSession();
    this.resetCommandBuffer();
    this.spi.reset();
    this.effective = undefined;
  }

  /** UAP check: the 8-bit field at `byte` of CO `register` must grant the session's pairing slot. */
  requireAccess(register: string, byte: number, what: string): void {
    if (!this.config.activateEncryption) return;
    const reg = REGISTER_BY_NAME.get(register)!;
    const field = (this.effectiveConfig.read(reg.address) >>> (8 * byte)) & 0xff;
    if (!(field & (1 << this.pairingSlot))) unauthorized(`pairing slot ${this.pairingSlot} lacks ${register}[${byte}] for ${what}`);
  }

  /** UAP check for slot-ranged registers (four 8-bit fields, each covering `span` slots). */
  requireRangedAccess(register: string, slot: number, span: number, what: string): void {
    const byte = Math.floor(slot / span);
    if (byte > 3) unauthorized(`${what}: slot ${slot} out of range`);
    this.requireAccess(register, byte, what);
  }

  // ---- L2 ----------------------------------------------------------------------------------------

  process(frame: Uint8Array): Uint8Array[] | 'resend' {
    this.stats.requests++;
    if (frame.length < 4) throw new Error(`L2 request of ${frame.length} bytes is shorter than the 4-byte minimum`);
    const id = frame[0];
    const len = frame[1];
    // The chip reads REQ_LEN data bytes, then the CRC: a REQ_LEN that disagrees with the
    // transfer puts the CRC in the wrong place, so the frame fails its CRC check.
    const crcOk = len + 4 <= frame.length && crc16(frame, 0, len + 2) === (frame[len + 2] | (frame[len + 3] << 8)) && frame.length === len + 4;
    if (!crcOk) {
      this.log('info', `L2 ${requestName(id)}: CRC or length mismatch (REQ_LEN=${len}, transfer ${frame.length} bytes)`);
      return [encodeResponse(L2_STATUS.CRC_ERR)];
    }
    const handler = L2_HANDLERS[id];
    if (!handler) {
      this.log('info', `L2 request 0x${id.toString(16)} unknown`);
      return [encodeResponse(L2_STATUS.UNKNOWN_REQ)];
    }
    const data = frame.slice(2, 2 + len);
    const fixed = L2_REQ_LEN[id];
    if ((fixed !== undefined && data.length !== fixed) || (id === L2_REQ.ENCRYPTED_CMD && data.length < 1)) {
      this.log('info', `L2 ${requestName(id)}: REQ_LEN ${data.length} invalid`);
      return [encodeResponse(L2_STATUS.CRC_ERR)];
    }
    this.log('debug', `L2 ${requestName(id)} (${data.length} bytes)`);
    return handler(this, data);
  }

  /** Chunked Encrypted_Cmd_Req: gather the packet, decrypt, run the command, chunk the result. */
  encryptedCommand(chunk: Uint8Array): Uint8Array[] {
    if (this.config.activateEncryption && !this.cipher) return [encodeResponse(L2_STATUS.NO_SESSION)];
    // SIZE may itself arrive split across chunks (L3_CHUNK is 1..252 bytes): gather 2 bytes first.
    this.cmdChunks.push(chunk);
    const have = this.cmdChunks.reduce((n, c) => n + c.length, 0);
    if (this.cmdTotal === 0) {
      if (have < 2) return [encodeResponse(L2_STATUS.REQ_CONT)];
      this.cmdTotal = 2 + readU16le(concat(...this.cmdChunks)) + TAG_LEN;
    }
    if (have < this.cmdTotal) return [encodeResponse(L2_STATUS.REQ_CONT)];
    if (have > this.cmdTotal) this.log('info', `L3 chunks carry ${have - this.cmdTotal} bytes beyond the packet; ignored`);
    const packet = concat(...this.cmdChunks).subarray(0, this.cmdTotal);
    this.resetCommandBuffer();
    const sealed = packet.subarray(2);
    let plain: Uint8Array | undefined;
    if (this.config.activateEncryption) {
      plain = this.cipher!.openCommand(sealed);
      if (!plain) {
        this.log('info', 'L3 command tag invalid: session invalidated');
        this.invalidateSession();
        return [encodeResponse(L2_STATUS.TAG_ERR)];
      }
    } else plain = sealed.subarray(0, sealed.length - TAG_LEN);
    const result = this.runCommand(plain);
    const sealedResult = this.config.activateEncryption ? this.cipher!.sealResult(result) : concat(result, new Uint8Array(TAG_LEN));
    const out = frameL3(sealedResult);
    const frames = [encodeResponse(L2_STATUS.REQ_OK)];
    for (let off = 0; off < out.length; off += RESULT_CHUNK) {
      const last = off + RESULT_CHUNK >= out.length;
      frames.push(encodeResponse(last ? L2_STATUS.RES_OK : L2_STATUS.RES_CONT, out.subarray(off, off + RESULT_CHUNK)));
    }
    return frames;
  }

  // ---- L3 ----------------------------------------------------------------------------------------

  runCommand(plain: Uint8Array): Uint8Array {
    this.stats.commands++;
    const id = plain[0];
    const spec = L3_HANDLERS[id];
    if (plain.length === 0 || !spec) {
      this.log('info', `L3 command 0x${(id ?? 0).toString(16)} unknown`);
      return Uint8Array.of(L3_RESULT.INVALID_CMD);
    }
    const data = plain.subarray(1);
    const [min, max] = typeof spec.size === 'function' ? spec.size(this) : spec.size;
    if (data.length < min || data.length > max) {
      this.log('info', `L3 ${commandName(id)}: ${data.length} data bytes, expected ${min}..${max}`);
      return Uint8Array.of(L3_RESULT.FAIL);
    }
    try {
      const res = spec.run(this, data);
      this.log('debug', `L3 ${commandName(id)}: OK`);
      return concat(Uint8Array.of(L3_RESULT.OK), res);
    } catch (e) {
      if (e instanceof L3Fail) {
        this.log('info', `L3 ${commandName(id)}: result 0x${e.result.toString(16)}: ${e.message}`);
        return Uint8Array.of(e.result);
      }
      throw e;
    }
  }

  /** Session binding for signatures: handshake hash and the current result nonce (4 bytes LE). */
  sessionBinding(): [Uint8Array, Uint8Array] {
    return [this.cipher?.keys.handshakeHash ?? new Uint8Array(0), u32le(this.cipher?.resNonce ?? 0)];
  }
}

// ---- L2 handlers ---------------------------------------------------------------------------------

const ok = (data?: Uint8Array): Uint8Array[] => [encodeResponse(L2_STATUS.REQ_OK, data)];
const status = (s: number): Uint8Array[] => [encodeResponse(s)];
const padTo = (b: Uint8Array, n: number): Uint8Array => {
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
};

const L2_HANDLERS: Record<number, L2Handler> = {
  [L2_REQ.GET_INFO]: (chip, d) => {
    const [obj, block] = d;
    switch (obj) {
      case GET_INFO_OBJECT.X509_CERTIFICATE:
        if (block > 29) return status(L2_STATUS.GEN_ERR);
        return ok(padTo(chip.config.x509Certificate.subarray(block * CERT_BLOCK_SIZE, (block + 1) * CERT_BLOCK_SIZE), CERT_BLOCK_SIZE));
      case GET_INFO_OBJECT.CHIP_ID:
        return ok(padTo(chip.config.chipId, 128));
      case GET_INFO_OBJECT.RISCV_FW_VERSION:
        return ok(padTo(chip.config.riscvFwVersion, 4));
      case GET_INFO_OBJECT.SPECT_FW_VERSION:
        return ok(padTo(chip.config.spectFwVersion, 4));
      default:
        return status(L2_STATUS.GEN_ERR);
    }
  },
  [L2_REQ.HANDSHAKE]: (chip, d) => {
    const ehPub = d.subarray(0, 32);
    const slot = d[32];
    if (slot > 3 || chip.memory.pairing[slot].state !== 'written') {
      chip.log('info', `handshake on pairing slot ${slot}: slot ${slot > 3 ? 'out of range' : chip.memory.pairing[slot].state}`);
      return status(L2_STATUS.HSK_ERR);
    }
    const shPub = chip.memory.pairing[slot].value;
    const etPriv = chip.random(32);
    const etPub = x25519Public(etPriv);
    let ehEt: Uint8Array, shEt: Uint8Array, ehSt: Uint8Array;
    try {
      ehEt = x25519Shared(etPriv, ehPub);
      shEt = x25519Shared(etPriv, shPub);
      ehSt = x25519Shared(chip.config.sTPriv, ehPub);
    } catch (e) {
      // a low-order host key gives an all-zero shared secret: refuse the handshake
      chip.log('info', `handshake refused: ${(e as Error).message}`);
      chip.invalidateSession();
      return status(L2_STATUS.HSK_ERR);
    }
    const keys = deriveSession({ pairingSlot: slot, shPub, stPub: chip.config.sTPub, ehPub, etPub, ehEt, shEt, ehSt });
    chip.cipher = new SessionCipher(keys);
    chip.pairingSlot = slot;
    chip.log('info', `secure session established on pairing slot ${slot}`);
    return ok(concat(etPub, keys.tAuth));
  },
  [L2_REQ.ENCRYPTED_CMD]: (chip, d) => chip.encryptedCommand(d),
  [L2_REQ.ENCRYPTED_SESSION_ABT]: (chip) => {
    chip.invalidateSession();
    chip.resetCommandBuffer();
    return ok();
  },
  [L2_REQ.RESEND]: (chip) => (chip.spi.latestResponse.length ? 'resend' : status(L2_STATUS.GEN_ERR)),
  [L2_REQ.SLEEP]: (chip, d) => {
    if (d[0] !== 0x05) return status(L2_STATUS.GEN_ERR);
    if ((chip.effectiveConfig.read(REGISTER_BY_NAME.get('CFG_SLEEP_MODE')!.address) & 1) === 0) return status(L2_STATUS.RESP_DISABLED);
    chip.invalidateSession();
    chip.resetCommandBuffer();
    return ok();
  },
  [L2_REQ.STARTUP]: (chip, d) => {
    if (d[0] !== 0x01 && d[0] !== 0x03) return status(L2_STATUS.GEN_ERR);
    chip.powerCycle();
    return ok();
  },
  [L2_REQ.GET_LOG]: (chip) => {
    if ((chip.effectiveConfig.read(REGISTER_BY_NAME.get('CFG_DEBUG')!.address) & 1) === 0) return status(L2_STATUS.RESP_DISABLED);
    return ok();
  },
};

// ---- L3 handlers ---------------------------------------------------------------------------------

interface L3Spec {
  /** Allowed CMD_DATA length (excluding CMD_ID). */
  size: [number, number] | ((chip: TropicModel) => [number, number]);
  run: L3Handler;
}
const u16 = (d: Uint8Array, off = 0): number => readU16le(d, off);
const none = new Uint8Array(0);
const pad3 = (b: Uint8Array): Uint8Array => concat(new Uint8Array(3), b);

function pairingSlot(chip: TropicModel, d: Uint8Array, register: string, what: string): number {
  const slot = u16(d);
  if (slot > 3) unauthorized(`${what}: pairing slot ${slot} out of range`);
  chip.requireAccess(register, slot, what);
  return slot;
}

function configAccess(chip: TropicModel, address: number, register: string, what: string): void {
  // Address 0x000-0x0FC: configuration COs (field byte 0); 0x100-0x1FC: functionality COs (byte 1).
  if (address % 4 !== 0 || address >= 0x200) return;
  chip.requireAccess(register, address >= 0x100 ? 1 : 0, what);
}

function eccKey(chip: TropicModel, slot: number): EccKeySlot {
  const k = chip.memory.ecc[slot];
  if (!k) throw new L3Fail(L3_RESULT.INVALID_KEY, `ECC slot ${slot} is empty`);
  return k;
}

const L3_HANDLERS: Record<number, L3Spec> = {
  [L3_CMD.PING]: {
    size: [0, LIMITS.PING_MAX],
    run: (chip, d) => (chip.requireAccess('CFG_UAP_PING', 0, 'Ping'), Uint8Array.from(d)),
  },
  [L3_CMD.PAIRING_KEY_WRITE]: {
    size: [35, 35],
    run: (chip, d) => {
      const slot = pairingSlot(chip, d, 'CFG_UAP_PAIRING_KEY_WRITE', 'Pairing_Key_Write');
      const p = chip.memory.pairing[slot];
      if (p.state !== 'blank') fail(`pairing slot ${slot} is ${p.state}`);
      chip.memory.pairing[slot] = { state: 'written', value: d.slice(3, 35) };
      return none;
    },
  },
  [L3_CMD.PAIRING_KEY_READ]: {
    size: [2, 2],
    run: (chip, d) => {
      const slot = pairingSlot(chip, d, 'CFG_UAP_PAIRING_KEY_READ', 'Pairing_Key_Read');
      const p = chip.memory.pairing[slot];
      if (p.state === 'blank') throw new L3Fail(L3_RESULT.SLOT_EMPTY, `pairing slot ${slot} is empty`);
      if (p.state === 'invalid') throw new L3Fail(L3_RESULT.SLOT_INVALID, `pairing slot ${slot} is invalidated`);
      return pad3(p.value);
    },
  },
  [L3_CMD.PAIRING_KEY_INVALIDATE]: {
    size: [2, 2],
    run: (chip, d) => {
      const slot = pairingSlot(chip, d, 'CFG_UAP_PAIRING_KEY_INVALIDATE', 'Pairing_Key_Invalidate');
      if (chip.memory.pairing[slot].state === 'blank') fail(`pairing slot ${slot} is blank`);
      chip.memory.pairing[slot] = { state: 'invalid', value: new Uint8Array(0) };
      return none;
    },
  },
  [L3_CMD.R_CONFIG_WRITE]: {
    size: [7, 7],
    run: (chip, d) => {
      chip.requireAccess('CFG_UAP_R_CONFIG_WRITE_ERASE', 0, 'R_Config_Write');
      const address = u16(d);
      const c = ConfigSpace.check(address);
      if (c === 'range') unauthorized(`address 0x${address.toString(16)} out of range`);
      if (c === 'align') fail(`address 0x${address.toString(16)} not word-aligned`);
      if (!chip.memory.rConfig.isErased(address)) fail(`R-config 0x${address.toString(16)} already written; erase first`);
      chip.memory.rConfig.write(address, readU32le(d, 3));
      return none;
    },
  },
  [L3_CMD.R_CONFIG_READ]: {
    size: [2, 2],
    run: (chip, d) => {
      const address = u16(d);
      configAccess(chip, address, 'CFG_UAP_R_CONFIG_READ', 'R_Config_Read');
      const c = ConfigSpace.check(address);
      if (c === 'range') unauthorized(`address 0x${address.toString(16)} out of range`);
      if (c === 'align') fail(`address 0x${address.toString(16)} not word-aligned`);
      return pad3(u32le(chip.memory.rConfig.read(address)));
    },
  },
  [L3_CMD.R_CONFIG_ERASE]: {
    size: [0, 0],
    run: (chip) => (chip.requireAccess('CFG_UAP_R_CONFIG_WRITE_ERASE', 0, 'R_Config_Erase'), chip.memory.rConfig.erase(), none),
  },
  [L3_CMD.I_CONFIG_WRITE]: {
    size: [3, 3],
    run: (chip, d) => {
      const address = u16(d);
      configAccess(chip, address, 'CFG_UAP_I_CONFIG_WRITE', 'I_Config_Write');
      const c = ConfigSpace.check(address);
      if (c === 'range') unauthorized(`address 0x${address.toString(16)} out of range`);
      if (c === 'align') fail(`address 0x${address.toString(16)} not word-aligned`);
      const bit = d[2];
      if (bit > 31) fail(`bit index ${bit} out of 0..31`);
      chip.memory.iConfig.write(address, chip.memory.iConfig.read(address) & ~(1 << bit));
      return none;
    },
  },
  [L3_CMD.I_CONFIG_READ]: {
    size: [2, 2],
    run: (chip, d) => {
      const address = u16(d);
      configAccess(chip, address, 'CFG_UAP_I_CONFIG_READ', 'I_Config_Read');
      const c = ConfigSpace.check(address);
      if (c === 'range') unauthorized(`address 0x${address.toString(16)} out of range`);
      if (c === 'align') fail(`address 0x${address.toString(16)} not word-aligned`);
      return pad3(u32le(chip.memory.iConfig.read(address)));
    },
  },
  [L3_CMD.R_MEM_DATA_WRITE]: {
    size: (chip) => [4, 3 + chip.userDataSlotSize],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.USER_DATA_SLOTS) unauthorized(`user data slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_R_MEM_DATA_WRITE', slot, 128, 'R_Mem_Data_Write');
      const s = chip.memory.userData[slot];
      if (!s.free) throw new L3Fail(L3_RESULT.SLOT_NOT_EMPTY, `user data slot ${slot} already written`);
      chip.memory.userData[slot] = { free: false, value: d.slice(3) };
      return none;
    },
  },
  [L3_CMD.R_MEM_DATA_READ]: {
    size: [2, 2],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.USER_DATA_SLOTS) unauthorized(`user data slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_R_MEM_DATA_READ', slot, 128, 'R_Mem_Data_Read');
      const s = chip.memory.userData[slot];
      return pad3(s.free ? none : s.value);
    },
  },
  [L3_CMD.R_MEM_DATA_ERASE]: {
    size: [2, 2],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.USER_DATA_SLOTS) unauthorized(`user data slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_R_MEM_DATA_ERASE', slot, 128, 'R_Mem_Data_Erase');
      chip.memory.userData[slot] = { free: true, value: none };
      return none;
    },
  },
  [L3_CMD.RANDOM_VALUE_GET]: {
    size: [1, 1],
    run: (chip, d) => (chip.requireAccess('CFG_UAP_RANDOM_VALUE_GET', 0, 'Random_Value_Get'), pad3(chip.random(d[0]))),
  },
  [L3_CMD.ECC_KEY_GENERATE]: {
    size: [3, 3],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.ECC_SLOTS) unauthorized(`ECC slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_ECC_KEY_GENERATE', slot, 8, 'ECC_Key_Generate');
      const curve = d[2];
      if (curve !== 1 && curve !== 2) fail(`curve 0x${curve.toString(16)} unknown`);
      if (chip.memory.ecc[slot]) fail(`ECC slot ${slot} already holds a key`);
      chip.memory.ecc[slot] = curve === 1 ? p256Setup(chip.random(32), 1) : ed25519Setup(chip.random(32), 1);
      return none;
    },
  },
  [L3_CMD.ECC_KEY_STORE]: {
    size: [47, 47],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.ECC_SLOTS) unauthorized(`ECC slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_ECC_KEY_STORE', slot, 8, 'ECC_Key_Store');
      const curve = d[2];
      if (curve !== 1 && curve !== 2) fail(`curve 0x${curve.toString(16)} unknown`);
      if (chip.memory.ecc[slot]) fail(`ECC slot ${slot} already holds a key`);
      const k = d.slice(15, 47);
      if (curve === 1 && !p256ValidPrivate(k)) fail('P-256 private key out of range 1..n-1');
      chip.memory.ecc[slot] = curve === 1 ? p256Setup(k, 2) : ed25519Setup(k, 2);
      return none;
    },
  },
  [L3_CMD.ECC_KEY_READ]: {
    size: [2, 2],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.ECC_SLOTS) unauthorized(`ECC slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_ECC_KEY_READ', slot, 8, 'ECC_Key_Read');
      const k = eccKey(chip, slot);
      return concat(Uint8Array.of(k.curve === 'P256' ? 1 : 2, k.origin), new Uint8Array(13), k.publicKey);
    },
  },
  [L3_CMD.ECC_KEY_ERASE]: {
    size: [2, 2],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.ECC_SLOTS) unauthorized(`ECC slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_ECC_KEY_ERASE', slot, 8, 'ECC_Key_Erase');
      chip.memory.ecc[slot] = undefined;
      return none;
    },
  },
  [L3_CMD.ECDSA_SIGN]: {
    size: [47, 47],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.ECC_SLOTS) unauthorized(`ECC slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_ECDSA_SIGN', slot, 8, 'ECDSA_Sign');
      const k = eccKey(chip, slot);
      if (k.curve !== 'P256') throw new L3Fail(L3_RESULT.INVALID_KEY, `ECC slot ${slot} holds an Ed25519 key`);
      const sig = ecdsaSign(k, d.slice(15, 47), ...chip.sessionBinding());
      return concat(new Uint8Array(15), sig.r, sig.s);
    },
  },
  [L3_CMD.EDDSA_SIGN]: {
    size: [15, 15 + LIMITS.EDDSA_MSG_MAX],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.ECC_SLOTS) unauthorized(`ECC slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_EDDSA_SIGN', slot, 8, 'EDDSA_Sign');
      const k = eccKey(chip, slot);
      if (k.curve !== 'ED25519') throw new L3Fail(L3_RESULT.INVALID_KEY, `ECC slot ${slot} holds a P-256 key`);
      const sig = eddsaSign(k, d.slice(15), ...chip.sessionBinding());
      return concat(new Uint8Array(15), sig.r, sig.s);
    },
  },
  [L3_CMD.MCOUNTER_INIT]: {
    size: [7, 7],
    run: (chip, d) => {
      const i = u16(d);
      if (i >= LIMITS.MCOUNTERS) unauthorized(`counter ${i} out of range`);
      chip.requireRangedAccess('CFG_UAP_MCOUNTER_INIT', i, 4, 'MCounter_Init');
      const v = readU32le(d, 3);
      if (v > LIMITS.MCOUNTER_MAX) fail(`initial value 0x${v.toString(16)} above 0xfffffffe`);
      chip.memory.mcounters[i] = v;
      return none;
    },
  },
  [L3_CMD.MCOUNTER_UPDATE]: {
    size: [2, 2],
    run: (chip, d) => {
      const i = u16(d);
      if (i >= LIMITS.MCOUNTERS) unauthorized(`counter ${i} out of range`);
      chip.requireRangedAccess('CFG_UAP_MCOUNTER_UPDATE', i, 4, 'MCounter_Update');
      const v = chip.memory.mcounters[i];
      if (v === MCOUNTER_UNSET) throw new L3Fail(L3_RESULT.COUNTER_INVALID, `counter ${i} not initialized`);
      if (v === 0) throw new L3Fail(L3_RESULT.UPDATE_ERR, `counter ${i} is at 0`);
      chip.memory.mcounters[i] = v - 1;
      return none;
    },
  },
  [L3_CMD.MCOUNTER_GET]: {
    size: [2, 2],
    run: (chip, d) => {
      const i = u16(d);
      if (i >= LIMITS.MCOUNTERS) unauthorized(`counter ${i} out of range`);
      chip.requireRangedAccess('CFG_UAP_MCOUNTER_GET', i, 4, 'MCounter_Get');
      const v = chip.memory.mcounters[i];
      if (v === MCOUNTER_UNSET) throw new L3Fail(L3_RESULT.COUNTER_INVALID, `counter ${i} not initialized`);
      return pad3(u32le(v));
    },
  },
  [L3_CMD.MAC_AND_DESTROY]: {
    size: [35, 35],
    run: (chip, d) => {
      const slot = u16(d);
      if (slot >= LIMITS.MAC_AND_DESTROY_SLOTS) unauthorized(`MAC-and-Destroy slot ${slot} out of range`);
      chip.requireRangedAccess('CFG_UAP_MAC_AND_DESTROY', slot, 32, 'MAC_And_Destroy');
      const kmac = (key: Uint8Array, msg: Uint8Array) => kmac256(key, msg, { dkLen: 32, personalization: MACANDD_CUSTOM });
      const slotByte = Uint8Array.of(slot & 0xff);
      const old = chip.memory.macAndDestroySlots[slot];
      const fresh = kmac(chip.memory.macAndDestroyKeys[1], concat(d.slice(3, 35), slotByte));
      chip.memory.macAndDestroySlots[slot] = fresh;
      return pad3(kmac(chip.memory.macAndDestroyKeys[2], concat(old, fresh, slotByte)));
    },
  },
};

// ---- initial partitions from the configuration -----------------------------------------------------

function loadPartitions(m: ChipMemory, cfg: ModelConfig): void {
  const raw = cfg.raw;
  for (const [k, v] of Object.entries(raw.i_pairing_keys ?? {})) {
    const i = Number(k);
    if (i > 3) throw new Error(`i_pairing_keys.${k}: slot out of range 0..3`);
    const state = v.state ?? (v.value ? 'written' : 'blank');
    m.pairing[i] = { state, value: state === 'written' ? (v.value ?? new Uint8Array(32)) : new Uint8Array(0) };
  }
  for (const [space, obj] of [
    [m.rConfig, raw.r_config],
    [m.iConfig, raw.i_config],
  ] as const) {
    for (const [name, value] of Object.entries(obj ?? {})) space.write(REGISTER_BY_NAME.get(name.toUpperCase())!.address, value);
  }
  for (const [k, v] of Object.entries(raw.r_user_data ?? {})) m.userData[Number(k)] = { free: v.free ?? false, value: v.value };
  for (const [k, v] of Object.entries(raw.r_mcounters ?? {})) m.mcounters[Number(k)] = v.value;
  for (const [k, v] of Object.entries(raw.r_macandd_data?.slots ?? {})) m.macAndDestroySlots[Number(k)] = v.value;
  for (const [k, v] of Object.entries(raw.r_macandd_data?.keys ?? {})) m.macAndDestroyKeys[Number(k)] = v.value;
  for (const [k, v] of Object.entries(raw.r_ecc_keys ?? {})) {
    m.ecc[Number(k)] = 'd' in v
      ? { curve: 'P256', origin: v.origin, secret: v.d, publicKey: v.a, aux: v.w }
      : { curve: 'ED25519', origin: v.origin, secret: new Uint8Array(0), publicKey: v.a, aux: v.s, prefix: v.prefix };
  }
}

