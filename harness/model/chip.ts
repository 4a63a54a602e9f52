/**
 * The embedded TROPIC01 model: L2 requests and L3 commands of User API v1.4.0 with their error
 * statuses and result codes, user access privileges, and the partitions' rules. Behaviour follows
 * ts-tvl where it defines it; where ts-tvl differs from the User API or the datasheet the documents
 * win and the README lists the difference. The L2 handlers are in l2-handlers.ts, the L3 command
 * table in l3/, the initial memories in partitions.ts.
 */
import { randomBytes } from 'node:crypto';
import { concat, u32le } from '../bytes.js';
import { L2_REQ, L2_REQ_LEN, L2_STATUS, encodeResponse, l2FrameCrcOk, requestName } from '../protocol/l2.js';
import { LIMITS } from '../protocol/l3.js';
import { L3PacketAssembler, SessionCipher, TAG_LEN, frameL3 } from '../protocol/session.js';
import { REGISTER_BY_NAME } from '../protocol/config-objects.js';
import { decodeFwVersion } from '../protocol/chip-id.js';
import { ChipMemory, ConfigSpace } from './chip-state.js';
import { SpiFsm, type RequestProcessor } from './spi-fsm.js';
import { L2_HANDLERS } from './l2-handlers.js';
import { runL3Command } from './l3/table.js';
import { unauthorized } from './l3/command.js';
import { loadPartitions } from './partitions.js';
import { ModelFaults } from './faults.js';
import type { ModelConfig } from './model-config.js';
import type { ModelLog } from './log.js';

export type { ModelLog } from './log.js';
export { formatLogLine } from './log.js';

/** Response chunk size for encrypted results (ts-tvl: 128 bytes). */
const RESULT_CHUNK = 128;

export class TropicModel implements RequestProcessor {
  memory = new ChipMemory();
  readonly spi: SpiFsm;
  cipher?: SessionCipher;
  pairingSlot = -1;
  private readonly cmdPacket = new L3PacketAssembler();
  private effective?: ConfigSpace;
  readonly stats = { requests: 0, commands: 0 };

  /** `faults` is shared with the server so a fault outlives chip rebuilds; a private set otherwise. */
  constructor(
    readonly config: ModelConfig,
    readonly log: ModelLog = () => {},
    readonly faults: ModelFaults = new ModelFaults(config.faults),
  ) {
    this.spi = new SpiFsm(this, config.busyIter ?? [false], config.initByte, faults, log);
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
    this.cmdPacket.reset();
  }

  /** Startup_Req: session, buffers and the effective configuration are gone; chip select is the host's. */
  restart(): void {
    this.invalidateSession();
    this.resetCommandBuffer();
    this.spi.reset();
    this.effective = undefined;
  }

  /** POWER_OFF: as a restart, and the SPI bus starts over (chip select high); Start-up Mode ends. */
  powerCycle(): void {
    this.restart();
    this.spi.powerOff();
    this.faults.endStartupMode();
  }

  /** UAP check: the 8-bit field at `byte` of CO `register` must grant the session's pairing slot. */
  requireAccess(register: string, byte: number, what: string): void {
    if (!this.config.activateEncryption) return;
    const reg = REGISTER_BY_NAME.get(register)!;
    const field = (this.effectiveConfig.read(reg.address) >>> (8 * byte)) & 0xff;
    if (!(field & (1 << this.pairingSlot))) unauthorized(`pairing slot ${this.pairingSlot} lacks ${register}[${byte}] for ${what}`);
  }

  // ---- L2 ----------------------------------------------------------------------------------------

  process(frame: Uint8Array): Uint8Array[] | 'resend' {
    this.stats.requests++;
    if (this.faults.settings.alarm) {
      // Alarm Mode (datasheet 6.5): requests are ignored and the session is gone.
      this.log('info', `fault alarm: L2 request ${requestName(frame[0])} ignored`);
      this.invalidateSession();
      return [];
    }
    const id = frame[0];
    // The chip reads REQ_ID, REQ_LEN, REQ_LEN data bytes and the CRC: a transfer too short for a CRC,
    // or whose REQ_LEN disagrees with it, fails the CRC check and is ignored (datasheet 7.3.3).
    if (!l2FrameCrcOk(frame)) {
      this.log('info', `L2 ${requestName(id)}: CRC or length mismatch (REQ_LEN=${frame[1] ?? '-'}, transfer ${frame.length} bytes); answered CRC_ERR`);
      return [encodeResponse(L2_STATUS.CRC_ERR)];
    }
    const handler = L2_HANDLERS[id];
    if (!handler) {
      this.log('info', `L2 request 0x${id.toString(16)} unknown`);
      return [encodeResponse(L2_STATUS.UNKNOWN_REQ)];
    }
    const data = frame.slice(2, frame.length - 2);
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
    const whole = this.cmdPacket.push(chunk);
    if (!whole) return [encodeResponse(L2_STATUS.REQ_CONT)];
    if (whole.extra > 0) this.log('info', `L3 chunks carry ${whole.extra} bytes beyond the packet; ignored`);
    const sealed = whole.packet.subarray(2);
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
    return runL3Command(this, plain);
  }

  /** Session binding for signatures: handshake hash and the current result nonce (4 bytes LE). */
  sessionBinding(): [Uint8Array, Uint8Array] {
    return [this.cipher?.keys.handshakeHash ?? new Uint8Array(0), u32le(this.cipher?.resNonce ?? 0)];
  }
}
