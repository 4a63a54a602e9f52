/**
 * Runs exploration steps on one side (one chip, one driver) and reduces what the chip answered to an
 * `Observation`: the L2 statuses, the L3 result, the data length and, where two chips must agree
 * byte for byte, the data. Random bytes are never compared, ephemeral keys differ by design, and a
 * signature is verified against the key the chip reports instead of compared. Failures of the link
 * itself (connection lost, no reply) are not observations: they end the exploration (`isFatal`).
 */
import { p256 } from '@noble/curves/p256';
import { ed25519 } from '@noble/curves/ed25519';
import { fromHex, hex } from '../bytes.js';
import { HarnessError, L2StatusError, SessionError, TimeoutError } from '../errors.js';
import { L2_MAX_DATA, L2_REQ, L2_STATUS, statusName, type RawFrameOptions } from '../protocol/l2.js';
import { L3_CMD, L3_RESULT, ORIGIN, encode, resultName } from '../protocol/l3.js';
import { crc16 } from '../protocol/crc16.js';
import { TAG_LEN, frameL3, x25519Public } from '../protocol/session.js';
import { classifyL3 } from '../driver/operations.js';
import { TropicSquare, type RandomSource } from '../driver/tropic-square.js';
import type { PollOptions } from '../driver/l2-link.js';
import type { L1Transport } from '../transport/l1-transport.js';
import type { Step } from './steps.js';

/** What one side answered to one step. Fields absent on both sides are equal. */
export interface Observation {
  /** L2 statuses in order (each chunk's, then each result frame's). */
  l2?: string[];
  /** L3 result name. */
  l3?: string;
  /** Data length (L2 response data, or L3 result data without the RESULT byte). */
  length?: number;
  /** Data both sides must agree on (hex). */
  data?: string;
  /** Outcome of a check done instead of a comparison (signatures). */
  check?: string;
  /** Error code when the step ended in an error (EXCEPTION from the server, host-side session failures). */
  error?: string;
  /** Why the step was not sent (an irreversible command where none may run). */
  skipped?: string;
}

export interface RunnerOptions {
  /** Pairing private key for the handshakes (never logged). */
  pairingKey: Uint8Array;
  /** Compare data that depends on the chip's configuration (both sides configured alike). */
  compareContent: boolean;
  /** May irreversible commands be sent? */
  irreversibleAllowed: boolean;
  /** Host randomness (ephemeral keys); seeded for repeatable frame logs. */
  random?: RandomSource;
  poll?: PollOptions;
}

/** Link failures: the side can no longer be explored (exit code 3), not a difference. */
const FATAL_CODES = new Set(['TH_TCP_CLOSED', 'TH_TCP_LINK_LOST', 'TH_TCP_IO', 'TH_TCP_CONNECT', 'TH_TLS', 'TH_TCP_RESOLVE']);
export function isFatal(e: unknown): boolean {
  return e instanceof HarnessError && (FATAL_CODES.has(e.code) || (e instanceof TimeoutError && e.layer === 'transport'));
}

export class StepRunner {
  readonly driver: TropicSquare;

  constructor(readonly transport: L1Transport, private readonly opts: RunnerOptions) {
    this.driver = new TropicSquare(transport, { ...opts.poll, random: opts.random });
  }

  async run(step: Step): Promise<Observation> {
    try {
      return await this.dispatch(step);
    } catch (e) {
      if (isFatal(e) || !(e instanceof HarnessError)) throw e;
      // The server raised an internal error, or the host lost the session: the host starts over.
      this.driver.dropSession();
      return { error: e.code };
    }
  }

  private async dispatch(s: Step): Promise<Observation> {
    switch (s.kind) {
      case 'get-info':
        return this.l2(L2_REQ.GET_INFO, Uint8Array.of(s.object, s.block), { content: this.opts.compareContent });
      case 'handshake':
        return this.handshake(s.slot, s.ephemeral);
      case 'abort':
        return this.l2(L2_REQ.ENCRYPTED_SESSION_ABT, new Uint8Array(0), { endsSession: true });
      case 'resend':
        return this.l2(L2_REQ.RESEND, new Uint8Array(0), {});
      case 'sleep':
        return this.l2(L2_REQ.SLEEP, Uint8Array.of(s.mode), { endsSession: true });
      case 'startup':
        return this.l2(L2_REQ.STARTUP, Uint8Array.of(s.mode), { endsSession: true });
      case 'get-log':
        return this.l2(L2_REQ.GET_LOG, new Uint8Array(0), {});
      case 'raw-l2': {
        const data = fromHex(s.data);
        const frame: RawFrameOptions = {};
        if (s.corrupt === 'crc') frame.crc = crc16(Uint8Array.of(s.id, data.length, ...data)) ^ 0xffff;
        if (s.corrupt === 'len+1') frame.length = (data.length + 1) & 0xff;
        if (s.corrupt === 'len-1') frame.length = (data.length + 255) & 0xff;
        const endsSession = s.id === L2_REQ.ENCRYPTED_SESSION_ABT || s.id === L2_REQ.SLEEP || s.id === L2_REQ.STARTUP;
        return this.l2(s.id, data, { endsSession, frame });
      }
      case 'l3':
        return this.l3(s);
    }
  }

  private async l2(id: number, data: Uint8Array, o: { endsSession?: boolean; content?: boolean; frame?: RawFrameOptions }): Promise<Observation> {
    const r = await this.driver.rawL2(id, data, o.frame);
    if (o.endsSession && r.status === L2_STATUS.REQ_OK) this.driver.dropSession();
    if (r.status === L2_STATUS.NO_SESSION || r.status === L2_STATUS.TAG_ERR) this.driver.dropSession();
    const obs: Observation = { l2: [statusName(r.status)], length: r.data.length };
    if (o.content) obs.data = hex(r.data);
    return obs;
  }

  private async handshake(slot: number, ephemeral: 'random' | 'zero'): Promise<Observation> {
    if (slot <= 3 && ephemeral === 'random') {
      try {
        await this.driver.startSecureSession(slot, this.opts.pairingKey);
        return { l2: ['REQ_OK'], length: 48 };
      } catch (e) {
        if (e instanceof L2StatusError) return { l2: [e.statusName] };
        // The chip answered REQ_OK with a tag the host cannot match (not our key in that slot).
        if (e instanceof SessionError) return { l2: ['REQ_OK'], length: 48, error: e.code };
        throw e;
      }
    }
    // Out-of-range slots and low-order ephemeral keys go out raw: the driver refuses to build them.
    this.driver.dropSession();
    const eh = ephemeral === 'zero' ? new Uint8Array(32) : x25519Public((this.opts.random ?? ((n) => crypto.getRandomValues(new Uint8Array(n))))(32));
    const r = await this.driver.rawL2(L2_REQ.HANDSHAKE, Uint8Array.of(...eh, slot & 0xff));
    return { l2: [statusName(r.status)], length: r.data.length };
  }

  private async l3(s: Extract<Step, { kind: 'l3' }>): Promise<Observation> {
    const plain = fromHex(s.plain);
    const op = classifyL3(plain, { sessionSlot: this.driver.pairingSlot });
    if (op.effect === 'irreversible' && !this.opts.irreversibleAllowed) return { skipped: `${op.name}(${op.args}) is irreversible: ${op.why}` };
    const cipher = this.driver.session;
    let sealed: Uint8Array;
    if (cipher) {
      if (s.corrupt === 'nonce-skip') cipher.cmdNonce++;
      if (s.corrupt === 'nonce-reuse' && cipher.cmdNonce > 0) cipher.cmdNonce--;
      sealed = cipher.sealCommand(plain);
      if (s.corrupt === 'tag') sealed[sealed.length - 1] ^= 0x01;
    } else {
      // No host session: a packet of the right size that no session key sealed.
      sealed = new Uint8Array(plain.length + TAG_LEN).fill(0x5a);
    }
    const packet = frameL3(sealed);
    const chunk = s.chunk ?? L2_MAX_DATA;
    const l2: string[] = [];
    for (let off = 0; off < packet.length; off += chunk) {
      const last = off + chunk >= packet.length;
      const r = await this.driver.rawL2(L2_REQ.ENCRYPTED_CMD, packet.subarray(off, Math.min(packet.length, off + chunk)));
      l2.push(statusName(r.status));
      if (r.status !== (last ? L2_STATUS.REQ_OK : L2_STATUS.REQ_CONT)) {
        if (r.status === L2_STATUS.NO_SESSION || r.status === L2_STATUS.TAG_ERR) this.driver.dropSession();
        return { l2 };
      }
    }
    const parts: Uint8Array[] = [];
    for (;;) {
      const r = await this.driver.link.receive();
      l2.push(statusName(r.status));
      if (r.status !== L2_STATUS.RES_CONT && r.status !== L2_STATUS.RES_OK) return { l2 };
      parts.push(r.data);
      if (r.status === L2_STATUS.RES_OK) break;
    }
    const result = Buffer.concat(parts);
    const size = result.length >= 2 ? result[0] | (result[1] << 8) : -1;
    if (result.length !== size + 2 + TAG_LEN) return { l2, error: 'TH_L3_SIZE', length: size };
    const current = this.driver.session;
    if (!current) return { l2, length: size, check: 'result not readable: no host session' };
    const opened = current.openResult(new Uint8Array(result.subarray(2)));
    if (!opened) {
      this.driver.dropSession();
      return { l2, error: 'TH_RESULT_TAG' };
    }
    const obs: Observation = { l2, l3: resultName(opened[0]), length: opened.length - 1 };
    if (opened[0] === L3_RESULT.OK) await this.judgeData(plain, opened.subarray(1), obs);
    return obs;
  }

  /** Which result data both sides must agree on, and the signature checks. */
  private async judgeData(plain: Uint8Array, data: Uint8Array, obs: Observation): Promise<void> {
    const id = plain[0];
    const slot = plain.length >= 3 ? plain[1] | (plain[2] << 8) : 0;
    switch (id) {
      case L3_CMD.PING:
        obs.data = hex(data);
        return;
      case L3_CMD.RANDOM_VALUE_GET:
        return;
      case L3_CMD.ECC_KEY_READ:
        // Curve and origin always; the public key only of a stored key (a generated one is random).
        obs.data = hex(data.subarray(0, 2)) + (data[1] === ORIGIN.STORED && this.opts.compareContent ? `:${hex(data.subarray(15))}` : '');
        return;
      case L3_CMD.ECDSA_SIGN:
      case L3_CMD.EDDSA_SIGN:
        obs.check = await this.verifySignature(id, slot, plain, data);
        return;
      default:
        if (this.opts.compareContent) obs.data = hex(data);
    }
  }

  /** Verify a signature against the public key the chip reports for the slot. */
  private async verifySignature(id: number, slot: number, plain: Uint8Array, data: Uint8Array): Promise<string> {
    if (data.length !== 79) return `signature result of ${data.length} bytes`;
    const key = await this.driver.l3Raw(encode.eccKeyRead(slot));
    if (key.result !== L3_RESULT.OK) return `key not readable (${resultName(key.result)})`;
    const sig = data.subarray(15, 79);
    const pub = key.data.subarray(15);
    try {
      const ok =
        id === L3_CMD.ECDSA_SIGN
          ? key.data[0] === 1 && p256.verify(sig, plain.subarray(16, 48), Uint8Array.of(4, ...pub), { prehash: false, format: 'compact' })
          : key.data[0] === 2 && ed25519.verify(sig, plain.subarray(16), pub);
      return ok ? 'signature verifies with the reported key' : 'signature does NOT verify with the reported key';
    } catch (e) {
      return `signature does NOT verify: ${(e as Error).message}`;
    }
  }
}
