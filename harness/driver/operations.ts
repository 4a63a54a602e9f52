/**
 * The one table of what each TROPIC01 operation does to the chip, by effect class:
 * - `read-only`: changes no persistent chip state (sessions, sleep and a normal reboot included);
 * - `reversible-with-restore`: changes persistent state that the harness can put back (a snapshot
 *   taken before, or a cleanup after): R-config, User Data (R-memory) slots, ECC key slots,
 *   maintenance mode;
 * - `irreversible`: the User API gives no way back (I-config bits only clear, pairing keys are written
 *   once and invalidated for good, monotonic counters never return to uninitialized or go up,
 *   MAC-and-Destroy slots are consumed), or the change locks the harness out of its own restore.
 *
 * The driver classifies every L3 command from its plaintext (typed methods, `l3Raw`, and commands
 * sealed by hand with the session cipher alike) and every Startup_Req, so the policy is checked on
 * what is actually sent, after the arguments were validated. Commands outside the User API's set are
 * `read-only`: the User API has the chip answer them INVALID_CMD without executing anything.
 */
import { readU16le, readU32le } from '../bytes.js';
import { L3_CMD, commandName } from '../protocol/l3.js';
import { STARTUP_ID } from '../protocol/l2.js';
import { REGISTER_BY_NAME } from '../protocol/config-objects.js';

/** Annotation (fixtures/policy.ts) listing the state-changing operations a test's drivers sent, one `describeRecord` line each. */
export const OPERATIONS_ANNOTATION = 'driver-operations';

export type EffectClass = 'read-only' | 'reversible-with-restore' | 'irreversible';
export const EFFECT_CLASSES: readonly EffectClass[] = ['read-only', 'reversible-with-restore', 'irreversible'];

/** The persistent state an operation changes, so a restore hook knows what to undo. */
export type Touched =
  | { kind: 'ecc-slot'; slot: number }
  | { kind: 'r-mem-slot'; slot: number }
  | { kind: 'r-config' }
  | { kind: 'i-config'; address: number }
  | { kind: 'pairing-slot'; slot: number }
  | { kind: 'mcounter'; index: number }
  | { kind: 'mac-and-destroy-slot'; slot: number }
  | { kind: 'startup-mode' };

/** One operation as the driver is about to send it. */
export interface Operation {
  /** User API name, e.g. `ECC_Key_Generate`. */
  name: string;
  effect: EffectClass;
  /** Why it has this effect class (shown in refusals and reports). */
  why: string;
  /** Public arguments, e.g. `slot 2` (never key material). */
  args: string;
  touches?: Touched;
  /** The L3 command ID, when it is one. */
  commandId?: number;
}

/** What the driver did with an operation: sent and answered, refused by the policy, or sent without an answer. */
export interface OperationRecord extends Operation {
  /** L3 result name (`OK`, `UNAUTHORIZED`, ...), `REQ_OK`, `refused`, or `no answer`. */
  outcome: string;
  /** Sealed by the caller with the session cipher instead of sent through the driver: no restore tracking. */
  handSealed?: boolean;
}

interface Rule {
  name: string;
  effect: EffectClass;
  why: string;
  /** Arguments and touched state from CMD_DATA (after CMD_ID); may raise the effect class. */
  decode?: (d: Uint8Array, ctx: ClassifyContext) => { args: string; touches?: Touched; effect?: EffectClass; why?: string };
}

export interface ClassifyContext {
  /** The pairing slot of the current session (restore runs on it). */
  sessionSlot?: number;
}

const u16 = (d: Uint8Array, off = 0): number | undefined => (d.length >= off + 2 ? readU16le(d, off) : undefined);
const hex = (n: number | undefined): string => (n === undefined ? '?' : `0x${n.toString(16)}`);

const READ = (name: string, what: string): Rule => ({ name, effect: 'read-only', why: `reads ${what}` });

const R_CONFIG_WRITE_ERASE = REGISTER_BY_NAME.get('CFG_UAP_R_CONFIG_WRITE_ERASE')!.address;

/** Every L3 command of User API v1.4.0 4.2, by CMD_ID. */
export const L3_OPERATIONS: Readonly<Record<number, Rule>> = {
  [L3_CMD.PING]: { name: 'Ping', effect: 'read-only', why: 'echoes its data' },
  [L3_CMD.PAIRING_KEY_WRITE]: {
    name: 'Pairing_Key_Write', effect: 'irreversible', why: 'a pairing key slot is written once; it can only be invalidated, never emptied',
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}`, touches: { kind: 'pairing-slot', slot: u16(d) ?? -1 } }),
  },
  [L3_CMD.PAIRING_KEY_READ]: READ('Pairing_Key_Read', 'a pairing public key'),
  [L3_CMD.PAIRING_KEY_INVALIDATE]: {
    name: 'Pairing_Key_Invalidate', effect: 'irreversible', why: 'an invalidated pairing key slot can never be written again',
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}`, touches: { kind: 'pairing-slot', slot: u16(d) ?? -1 } }),
  },
  [L3_CMD.R_CONFIG_WRITE]: {
    name: 'R_Config_Write', effect: 'reversible-with-restore', why: 'R-config is restored from a snapshot (erase, write back, reboot)',
    decode: (d, ctx) => {
      const address = u16(d);
      const value = d.length >= 7 ? readU32le(d, 3) : undefined;
      const args = `address ${hex(address)}, value ${hex(value)}`;
      // Clearing the session slot's R_Config_Write/Erase privilege takes (after a reboot) the only
      // way back away from the slot that would restore it.
      if (address === R_CONFIG_WRITE_ERASE && value !== undefined && ctx.sessionSlot !== undefined && (value & (1 << ctx.sessionSlot)) === 0) {
        return { args, touches: { kind: 'r-config' }, effect: 'irreversible', why: `clears pairing slot ${ctx.sessionSlot}'s CFG_UAP_R_CONFIG_WRITE_ERASE privilege: after a reboot that slot can no longer restore R-config` };
      }
      return { args, touches: { kind: 'r-config' } };
    },
  },
  [L3_CMD.R_CONFIG_READ]: READ('R_Config_Read', 'an R-config CO'),
  [L3_CMD.R_CONFIG_ERASE]: {
    name: 'R_Config_Erase', effect: 'reversible-with-restore', why: 'R-config is restored from a snapshot (erase, write back, reboot)',
    decode: () => ({ args: '', touches: { kind: 'r-config' } }),
  },
  [L3_CMD.I_CONFIG_WRITE]: {
    name: 'I_Config_Write', effect: 'irreversible', why: 'I-config bits only go from 1 to 0',
    decode: (d) => ({ args: `address ${hex(u16(d))}, bit ${d[2] ?? '?'}`, touches: { kind: 'i-config', address: u16(d) ?? -1 } }),
  },
  [L3_CMD.I_CONFIG_READ]: READ('I_Config_Read', 'an I-config CO'),
  [L3_CMD.R_MEM_DATA_WRITE]: {
    name: 'R_Mem_Data_Write', effect: 'reversible-with-restore', why: 'a User Data slot written into an empty slot is erased afterwards',
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}, ${Math.max(0, d.length - 3)} B`, touches: { kind: 'r-mem-slot', slot: u16(d) ?? -1 } }),
  },
  [L3_CMD.R_MEM_DATA_READ]: READ('R_Mem_Data_Read', 'a User Data slot'),
  [L3_CMD.R_MEM_DATA_ERASE]: {
    name: 'R_Mem_Data_Erase', effect: 'reversible-with-restore', why: "a User Data slot's content is read before the erase and written back afterwards",
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}`, touches: { kind: 'r-mem-slot', slot: u16(d) ?? -1 } }),
  },
  [L3_CMD.RANDOM_VALUE_GET]: READ('Random_Value_Get', 'random bytes'),
  [L3_CMD.ECC_KEY_GENERATE]: {
    name: 'ECC_Key_Generate', effect: 'reversible-with-restore', why: 'a key generated into an empty slot is erased afterwards',
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}`, touches: { kind: 'ecc-slot', slot: u16(d) ?? -1 } }),
  },
  [L3_CMD.ECC_KEY_STORE]: {
    name: 'ECC_Key_Store', effect: 'reversible-with-restore', why: 'a key stored into an empty slot is erased afterwards',
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}`, touches: { kind: 'ecc-slot', slot: u16(d) ?? -1 } }),
  },
  [L3_CMD.ECC_KEY_READ]: READ('ECC_Key_Read', 'an ECC public key'),
  [L3_CMD.ECC_KEY_ERASE]: {
    name: 'ECC_Key_Erase', effect: 'reversible-with-restore', why: 'only a key the test itself generated or stored may be erased (a private key cannot be put back)',
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}`, touches: { kind: 'ecc-slot', slot: u16(d) ?? -1 } }),
  },
  [L3_CMD.ECDSA_SIGN]: READ('ECDSA_Sign', 'a signature with a stored key'),
  [L3_CMD.EDDSA_SIGN]: READ('EDDSA_Sign', 'a signature with a stored key'),
  [L3_CMD.MCOUNTER_INIT]: {
    name: 'MCounter_Init', effect: 'irreversible', why: 'an initialized monotonic counter never returns to uninitialized',
    decode: (d) => ({ args: `index ${u16(d) ?? '?'}`, touches: { kind: 'mcounter', index: u16(d) ?? -1 } }),
  },
  [L3_CMD.MCOUNTER_UPDATE]: {
    name: 'MCounter_Update', effect: 'irreversible', why: 'a monotonic counter only counts down',
    decode: (d) => ({ args: `index ${u16(d) ?? '?'}`, touches: { kind: 'mcounter', index: u16(d) ?? -1 } }),
  },
  [L3_CMD.MCOUNTER_GET]: READ('MCounter_Get', 'a monotonic counter'),
  [L3_CMD.MAC_AND_DESTROY]: {
    name: 'MAC_And_Destroy', effect: 'irreversible', why: 'MAC-and-Destroy consumes its slot (the slot is destroyed and rewritten)',
    decode: (d) => ({ args: `slot ${u16(d) ?? '?'}`, touches: { kind: 'mac-and-destroy-slot', slot: u16(d) ?? -1 } }),
  },
};

/** Classify an L3 plaintext (CMD_ID || CMD_DATA) about to be sent. */
export function classifyL3(plaintext: Uint8Array, ctx: ClassifyContext = {}): Operation {
  const id = plaintext[0];
  const rule = id === undefined ? undefined : L3_OPERATIONS[id];
  if (!rule) {
    return { name: commandName(id ?? 0), effect: 'read-only', why: 'not a User API command: answered INVALID_CMD without being executed', args: `${Math.max(0, plaintext.length - 1)} B`, commandId: id };
  }
  const d = plaintext.subarray(1);
  const decoded = rule.decode?.(d, ctx) ?? { args: '' };
  return { name: rule.name, effect: decoded.effect ?? rule.effect, why: decoded.why ?? rule.why, args: decoded.args, touches: decoded.touches, commandId: id };
}

/** Classify Startup_Req: MAINTENANCE_REBOOT leaves the application until a normal reboot. */
export function classifyStartup(mode: number): Operation {
  if (mode === STARTUP_ID.MAINTENANCE_REBOOT) {
    return { name: 'Startup_Req', effect: 'reversible-with-restore', why: 'the chip stays in maintenance mode until a normal reboot', args: 'MAINTENANCE_REBOOT', touches: { kind: 'startup-mode' } };
  }
  return { name: 'Startup_Req', effect: 'read-only', why: 'a reboot keeps all persistent state', args: mode === STARTUP_ID.REBOOT ? 'REBOOT' : `mode 0x${mode.toString(16)}` };
}

/** The table as rows (for documentation and reports). */
export function operationTable(): { commandId: number; name: string; effect: EffectClass; why: string }[] {
  return Object.entries(L3_OPERATIONS).map(([id, r]) => ({ commandId: Number(id), name: r.name, effect: r.effect, why: r.why }));
}

/** What the User API makes irreversible on a real chip: what a restore can never put back. */
export const NOT_RESTORABLE = [
  'I-config bits cleared by I_Config_Write',
  'pairing key slots written by Pairing_Key_Write or invalidated by Pairing_Key_Invalidate',
  'monotonic counters initialized by MCounter_Init or decremented by MCounter_Update',
  'MAC-and-Destroy slots consumed by MAC_And_Destroy',
  'R-config with pairing slot S\'s CFG_UAP_R_CONFIG_WRITE_ERASE bit cleared (S can no longer restore it)',
  'ECC keys present before the test and erased by it (their private keys)',
] as const;

/** One line per operation for an annotation: `ECC_Key_Generate(slot 2) reversible-with-restore → OK`. */
export function describeRecord(r: OperationRecord): string {
  return `${r.name}(${r.args}) ${r.effect} → ${r.outcome}${r.handSealed ? ' [hand-sealed]' : ''}`;
}
