/**
 * TropicSquare: the driver a test uses. Method names follow pytropicsquare's public API in
 * camelCase. Every L2 status and L3 result other than OK becomes a typed error; every argument is
 * checked before anything is sent. Layered raw access (raw L1 transfers, L2 frames with chosen
 * length/CRC, arbitrary L3 plaintext, injected randomness) serves edge-case specs.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { p256 } from '@noble/curves/p256';
import { concat } from '../bytes.js';
import { L2StatusError, L3ResultError, ProtocolError, SessionError, TargetError } from '../errors.js';
import { CERT_BLOCK_SIZE, CERT_BLOCKS, GET_INFO_OBJECT, L2_MAX_DATA, L2_REQ, L2_STATUS, SLEEP_KIND, STARTUP_ID, requestName, statusName, type L2Response, type RawFrameOptions } from '../protocol/l2.js';
import { L3_CMD, L3_RESULT, LIMITS, commandName, decode, encode, checkInt, checkBytes, resultName, type CurveName, type EccKeyInfo } from '../protocol/l3.js';
import { SessionCipher, TAG_LEN, deriveSession, frameL3, x25519Public, x25519Shared } from '../protocol/session.js';
import { certStoreLength, chipPublicKey, decodeCertStore, type CertStore } from '../protocol/cert-store.js';
import { decodeChipId, decodeFwVersion, type ChipId, type FwVersion } from '../protocol/chip-id.js';
import { CONFIG_REGISTERS, REGISTER_BY_ADDRESS, decodeRegister } from '../protocol/config-objects.js';
import { L2Link, type PollOptions } from './l2-link.js';
import { classifyL3, classifyStartup, type Operation, type OperationRecord } from './operations.js';
import { L3BatchError, resultFitsOneChunk, type BatchReply } from './l3-batch.js';
import type { L1Transport } from '../transport/l1-transport.js';

export { L3BatchError } from './l3-batch.js';

export type RandomSource = (n: number) => Uint8Array;
/** Wraps each driver command (name, public arguments) — fixtures turn these into report steps. */
export type StepHook = <T>(name: string, args: Record<string, unknown>, run: () => Promise<T>) => Promise<T>;

/**
 * What the driver knows about the traffic it causes, for frame logs and reports: the start and end
 * of each driver step, and each L3 command with its public arguments and result code. Never keys.
 */
export type DriverAnnotation =
  | { kind: 'step-start'; step: string; args: Record<string, unknown> }
  | { kind: 'step-end'; step: string; error?: string }
  | { kind: 'l3-command'; command: string; commandId: number; args: Record<string, unknown> }
  | { kind: 'l3-result'; command: string; result: number; resultName: string; length: number };

/** A session's keys, for a listener that asked for them (frame logs with TROPIC_RECORD_SECRETS=1 only). */
export type SessionKeysListener = (k: { slot: number; kCmd: Uint8Array; kRes: Uint8Array }) => void;

export interface TropicSquareOptions extends PollOptions {
  /** Observer of driver steps and L3 commands (frame-log annotations). */
  annotate?: (a: DriverAnnotation) => void;
  /** Told each new session's K_CMD and K_RES; unset (the default), keys never leave the driver. */
  sessionKeys?: SessionKeysListener;
  /** Host randomness (ephemeral keys); inject a seeded source for byte-exact repeatable runs. */
  random?: RandomSource;
  step?: StepHook;
  /** Size of an L3 chunk in Encrypted_Cmd_Req (1..252). */
  chunkSize?: number;
  /** Override the User Data slot size instead of deriving it from the RISC-V FW version. */
  userDataSlotSize?: number;
  /** The chip's static X25519 public key as already read from its certificate (e.g. once per worker): handshakes skip re-reading the store. */
  chipPublicKey?: Uint8Array;
  /**
   * May this operation run? `true`, or the reason it may not (e.g. "on rig X without
   * TROPIC_ALLOW_IRREVERSIBLE=1"). Asked for every irreversible operation, after its arguments were
   * validated; unset: everything runs.
   */
  policy?: (op: Operation) => true | string;
  /** Told about every reversible change before and after it is sent, so it can be undone. */
  restore?: RestoreHook;
  /** Where the driver records what it did; share one array between the drivers of one test. */
  journal?: OperationRecord[];
}

/**
 * Undo bookkeeping for reversible changes (fixtures/restore.ts). `before` (reversible changes only)
 * may read the chip through `driver` (e.g. the slot about to be erased) and may say the change
 * cannot be undone after all; `after` (every state-changing operation, irreversible ones included)
 * learns whether the chip executed it (`outcome`: result name, or `no answer`).
 */
export interface RestoreHook {
  before(op: Operation, driver: TropicSquare): Promise<{ irreversible?: string } | void>;
  after(op: Operation, outcome: string): void;
}

export type L3Reply = BatchReply;

/** A command of a batch: its plaintext and the public arguments its l3-command annotation shows. */
interface BatchItem {
  plaintext: Uint8Array;
  args: Record<string, unknown>;
}

/** Outcome of an admitted command a batch never sent. */
const NOT_SENT = 'not sent';

export interface Signature {
  r: Uint8Array;
  s: Uint8Array;
}

/**
 * Result chunks still to come after a first RES_CONT chunk: its RES_SIZE (little-endian u16) gives
 * the packet's length (RES_SIZE || ciphertext || tag), and the chip sends every chunk but the last
 * at the first one's length (the model and ts-tvl cut results into 128-byte chunks). Bounded by
 * what the largest result (Ping's: a result byte and 4096 data bytes) can need, so a corrupt
 * RES_SIZE cannot make the link poll ahead without bound; a wrong guess only costs polls.
 */
function remainingResultChunks(first: Uint8Array): number {
  const total = 2 + (first[0] | (first[1] << 8)) + TAG_LEN;
  const left = Math.max(0, total - first.length);
  const largest = 2 + 1 + LIMITS.PING_MAX + TAG_LEN;
  return Math.min(Math.ceil(left / first.length), Math.ceil(largest / first.length));
}

export class TropicSquare {
  readonly link: L2Link;
  private readonly rng: RandomSource;
  private readonly stepHook?: StepHook;
  private readonly chunkSize: number;
  private cipher?: SessionCipher;
  private sessionSlot?: number;
  private certStoreCache?: CertStore;
  private chipPubCache?: Uint8Array;
  private slotSizeCache?: number;
  /** What this driver sent (or refused), in order: L3 commands and Startup_Req. */
  readonly operations: OperationRecord[];
  /** Set while the driver seals a command it already classified (see `watchHandSealing`). */
  private sealingAdmitted = false;

  constructor(readonly transport: L1Transport, private readonly opts: TropicSquareOptions = {}) {
    this.link = new L2Link(transport, opts);
    this.rng = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.stepHook = opts.step;
    this.chunkSize = checkInt('chunkSize', opts.chunkSize ?? L2_MAX_DATA, 1, L2_MAX_DATA);
    if (opts.userDataSlotSize !== undefined) this.slotSizeCache = opts.userDataSlotSize;
    if (opts.chipPublicKey) this.chipPubCache = checkBytes('chipPublicKey', opts.chipPublicKey, 32);
    this.operations = opts.journal ?? [];
  }

  /**
   * The policy and restore bookkeeping for one operation about to be sent: recorded, refused when
   * irreversible and the policy says no, otherwise announced to the restore hook. Returns the record
   * (its outcome is filled in by `settle`).
   */
  private async admit(op: Operation): Promise<OperationRecord> {
    if (op.effect === 'reversible-with-restore' && this.opts.restore) {
      const verdict = await this.opts.restore.before(op, this);
      if (verdict?.irreversible) op = { ...op, effect: 'irreversible', why: verdict.irreversible };
    }
    const record: OperationRecord = { ...op, outcome: 'no answer' };
    this.operations.push(record);
    if (op.effect === 'irreversible') this.refuseIfNotAllowed(record);
    return record;
  }

  private refuseIfNotAllowed(record: OperationRecord): void {
    const verdict = this.opts.policy?.(record) ?? true;
    if (verdict === true) return;
    record.outcome = 'refused';
    throw new TargetError(`${record.name}(${record.args}) is irreversible (${record.why}); refused ${verdict}`, 'TH_IRREVERSIBLE_REFUSED');
  }

  private settle(record: OperationRecord, outcome: string): void {
    record.outcome = outcome;
    if (record.effect !== 'read-only') this.opts.restore?.after(record, outcome);
  }

  /**
   * Commands sealed by hand with this session's cipher (edge-case specs build packets themselves)
   * are classified when sealed: recorded and, when irreversible and not allowed, refused. No restore
   * bookkeeping is possible there (sealing is synchronous): a reversible change sealed by hand is
   * recorded as such and its spec restores it itself.
   */
  private watchHandSealing(cipher: SessionCipher): void {
    const seal = cipher.sealCommand.bind(cipher);
    cipher.sealCommand = (plain: Uint8Array): Uint8Array => {
      if (!this.sealingAdmitted) {
        const record: OperationRecord = { ...classifyL3(plain, { sessionSlot: this.sessionSlot }), outcome: 'sent (result not seen by the driver)', handSealed: true };
        this.operations.push(record);
        if (record.effect === 'irreversible') this.refuseIfNotAllowed(record);
      }
      return seal(plain);
    };
  }

  private step<T>(name: string, args: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
    const annotate = this.opts.annotate;
    const body = !annotate
      ? run
      : async () => {
          annotate({ kind: 'step-start', step: name, args });
          try {
            const r = await run();
            annotate({ kind: 'step-end', step: name });
            return r;
          } catch (e) {
            annotate({ kind: 'step-end', step: name, error: (e as Error).message });
            throw e;
          }
        };
    return this.stepHook ? this.stepHook(name, args, body) : body();
  }

  /** True while the host holds session keys. */
  get hasSession(): boolean {
    return this.cipher !== undefined;
  }
  /** Session state for nonce edge cases (skip or reuse a nonce by editing cmdNonce). */
  get session(): SessionCipher | undefined {
    return this.cipher;
  }
  get pairingSlot(): number | undefined {
    return this.sessionSlot;
  }
  /** Forget the host-side session without telling the chip. */
  dropSession(): void {
    this.cipher = undefined;
    this.sessionSlot = undefined;
  }

  // ---- raw layers ------------------------------------------------------------------------------

  /** Raw L1: one chip-select window, bytes out, bytes back. */
  async rawTransfer(bytes: Uint8Array): Promise<Uint8Array> {
    return this.link.writeRaw(bytes);
  }

  /** Raw L2: send a request (optionally with a wrong REQ_LEN or CRC) and return the response unchecked. */
  rawL2(id: number, data: Uint8Array = new Uint8Array(0), frame: RawFrameOptions = {}): Promise<L2Response> {
    return this.link.request(id, data, frame);
  }

  /** L2 request that must answer REQ_OK. */
  async l2(id: number, data: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    const r = await this.link.request(id, data);
    if (r.status !== L2_STATUS.REQ_OK) {
      if (r.status === L2_STATUS.NO_SESSION || r.status === L2_STATUS.TAG_ERR) this.dropSession();
      throw new L2StatusError(requestName(id), r.status, statusName(r.status), { frame: r.frame, expected: 'REQ_OK' });
    }
    return r.data;
  }

  // ---- L2 requests -----------------------------------------------------------------------------

  async getInfo(objectId: number, blockIndex = 0): Promise<Uint8Array> {
    checkInt('objectId', objectId, 0, 255);
    checkInt('blockIndex', blockIndex, 0, 255);
    return this.step('getInfo', { objectId: `0x${objectId.toString(16).padStart(2, '0')}`, blockIndex }, () => this.l2(L2_REQ.GET_INFO, Uint8Array.of(objectId, blockIndex)));
  }

  /** Certificate store: reads only the blocks its header says are used. */
  async certificateStore(): Promise<CertStore> {
    return this.step('certificateStore', {}, async () => {
      if (this.certStoreCache) return this.certStoreCache;
      const first = await this.getInfo(GET_INFO_OBJECT.X509_CERTIFICATE, 0);
      const total = certStoreLength(first);
      const blocks = [first];
      for (let b = 1; b < Math.min(CERT_BLOCKS, Math.ceil(total / CERT_BLOCK_SIZE)); b++) blocks.push(await this.getInfo(GET_INFO_OBJECT.X509_CERTIFICATE, b));
      this.certStoreCache = decodeCertStore(concat(...blocks));
      return this.certStoreCache;
    });
  }
  /** DER of the device certificate. */
  async certificate(): Promise<Uint8Array> {
    return (await this.certificateStore()).certificates[0];
  }
  /** The chip's static X25519 public key, from its device certificate. */
  async publicKey(): Promise<Uint8Array> {
    this.chipPubCache ??= chipPublicKey(await this.certificateStore());
    return this.chipPubCache;
  }
  async chipId(): Promise<ChipId> {
    return this.step('chipId', {}, async () => decodeChipId(await this.getInfo(GET_INFO_OBJECT.CHIP_ID)));
  }
  async riscvFwVersion(): Promise<FwVersion> {
    return this.step('riscvFwVersion', {}, async () => decodeFwVersion(await this.getInfo(GET_INFO_OBJECT.RISCV_FW_VERSION)));
  }
  async spectFwVersion(): Promise<FwVersion> {
    return this.step('spectFwVersion', {}, async () => decodeFwVersion(await this.getInfo(GET_INFO_OBJECT.SPECT_FW_VERSION)));
  }

  /** Noise KK1 handshake on a pairing slot; the private key stays in this process. */
  async startSecureSession(slot: number, pairingPrivateKey: Uint8Array, pairingPublicKey?: Uint8Array): Promise<void> {
    checkInt('slot', slot, 0, LIMITS.PAIRING_SLOTS - 1);
    checkBytes('pairingPrivateKey', pairingPrivateKey, 32);
    if (pairingPublicKey) checkBytes('pairingPublicKey', pairingPublicKey, 32);
    return this.step('startSecureSession', { slot }, async () => {
      const stPub = await this.publicKey();
      const shPub = pairingPublicKey ?? x25519Public(pairingPrivateKey);
      const ehPriv = this.rng(32);
      const ehPub = x25519Public(ehPriv);
      this.dropSession();
      const rsp = await this.l2(L2_REQ.HANDSHAKE, concat(ehPub, Uint8Array.of(slot)));
      if (rsp.length !== 48) throw new ProtocolError('l2', `Handshake response has ${rsp.length} bytes, expected 48`, 'TH_L2_LENGTH', { frame: rsp, expected: '48 bytes' });
      const etPub = rsp.slice(0, 32);
      const keys = deriveSession({
        pairingSlot: slot, shPub, stPub, ehPub, etPub,
        ehEt: x25519Shared(ehPriv, etPub), shEt: x25519Shared(pairingPrivateKey, etPub), ehSt: x25519Shared(ehPriv, stPub),
      });
      if (!timingSafeEqual(keys.tAuth, rsp.slice(32, 48))) {
        throw new SessionError(`handshake on pairing slot ${slot}: the chip's authentication tag differs from the one derived here (the pairing key is not the one written in slot ${slot}, or the chip's static key is not its certificate's); no session`, 'TH_HANDSHAKE_AUTH');
      }
      this.cipher = new SessionCipher(keys);
      this.sessionSlot = slot;
      this.opts.sessionKeys?.({ slot, kCmd: keys.kCmd, kRes: keys.kRes });
      this.watchHandSealing(this.cipher);
    });
  }

  async abortSecureSession(): Promise<void> {
    return this.step('abortSecureSession', {}, async () => {
      await this.l2(L2_REQ.ENCRYPTED_SESSION_ABT);
      this.dropSession();
    });
  }
  async sleep(kind: number = SLEEP_KIND.SLEEP_MODE): Promise<void> {
    return this.step('sleep', { kind }, async () => {
      await this.l2(L2_REQ.SLEEP, Uint8Array.of(checkInt('kind', kind, 0, 255)));
      this.dropSession();
    });
  }
  /** Startup_Req: REBOOT (1) or MAINTENANCE_REBOOT (3). Ends the session. */
  async reboot(mode: number = STARTUP_ID.REBOOT): Promise<void> {
    checkInt('mode', mode, 0, 255);
    return this.step('reboot', { mode }, async () => {
      const record = await this.admit(classifyStartup(mode));
      try {
        await this.l2(L2_REQ.STARTUP, Uint8Array.of(mode));
        this.settle(record, 'REQ_OK');
      } catch (e) {
        this.settle(record, e instanceof L2StatusError ? e.statusName : 'no answer');
        throw e;
      }
      this.dropSession();
      this.slotSizeCache = this.opts.userDataSlotSize;
    });
  }
  /** Get_Log_Req: one log message (may be empty). */
  async getLog(): Promise<Uint8Array> {
    return this.step('getLog', {}, () => this.l2(L2_REQ.GET_LOG));
  }
  /** Resend_Req: the chip repeats its last response, returned unchecked. */
  async resend(): Promise<L2Response> {
    return this.step('resend', {}, () => this.link.request(L2_REQ.RESEND));
  }

  // ---- L3 --------------------------------------------------------------------------------------

  /** Send an already framed L3 packet (SIZE||CIPHERTEXT||TAG) in chunks; returns each chunk's response. */
  async sendL3Packet(packet: Uint8Array): Promise<L2Response[]> {
    const out: L2Response[] = [];
    for (let off = 0; off < packet.length; off += this.chunkSize) {
      const chunk = packet.subarray(off, Math.min(packet.length, off + this.chunkSize));
      const last = off + this.chunkSize >= packet.length;
      // After the last chunk the L3 result follows: on a pipelining link its first poll goes out now too.
      const r = await this.link.request(L2_REQ.ENCRYPTED_CMD, chunk, undefined, last ? 1 : 0);
      out.push(r);
      this.checkCommandChunkReply(r, last);
    }
    return out;
  }

  /** A command chunk is answered REQ_CONT, the last one REQ_OK; NO_SESSION or TAG_ERR also end the host session. */
  private checkCommandChunkReply(r: L2Response, last: boolean): void {
    const want = last ? L2_STATUS.REQ_OK : L2_STATUS.REQ_CONT;
    if (r.status === want) return;
    if (r.status === L2_STATUS.NO_SESSION || r.status === L2_STATUS.TAG_ERR) this.dropSession();
    throw new L2StatusError('ENCRYPTED_CMD', r.status, statusName(r.status), { frame: r.frame, expected: statusName(want) });
  }

  /** Read the chunked encrypted result (RES_CONT ... RES_OK) and return SIZE||CIPHERTEXT||TAG. */
  async receiveL3Packet(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const r = await this.link.receive();
      if (r.status === L2_STATUS.RES_CONT || r.status === L2_STATUS.RES_OK) parts.push(r.data);
      else throw new L2StatusError('ENCRYPTED_CMD', r.status, statusName(r.status), { frame: r.frame, expected: 'RES_CONT or RES_OK' });
      if (r.status === L2_STATUS.RES_OK) break;
      // The first chunk's RES_SIZE says how many chunks follow: poll for them all at once (pipelining links).
      if (parts.length === 1 && r.data.length >= 2) this.link.prefetch(remainingResultChunks(r.data));
    }
    return concat(...parts);
  }

  /**
   * Send arbitrary plaintext (CMD_ID||DATA) through the session; returns RESULT and data unchecked.
   * Every L3 command goes through here: it is classified (operations.ts), checked against the
   * policy, announced to the restore hook, recorded, and its outcome noted.
   */
  async l3Raw(plaintext: Uint8Array): Promise<L3Reply> {
    if (!this.cipher) throw new SessionError('no secure session: call startSecureSession() first', 'TH_NO_SESSION');
    // Admission may read the chip (restore bookkeeping) through this same session, so it comes
    // before this command takes its nonce.
    const record = await this.admit(classifyL3(plaintext, { sessionSlot: this.sessionSlot }));
    let reply: L3Reply;
    try {
      reply = await this.l3Exchange(plaintext);
    } catch (e) {
      this.settle(record, 'no answer');
      throw e;
    }
    this.settle(record, resultName(reply.result));
    return reply;
  }

  private async l3Exchange(plaintext: Uint8Array): Promise<L3Reply> {
    const cipher = this.cipher;
    if (!cipher) throw new SessionError('no secure session: the session ended while the command was admitted', 'TH_NO_SESSION');
    await this.sendL3Packet(this.sealAdmitted(cipher, plaintext));
    return this.openL3Packet(cipher, plaintext, await this.receiveL3Packet());
  }

  /** Seal an admitted command (not counted as sealed by hand): its framed L3 packet. */
  private sealAdmitted(cipher: SessionCipher, plaintext: Uint8Array): Uint8Array {
    this.sealingAdmitted = true;
    try {
      return frameL3(cipher.sealCommand(plaintext));
    } finally {
      this.sealingAdmitted = false;
    }
  }

  /** Check a result packet's size and authenticate it; a result that fails authentication ends the host session. */
  private openL3Packet(cipher: SessionCipher, plaintext: Uint8Array, packet: Uint8Array): L3Reply {
    const size = packet[0] | (packet[1] << 8);
    if (packet.length !== size + 2 + TAG_LEN) {
      throw new ProtocolError('l3', `L3 result packet of ${commandName(plaintext[0])} is ${packet.length} bytes but its RES_SIZE=${size} needs ${size + 2 + TAG_LEN}`, 'TH_L3_SIZE', { frame: packet });
    }
    const resNonce = cipher.resNonce;
    const plain = cipher.openResult(packet.subarray(2));
    if (!plain) {
      this.dropSession();
      throw new SessionError(`L3 result of ${commandName(plaintext[0])} failed authentication (AES-GCM tag) with result nonce ${resNonce}: not sealed with this session's keys and nonce; host session dropped`, 'TH_RESULT_TAG', { frame: packet });
    }
    return { result: plain[0], data: plain.slice(1) };
  }

  // ---- L3 batches ------------------------------------------------------------------------------

  /**
   * Several L3 commands (CMD_ID||DATA each) in flight at once; returns each one's RESULT and data
   * unchecked, in order, as `l3Raw` would one after another. Every command is admitted first
   * (classified, checked against the policy, announced to the restore hook), in order, before any
   * is sealed: a refused command means nothing of the batch is sent. Then they are sealed in order
   * (consecutive nonces). On a pipelining link every command's chunk windows and result polls are
   * written without waiting for the previous command's result (a command whose result may take
   * more than one chunk is read before anything is written behind it); the replies are read in wire
   * order and interpreted as one command at a time would be. The wire carries exactly what a serial
   * host sends. Elsewhere the commands simply run one after another.
   *
   * Anything other than what was written ahead for (a poll answered not ready, an unexpected L2
   * status, a result failing authentication, a transport error) aborts the batch: what is still in
   * flight is read and dropped, the host session dropped when commands after the failing one were
   * already sealed (the chip's nonces can no longer be known), and an `L3BatchError`
   * (TH_L3_BATCH_ABORTED) names the item and keeps the completed items' replies.
   */
  async l3Batch(plaintexts: Uint8Array[]): Promise<L3Reply[]> {
    const items = plaintexts.map((p, i) => ({ plaintext: checkBytes(`plaintexts[${i}]`, p, 1, 0xffff), args: {} }));
    return this.step('l3Batch', { count: items.length, commands: items.map((it) => commandName(it.plaintext[0])) }, () => this.runBatch('l3Batch', items));
  }

  /** Pings in flight at once (see `l3Batch`): each one's echo, in order; a result other than OK fails as `ping` does, naming the item. */
  async pingBatch(datas: Uint8Array[]): Promise<Uint8Array[]> {
    const items = datas.map((d, i) => ({ plaintext: encode.ping(checkBytes(`datas[${i}]`, d, 0, LIMITS.PING_MAX)), args: { length: d.length } }));
    return this.step('pingBatch', { count: items.length, commands: items.map(() => commandName(L3_CMD.PING)) }, async () => {
      const replies = await this.runBatch('pingBatch', items);
      return replies.map((r, i) => {
        if (r.result !== L3_RESULT.OK) {
          throw resultNotOk(r, `${commandName(L3_CMD.PING)} (item ${i} of a batch of ${items.length})`);
        }
        return decode.ping(r.data);
      });
    });
  }

  private async runBatch(step: string, items: BatchItem[]): Promise<L3Reply[]> {
    const cipher = this.cipher;
    if (!cipher) throw new SessionError('no secure session: call startSecureSession() first', 'TH_NO_SESSION');
    const n = items.length;
    const records: OperationRecord[] = [];
    for (let i = 0; i < n; i++) {
      try {
        records.push(await this.admit(classifyL3(items[i].plaintext, { sessionSlot: this.sessionSlot })));
      } catch (e) {
        for (const r of records) this.settle(r, NOT_SENT);
        if (e instanceof TargetError && e.code === 'TH_IRREVERSIBLE_REFUSED') {
          throw new TargetError(`${step} item ${i} of ${n}: ${e.detail}; nothing of the batch was sent`, 'TH_IRREVERSIBLE_REFUSED', { cause: e });
        }
        throw e;
      }
    }
    const replies: L3Reply[] = [];
    /** The item being worked on, and how many items are sealed (and, on a pipelining link, written). */
    const at = { item: 0, sealed: 0 };
    try {
      if (this.cipher !== cipher) throw new SessionError('no secure session: the session ended while the batch was admitted', 'TH_NO_SESSION');
      for (; at.item < n; at.item++) {
        const { plaintext, args } = items[at.item];
        const command = commandName(plaintext[0]);
        this.opts.annotate?.({ kind: 'l3-command', command, commandId: plaintext[0], args });
        let reply: L3Reply;
        if (this.link.speculative) {
          if (at.item === at.sealed) at.sealed = this.writeBatchSegment(cipher, items, at.item);
          reply = await this.readBatchItem(cipher, plaintext, at.sealed > at.item + 1);
        } else {
          at.sealed = at.item + 1;
          reply = await this.l3Exchange(plaintext);
        }
        this.settle(records[at.item], resultName(reply.result));
        this.opts.annotate?.({ kind: 'l3-result', command, result: reply.result, resultName: resultName(reply.result), length: reply.data.length });
        replies.push(reply);
      }
    } catch (e) {
      await this.link.dropPrefetched();
      const behind = at.sealed > at.item + 1;
      if (behind) this.dropSession();
      for (let k = at.item; k < n; k++) this.settle(records[k], k < at.sealed ? 'no answer' : NOT_SENT);
      const command = commandName(items[at.item].plaintext[0]);
      const cause = e instanceof Error ? e.message : String(e);
      throw new L3BatchError(
        `${step} aborted at item ${at.item} of ${n} (${command}) after ${replies.length} completed: ${cause}${behind ? `; ${at.sealed - at.item - 1} later command(s) were already sealed and sent, so the chip's nonces are unknown: host session dropped` : ''}`,
        at.item, command, n, replies, e,
      );
    }
    return replies;
  }

  /**
   * Seal and write items from `from` on, up to and including the first whose result may take more
   * than one chunk (its further chunks are polled for once its first gives their count, before
   * anything is written behind it). Returns how many items are sealed now.
   */
  private writeBatchSegment(cipher: SessionCipher, items: BatchItem[], from: number): number {
    let i = from;
    while (i < items.length) {
      const { plaintext } = items[i++];
      const packet = this.sealAdmitted(cipher, plaintext);
      for (let off = 0; off < packet.length; off += this.chunkSize) {
        const last = off + this.chunkSize >= packet.length;
        // As sendL3Packet: one poll for each chunk's REQ_CONT/REQ_OK, and after the last one the result's first poll.
        this.link.queueRequest(L2_REQ.ENCRYPTED_CMD, packet.subarray(off, Math.min(packet.length, off + this.chunkSize)), undefined, last ? 2 : 1);
      }
      if (!resultFitsOneChunk(plaintext)) break;
    }
    return i;
  }

  /** Read one batch item's replies in wire order, as sendL3Packet and receiveL3Packet interpret them. */
  private async readBatchItem(cipher: SessionCipher, plaintext: Uint8Array, writtenBehind: boolean): Promise<L3Reply> {
    const chunks = Math.ceil((2 + plaintext.length + TAG_LEN) / this.chunkSize);
    for (let c = 0; c < chunks; c++) {
      await this.link.takeRequestReply();
      this.checkCommandChunkReply(await this.link.receive(), c === chunks - 1);
    }
    if (!writtenBehind) return this.openL3Packet(cipher, plaintext, await this.receiveL3Packet());
    // The next command is written behind this result's one poll: it must be the whole result.
    const r = await this.link.receive();
    if (r.status !== L2_STATUS.RES_OK) {
      throw new L2StatusError('ENCRYPTED_CMD', r.status, statusName(r.status), { frame: r.frame, expected: `RES_OK (the whole result of ${commandName(plaintext[0])} in one chunk, as written ahead for)` });
    }
    return this.openL3Packet(cipher, plaintext, r.data);
  }

  private command<T>(name: string, args: Record<string, unknown>, plaintext: Uint8Array, parse: (d: Uint8Array) => T): Promise<T> {
    return this.step(name, args, async () => {
      const command = commandName(plaintext[0]);
      this.opts.annotate?.({ kind: 'l3-command', command, commandId: plaintext[0], args });
      const r = await this.l3Raw(plaintext);
      this.opts.annotate?.({ kind: 'l3-result', command, result: r.result, resultName: resultName(r.result), length: r.data.length });
      if (r.result !== L3_RESULT.OK) {
        throw resultNotOk(r, commandName(plaintext[0]));
      }
      return parse(r.data);
    });
  }

  async ping(data: Uint8Array): Promise<Uint8Array> {
    return this.command('ping', { length: data.length }, encode.ping(data), decode.ping);
  }
  async random(count: number): Promise<Uint8Array> {
    return this.command('random', { count }, encode.randomValueGet(count), decode.randomValueGet);
  }
  async eccKeyGenerate(slot: number, curve: CurveName): Promise<void> {
    return this.command('eccKeyGenerate', { slot, curve }, encode.eccKeyGenerate(slot, curve), () => undefined);
  }
  /** Stores a private key; the key is never put in a step or an error. */
  async eccKeyStore(slot: number, curve: CurveName, privateKey: Uint8Array): Promise<void> {
    // The key never reaches the step's arguments (they go to frame logs); that a P-256 key is no
    // valid scalar (zero, or not below the group order) does, so a replay can send such a key too.
    const invalid = curve === 'P256' && privateKey.length === 32 && !validP256Scalar(privateKey);
    return this.command('eccKeyStore', { slot, curve, ...(invalid ? { key: 'invalid' } : {}) }, encode.eccKeyStore(slot, curve, privateKey), () => undefined);
  }
  async eccKeyRead(slot: number): Promise<EccKeyInfo> {
    return this.command('eccKeyRead', { slot }, encode.eccKeyRead(slot), decode.eccKeyRead);
  }
  async eccKeyErase(slot: number): Promise<void> {
    return this.command('eccKeyErase', { slot }, encode.eccKeyErase(slot), () => undefined);
  }
  async ecdsaSign(slot: number, hash: Uint8Array): Promise<Signature> {
    return this.command('ecdsaSign', { slot }, encode.ecdsaSign(slot, hash), decode.signature);
  }
  async eddsaSign(slot: number, message: Uint8Array): Promise<Signature> {
    return this.command('eddsaSign', { slot, length: message.length }, encode.eddsaSign(slot, message), decode.signature);
  }
  /** User Data slot size: 444 bytes on RISC-V FW 1.x, 475 on FW 2.x (User API 1.4.0). */
  async userDataSlotSize(): Promise<number> {
    this.slotSizeCache ??= (await this.riscvFwVersion()).major >= 2 ? LIMITS.USER_DATA_SLOT_FW2 : LIMITS.USER_DATA_SLOT_FW1;
    return this.slotSizeCache;
  }
  async memDataWrite(data: Uint8Array, slot: number): Promise<void> {
    checkInt('slot', slot, 0, LIMITS.USER_DATA_SLOTS - 1);
    const max = await this.userDataSlotSize();
    return this.command('memDataWrite', { slot, length: data.length }, encode.rMemDataWrite(slot, data, max), () => undefined);
  }
  async memDataRead(slot: number): Promise<Uint8Array> {
    return this.command('memDataRead', { slot }, encode.rMemDataRead(slot), decode.rMemDataRead);
  }
  async memDataErase(slot: number): Promise<void> {
    return this.command('memDataErase', { slot }, encode.rMemDataErase(slot), () => undefined);
  }
  async pairingKeyWrite(slot: number, publicKey: Uint8Array): Promise<void> {
    return this.command('pairingKeyWrite', { slot }, encode.pairingKeyWrite(slot, publicKey), () => undefined);
  }
  async pairingKeyRead(slot: number): Promise<Uint8Array> {
    return this.command('pairingKeyRead', { slot }, encode.pairingKeyRead(slot), decode.pairingKeyRead);
  }
  async pairingKeyInvalidate(slot: number): Promise<void> {
    return this.command('pairingKeyInvalidate', { slot }, encode.pairingKeyInvalidate(slot), () => undefined);
  }
  async rConfigWrite(address: number, value: number): Promise<void> {
    return this.command('rConfigWrite', { address: hexAddr(address), value }, encode.rConfigWrite(address, value), () => undefined);
  }
  async rConfigRead(address: number): Promise<number> {
    return this.command('rConfigRead', { address: hexAddr(address) }, encode.rConfigRead(address), decode.configRead);
  }
  async rConfigErase(): Promise<void> {
    return this.command('rConfigErase', {}, encode.rConfigErase(), () => undefined);
  }
  async iConfigWrite(address: number, bit: number): Promise<void> {
    checkInt('bit', bit, 0, 31);
    return this.command('iConfigWrite', { address: hexAddr(address), bit }, encode.iConfigWrite(address, bit), () => undefined);
  }
  async iConfigRead(address: number): Promise<number> {
    return this.command('iConfigRead', { address: hexAddr(address) }, encode.iConfigRead(address), decode.configRead);
  }
  /**
   * Several R-config COs (default: every register of the User API's table) read in one batch: in
   * flight at once on a pipelining link (see `l3Batch`), one report step instead of one per CO.
   * Value by address, in the order asked (an address asked twice is read twice, kept once); a read
   * answered other than OK fails naming its address.
   */
  async rConfigReadAll(addresses: readonly number[] = ALL_CO_ADDRESSES): Promise<Map<number, number>> {
    return this.configReadAll('rConfigReadAll', encode.rConfigRead, addresses);
  }
  /** Several I-config COs read in one batch, as `rConfigReadAll`. */
  async iConfigReadAll(addresses: readonly number[] = ALL_CO_ADDRESSES): Promise<Map<number, number>> {
    return this.configReadAll('iConfigReadAll', encode.iConfigRead, addresses);
  }
  private configReadAll(name: string, encodeRead: (address: number) => Uint8Array, addresses: readonly number[]): Promise<Map<number, number>> {
    // Encoded first: an invalid address is refused before anything is sent.
    const items = addresses.map((a, i) => {
      checkInt(`addresses[${i}]`, a, 0, 0xffff);
      return { plaintext: encodeRead(a), args: { address: hexAddr(a) } };
    });
    return this.step(name, { count: items.length }, async () => {
      const replies = await this.runBatch(name, items);
      const values = new Map<number, number>();
      replies.forEach((r, i) => {
        if (r.result !== L3_RESULT.OK) {
          throw resultNotOk(r, `${commandName(items[i].plaintext[0])} ${hexAddr(addresses[i])} (item ${i} of ${items.length})`);
        }
        values.set(addresses[i], decode.configRead(r.data));
      });
      return values;
    });
  }
  /** Read a CO and decode its named fields. */
  async rConfigReadFields(address: number): Promise<Record<string, number>> {
    const reg = REGISTER_BY_ADDRESS.get(address);
    const v = await this.rConfigRead(address);
    return reg ? decodeRegister(reg, v) : { value: v };
  }
  async mcounterInit(index: number, value: number): Promise<void> {
    return this.command('mcounterInit', { index, value }, encode.mcounterInit(index, value), () => undefined);
  }
  async mcounterUpdate(index: number): Promise<void> {
    return this.command('mcounterUpdate', { index }, encode.mcounterUpdate(index), () => undefined);
  }
  async mcounterGet(index: number): Promise<number> {
    return this.command('mcounterGet', { index }, encode.mcounterGet(index), decode.mcounterGet);
  }
  async macAndDestroy(slot: number, data: Uint8Array): Promise<Uint8Array> {
    return this.command('macAndDestroy', { slot }, encode.macAndDestroy(slot, data), decode.macAndDestroy);
  }
}

const hexAddr = (a: number): string => `0x${a.toString(16)}`;
/** An L3 result other than OK, for `what` (the command, and which item of a batch). */
const resultNotOk = (r: L3Reply, what: string): L3ResultError =>
  new L3ResultError(what, r.result, resultName(r.result), { frame: Uint8Array.of(r.result, ...r.data), expected: 'OK' });
/** Every configuration object of the User API's table, by address. */
const ALL_CO_ADDRESSES: readonly number[] = CONFIG_REGISTERS.map((r) => r.address);

/** Is a 32-byte big-endian P-256 private key a scalar in [1, n-1]? */
function validP256Scalar(k: Uint8Array): boolean {
  const v = BigInt(`0x${Buffer.from(k).toString('hex')}`);
  return v >= 1n && v < p256.CURVE.n;
}
