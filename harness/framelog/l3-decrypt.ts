/**
 * L3 inside a frame log, decrypted with the session keys the log recorded (TROPIC_RECORD_SECRETS=1
 * only): what `decode` shows for encrypted exchanges the driver did not annotate (a log from a rig,
 * ts-tvl, libtropic or hand-sealed commands). It yields command names with their public arguments
 * (the driver's own classification) and result codes with data lengths; never plaintext bytes.
 *
 * An L3 packet is SIZE (u16 LE) || CIPHERTEXT || TAG, carried in one or more Encrypted_Cmd request
 * chunks (commands) or RES_CONT…RES_OK response frames (results); it is complete once SIZE+18 bytes
 * arrived. Both directions count nonces from 0 per session. A host may skip nonces (edge-case specs
 * do), so the next few nonces are tried; the AES-GCM tag rules out a wrong guess.
 */
import { fromHex } from '../bytes.js';
import { classifyL3 } from '../driver/operations.js';
import { L3_CMD, commandName, resultName } from '../protocol/l3.js';
import { L3PacketAssembler, aesGcmDecrypt, nonceBytes } from '../protocol/session.js';
import type { SessionKeysAnnotation } from './frame-log.js';

/** How many nonces past the expected one are tried before a packet is called undecryptable. */
export const NONCE_LOOKAHEAD = 8;

/**
 * Public arguments of the read commands the driver's classification leaves without (it describes
 * what a command changes): the u16 LE slot, index or address after CMD_ID, or Random_Value_Get's count.
 */
const READ_ARGUMENT: Record<number, string> = {
  [L3_CMD.PAIRING_KEY_READ]: 'slot', [L3_CMD.R_MEM_DATA_READ]: 'slot', [L3_CMD.ECC_KEY_READ]: 'slot', [L3_CMD.ECDSA_SIGN]: 'slot',
  [L3_CMD.EDDSA_SIGN]: 'slot', [L3_CMD.MCOUNTER_GET]: 'index', [L3_CMD.R_CONFIG_READ]: 'address', [L3_CMD.I_CONFIG_READ]: 'address',
};

function publicArgs(plain: Uint8Array): string {
  const classified = classifyL3(plain).args;
  if (classified) return classified;
  const id = plain[0] ?? 0;
  if (id === L3_CMD.RANDOM_VALUE_GET && plain.length >= 2) return `count ${plain[1]}`;
  const what = READ_ARGUMENT[id];
  if (!what || plain.length < 3) return '';
  const v = plain[1] | (plain[2] << 8);
  return `${what} ${what === 'address' ? `0x${v.toString(16)}` : v}`;
}

export type DecryptedL3 =
  | { kind: 'command'; id: number; name: string; args: string; nonce: number }
  | { kind: 'result'; result: number; name: string; length: number; command?: string; nonce: number }
  | { kind: 'undecryptable'; direction: 'command' | 'result'; nonce: number };

export class L3Decryptor {
  readonly slot: number;
  private readonly kCmd: Uint8Array;
  private readonly kRes: Uint8Array;
  private cmdNonce = 0;
  private resNonce = 0;
  private readonly commands = new L3PacketAssembler();
  private readonly results = new L3PacketAssembler();
  private lastCommand?: string;

  constructor(keys: Pick<SessionKeysAnnotation, 'slot' | 'kCmd' | 'kRes'>) {
    this.slot = keys.slot;
    this.kCmd = fromHex(keys.kCmd);
    this.kRes = fromHex(keys.kRes);
  }

  /** The data of one Encrypted_Cmd request frame; the decrypted command once its packet is complete. */
  commandChunk(data: Uint8Array): DecryptedL3 | undefined {
    const whole = this.commands.push(data);
    if (!whole) return undefined;
    const opened = this.open(this.kCmd, this.cmdNonce, whole.packet);
    if (!opened) {
      this.lastCommand = undefined;
      return { kind: 'undecryptable', direction: 'command', nonce: this.cmdNonce++ };
    }
    this.cmdNonce = opened.nonce + 1;
    const plain = opened.plain;
    this.lastCommand = commandName(plain[0] ?? 0);
    return { kind: 'command', id: plain[0] ?? 0, name: this.lastCommand, args: publicArgs(plain), nonce: opened.nonce };
  }

  /** The data of one RES_CONT/RES_OK response frame; the decrypted result once its packet is complete. */
  resultChunk(data: Uint8Array): DecryptedL3 | undefined {
    const whole = this.results.push(data);
    if (!whole) return undefined;
    const opened = this.open(this.kRes, this.resNonce, whole.packet);
    if (!opened) return { kind: 'undecryptable', direction: 'result', nonce: this.resNonce++ };
    this.resNonce = opened.nonce + 1;
    const result = opened.plain[0] ?? 0;
    return { kind: 'result', result, name: resultName(result), length: Math.max(0, opened.plain.length - 1), command: this.lastCommand, nonce: opened.nonce };
  }

  private open(key: Uint8Array, from: number, packet: Uint8Array): { plain: Uint8Array; nonce: number } | undefined {
    const sealed = packet.subarray(2);
    for (let n = from; n <= from + NONCE_LOOKAHEAD && n <= 0xffffffff; n++) {
      const plain = aesGcmDecrypt(key, nonceBytes(n), sealed);
      if (plain) return { plain, nonce: n };
    }
    return undefined;
  }
}
