/**
 * The exploration's commands as plain data (a `Step`): every L2 request and L3 command of User API
 * v1.4.0, with arguments drawn around their boundaries. Steps are JSON, so a minimal sequence can be
 * printed, stored and turned into a regression spec; an L3 step carries its plaintext (CMD_ID ||
 * CMD_DATA) already encoded, so what a spec replays is byte for byte what exploration sent.
 */
import fc from 'fast-check';
import { hex, u16le, u32le } from '../bytes.js';
import { GET_INFO_OBJECT, L2_REQ, SLEEP_KIND, STARTUP_ID, requestName } from '../protocol/l2.js';
import { L3_CMD, LIMITS, commandName } from '../protocol/l3.js';
import { CONFIG_REGISTERS, REGISTER_BY_NAME } from '../protocol/config-objects.js';
import { L3_OPERATIONS, classifyL3 } from '../driver/operations.js';

/** How a step damages what it sends (at a low rate): the L2 CRC, REQ_LEN, or the L3 nonce/tag. */
export type L2Corruption = 'crc' | 'len+1' | 'len-1';
export type L3Corruption = 'nonce-skip' | 'nonce-reuse' | 'tag';

export type Step =
  | { kind: 'get-info'; object: number; block: number }
  /** Handshake_Req with the pairing key on `slot` (4 = one past the last); `zero`: an all-zero ephemeral key. */
  | { kind: 'handshake'; slot: number; ephemeral: 'random' | 'zero' }
  | { kind: 'abort' }
  | { kind: 'resend' }
  | { kind: 'sleep'; mode: number }
  | { kind: 'startup'; mode: number }
  | { kind: 'get-log' }
  /** Any L2 request as a raw frame, optionally corrupted. */
  | { kind: 'raw-l2'; id: number; data: string; corrupt?: L2Corruption }
  /** An L3 command (plaintext hex) through the session, in chunks of `chunk` bytes (252 when unset). */
  | { kind: 'l3'; plain: string; chunk?: number; corrupt?: L3Corruption };

/** A step's L3 command name, or its L2 request name. */
export function stepName(s: Step): string {
  switch (s.kind) {
    case 'l3':
      return commandName(Number.parseInt(s.plain.slice(0, 2), 16));
    case 'raw-l2':
      return requestName(s.id);
    case 'get-info':
      return 'GET_INFO';
    case 'handshake':
      return 'HANDSHAKE';
    case 'abort':
      return 'ENCRYPTED_SESSION_ABT';
    case 'resend':
      return 'RESEND';
    case 'sleep':
      return 'SLEEP';
    case 'startup':
      return 'STARTUP';
    case 'get-log':
      return 'GET_LOG';
  }
}

/** One line for people: `L3 ECC_Key_Generate(slot 31) chunk 17`, `L2 Handshake_Req(slot 0)`. */
export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'l3': {
      const plain = Buffer.from(s.plain, 'hex');
      const op = classifyL3(plain);
      const known = plain[0] !== undefined && L3_OPERATIONS[plain[0]] !== undefined;
      // Read-only commands carry no decoded arguments in the operation table: show their first field.
      const first = plain.length >= 3 ? `${plain[1] | (plain[2] << 8)}` : '';
      const args = known ? op.args || first : `${Math.max(0, plain.length - 1)} B`;
      return `L3 ${op.name}(${args})${s.chunk ? ` in ${s.chunk}-byte chunks` : ''}${s.corrupt ? ` [${s.corrupt}]` : ''}`;
    }
    case 'get-info':
      return `L2 Get_Info_Req(object 0x${s.object.toString(16)}, block ${s.block})`;
    case 'handshake':
      return `L2 Handshake_Req(slot ${s.slot}${s.ephemeral === 'zero' ? ', all-zero ephemeral key' : ''})`;
    case 'abort':
      return 'L2 Encrypted_Session_Abt';
    case 'resend':
      return 'L2 Resend_Req';
    case 'sleep':
      return `L2 Sleep_Req(kind 0x${s.mode.toString(16)})`;
    case 'startup':
      return `L2 Startup_Req(${s.mode === STARTUP_ID.REBOOT ? 'REBOOT' : s.mode === STARTUP_ID.MAINTENANCE_REBOOT ? 'MAINTENANCE_REBOOT' : `0x${s.mode.toString(16)}`})`;
    case 'get-log':
      return 'L2 Get_Log_Req';
    case 'raw-l2':
      return `L2 raw ${requestName(s.id)}(${s.data.length / 2} B)${s.corrupt ? ` [${s.corrupt}]` : ''}`;
  }
}

/** Does a step send a command the User API gives no way back from (spec tag @irreversible)? */
export function isIrreversibleStep(s: Step): boolean {
  return s.kind === 'l3' && classifyL3(Buffer.from(s.plain, 'hex'), { sessionSlot: 0 }).effect === 'irreversible';
}

// ---- generation ---------------------------------------------------------------------------------

export interface GenerationOptions {
  /** Generate irreversible L3 commands (pairing keys, I-config, counters, MAC-and-Destroy). */
  irreversible: boolean;
  /** ECC slots exploration may change (a rig: the slots empty at the start); first/last/one past by default. */
  eccSlots?: number[];
  /** User Data slots exploration may change. */
  userDataSlots?: number[];
  /** Weight of damaged frames, nonces and tags (0 turns them off); default 1 of about 60. */
  corruptionWeight?: number;
  /** Steps never to generate (e.g. those that always meet a known finding of a side: --avoid-known). */
  exclude?: (step: Step) => boolean;
}

export const DEFAULT_ECC_SLOTS = [0, 1, LIMITS.ECC_SLOTS - 1, LIMITS.ECC_SLOTS];
export const DEFAULT_USER_DATA_SLOTS = [0, 1, LIMITS.USER_DATA_SLOTS - 1, LIMITS.USER_DATA_SLOTS];
const PAIRING_SLOTS = [0, 1, LIMITS.PAIRING_SLOTS - 1, LIMITS.PAIRING_SLOTS];
const COUNTERS = [0, 1, LIMITS.MCOUNTERS - 1, LIMITS.MCOUNTERS];
const MAC_SLOTS = [0, LIMITS.MAC_AND_DESTROY_SLOTS - 1, LIMITS.MAC_AND_DESTROY_SLOTS];
/** Every CO address, the last valid address, one past it and an unaligned one. */
const CONFIG_ADDRESSES = [...CONFIG_REGISTERS.map((r) => r.address), LIMITS.CONFIG_ADDRESS_MAX, LIMITS.CONFIG_ADDRESS_MAX + 4, 0x01];
const UAP_ADDRESSES = CONFIG_REGISTERS.filter((r) => r.name.startsWith('CFG_UAP_')).map((r) => r.address);
const R_CONFIG_WRITE_ERASE = REGISTER_BY_NAME.get('CFG_UAP_R_CONFIG_WRITE_ERASE')!.address;
/** User Data lengths: empty, one byte, the FW 1.x and FW 2.x slot sizes and one past each. */
const USER_DATA_LENGTHS = [0, 1, LIMITS.USER_DATA_SLOT_FW1, LIMITS.USER_DATA_SLOT_FW1 + 1, LIMITS.USER_DATA_SLOT_FW2, LIMITS.USER_DATA_SLOT_FW2 + 1];
/** L3 chunk sizes: whole (252), short first chunks (SIZE and TAG split), single bytes. */
const CHUNKS = [undefined, undefined, undefined, 1, 17, 18, 100];
/** Fixed private keys for ECC_Key_Store (valid on both curves; test values only). */
const STORE_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 1) & 0xff);

const b = (id: number, ...parts: Uint8Array[]): string => hex(Uint8Array.of(id, ...parts.flatMap((p) => [...p])));
const pattern = (n: number, salt = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt) & 0xff);
const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
const u32 = fc.oneof(pick([0, 1, 0xfffffffe, 0xffffffff]), fc.nat({ max: 0xffffffff }));
const curve = fc.oneof({ weight: 6, arbitrary: pick([1, 2]) }, { weight: 1, arbitrary: pick([0, 3]) });
const pad = (n: number) => new Uint8Array(n);

function l3(plainArb: fc.Arbitrary<string>, corruptionWeight: number): fc.Arbitrary<Step> {
  const corrupt = corruptionWeight > 0 ? fc.oneof({ weight: 40, arbitrary: fc.constant(undefined) }, { weight: corruptionWeight, arbitrary: pick<L3Corruption>(['nonce-skip', 'nonce-reuse', 'tag']) }) : fc.constant(undefined);
  return fc.record({ plain: plainArb, chunk: pick(CHUNKS), corrupt }).map(({ plain, chunk, corrupt }): Step => {
    const s: Step = { kind: 'l3', plain };
    if (chunk !== undefined) s.chunk = chunk;
    if (corrupt !== undefined) s.corrupt = corrupt;
    return s;
  });
}

/** Weighted generators of every L2 request and L3 command (arguments around the boundaries). */
export function stepArbitraries(opts: GenerationOptions): { weight: number; arbitrary: fc.Arbitrary<Step> }[] {
  const ecc = pick(opts.eccSlots ?? DEFAULT_ECC_SLOTS);
  const udata = pick(opts.userDataSlots ?? DEFAULT_USER_DATA_SLOTS);
  const cw = opts.corruptionWeight ?? 1;
  const w = (weight: number, arbitrary: fc.Arbitrary<Step>) => ({ weight, arbitrary });
  const cmd = (weight: number, plain: fc.Arbitrary<string>) => w(weight, l3(plain, cw));

  const l2: { weight: number; arbitrary: fc.Arbitrary<Step> }[] = [
    w(2, fc.record({ object: pick([GET_INFO_OBJECT.X509_CERTIFICATE, GET_INFO_OBJECT.CHIP_ID, GET_INFO_OBJECT.RISCV_FW_VERSION, GET_INFO_OBJECT.SPECT_FW_VERSION, 0x03, 0xff]), block: pick([0, 1, 29, 30, 255]) }).map((a): Step => ({ kind: 'get-info', ...a }))),
    w(14, fc.record({ slot: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: pick(PAIRING_SLOTS) }), ephemeral: fc.oneof({ weight: 30, arbitrary: fc.constant<'random'>('random') }, { weight: cw, arbitrary: fc.constant<'zero'>('zero') }) }).map((a): Step => ({ kind: 'handshake', ...a }))),
    w(1, fc.constant<Step>({ kind: 'abort' })),
    w(1, fc.constant<Step>({ kind: 'resend' })),
    w(1, pick([SLEEP_KIND.SLEEP_MODE, SLEEP_KIND.SLEEP_MODE, 0x00, 0xff]).map((mode): Step => ({ kind: 'sleep', mode }))),
    w(1, pick([STARTUP_ID.REBOOT, STARTUP_ID.REBOOT, STARTUP_ID.MAINTENANCE_REBOOT, 0x02]).map((mode): Step => ({ kind: 'startup', mode }))),
    w(1, fc.constant<Step>({ kind: 'get-log' })),
  ];
  if (cw > 0) {
    l2.push(
      w(
        cw,
        fc.record({ id: pick([L2_REQ.GET_INFO, L2_REQ.ENCRYPTED_SESSION_ABT, L2_REQ.SLEEP, L2_REQ.GET_LOG, 0x00, 0x55, 0xff]), len: pick([0, 1, 2, 3]), corrupt: pick<L2Corruption | undefined>([undefined, 'crc', 'len+1', 'len-1']) }).map(({ id, len, corrupt }): Step => {
          const s: Step = { kind: 'raw-l2', id, data: hex(pattern(len, id)) };
          if (corrupt) s.corrupt = corrupt;
          return s;
        }),
      ),
    );
  }

  const L = L3_CMD;
  const l3cmds = [
    cmd(3, pick([0, 1, 255, LIMITS.PING_MAX, LIMITS.PING_MAX + 1]).map((n) => b(L.PING, pattern(n)))),
    cmd(2, pick(PAIRING_SLOTS).map((s) => b(L.PAIRING_KEY_READ, u16le(s)))),
    cmd(3, fc.tuple(pick(CONFIG_ADDRESSES), fc.oneof(u32, fc.constant(0xfffffffe))).map(([a, v]) => b(L.R_CONFIG_WRITE, u16le(a), pad(1), u32le(v)))),
    cmd(1, fc.tuple(pick(UAP_ADDRESSES), pick([0, 0xfffffffe, 0xfefefefe])).map(([a, v]) => b(L.R_CONFIG_WRITE, u16le(a), pad(1), u32le(v)))),
    cmd(2, pick(CONFIG_ADDRESSES).map((a) => b(L.R_CONFIG_READ, u16le(a)))),
    cmd(1, fc.constant(b(L.R_CONFIG_ERASE))),
    cmd(2, pick(CONFIG_ADDRESSES).map((a) => b(L.I_CONFIG_READ, u16le(a)))),
    cmd(4, fc.tuple(udata, pick(USER_DATA_LENGTHS)).map(([s, n]) => b(L.R_MEM_DATA_WRITE, u16le(s), pad(1), pattern(n, s)))),
    cmd(3, udata.map((s) => b(L.R_MEM_DATA_READ, u16le(s)))),
    cmd(2, udata.map((s) => b(L.R_MEM_DATA_ERASE, u16le(s)))),
    cmd(2, pick([0, 1, LIMITS.RANDOM_MAX]).map((n) => b(L.RANDOM_VALUE_GET, Uint8Array.of(n)))),
    cmd(4, fc.tuple(ecc, curve).map(([s, c]) => b(L.ECC_KEY_GENERATE, u16le(s), Uint8Array.of(c)))),
    cmd(2, fc.tuple(ecc, curve).map(([s, c]) => b(L.ECC_KEY_STORE, u16le(s), Uint8Array.of(c), pad(12), STORE_KEY))),
    cmd(4, ecc.map((s) => b(L.ECC_KEY_READ, u16le(s)))),
    cmd(2, ecc.map((s) => b(L.ECC_KEY_ERASE, u16le(s)))),
    cmd(2, ecc.map((s) => b(L.ECDSA_SIGN, u16le(s), pad(13), pattern(32, s)))),
    cmd(2, fc.tuple(ecc, pick([0, 1, 64, LIMITS.EDDSA_MSG_MAX, LIMITS.EDDSA_MSG_MAX + 1])).map(([s, n]) => b(L.EDDSA_SIGN, u16le(s), pad(13), pattern(n, s)))),
    cmd(1, pick(COUNTERS).map((i) => b(L.MCOUNTER_GET, u16le(i)))),
    // Unknown command IDs and truncated plaintexts (only the CMD_ID).
    cmd(1, pick([0x00, 0x02, 0xff, L.ECC_KEY_READ, L.R_MEM_DATA_WRITE]).map((id) => b(id))),
  ];
  if (opts.irreversible) {
    l3cmds.push(
      cmd(1, fc.tuple(pick(PAIRING_SLOTS), pick([0, 1])).map(([s, k]) => b(L.PAIRING_KEY_WRITE, u16le(s), pad(1), pattern(32, k + 1)))),
      cmd(1, pick(PAIRING_SLOTS).map((s) => b(L.PAIRING_KEY_INVALIDATE, u16le(s)))),
      cmd(1, fc.tuple(pick(CONFIG_ADDRESSES), pick([0, 1, 31, 32])).map(([a, bit]) => b(L.I_CONFIG_WRITE, u16le(a), Uint8Array.of(bit)))),
      cmd(2, fc.tuple(pick(COUNTERS), u32).map(([i, v]) => b(L.MCOUNTER_INIT, u16le(i), pad(1), u32le(v)))),
      cmd(2, pick(COUNTERS).map((i) => b(L.MCOUNTER_UPDATE, u16le(i)))),
      cmd(1, pick(MAC_SLOTS).map((s) => b(L.MAC_AND_DESTROY, u16le(s), pad(1), pattern(32, s)))),
    );
  }
  return [...l2, ...l3cmds];
}

/** One arbitrary step. */
export function stepArbitrary(opts: GenerationOptions): fc.Arbitrary<Step> {
  const any = fc.oneof(...stepArbitraries(opts));
  const exclude = opts.exclude;
  return exclude ? any.filter((s) => !exclude(s)) : any;
}

/** The R-config CO that guards R-config's own restore (irreversible to clear on a rig). */
export const R_CONFIG_GUARD_ADDRESS = R_CONFIG_WRITE_ERASE;
