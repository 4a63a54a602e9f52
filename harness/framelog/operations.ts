/**
 * Operations: what a test did, one driver call each (an L3 command with its public arguments, or
 * an L2 request), with the outcome it had. Extracted from a frame log's annotations, executed on a
 * driver (semantic replay, minimizing), and written out as code (codegen). Byte arguments are not
 * in a log (only their lengths are: a private key never is): deterministic stand-ins are used,
 * the same at run time and in generated specs (`filler`, `STAND_IN_PRIVATE_KEY`).
 */
import { FrameLogError, HarnessError, L2StatusError, L3ResultError } from '../errors.js';
import { TropicSquare, type TropicSquareOptions } from '../driver/tropic-square.js';
import type { L1Transport } from '../transport/l1-transport.js';
import type { CurveName } from '../protocol/l3.js';
import type { FrameLogAnnotation } from './frame-log.js';

/** How an operation ended: `OK`, an L3 result or L2 status name, or `error:<TH_code>`. */
export interface Outcome {
  result: string;
  /** L3 result data length (from the annotations), when known. */
  length?: number;
}

export type Operation =
  | { layer: 'l3'; method: L3Method; args: Record<string, unknown>; expect?: Outcome }
  | { layer: 'l2'; method: L2Method; args: Record<string, unknown>; expect?: Outcome };

export const L2_METHODS = ['getInfo', 'certificateStore', 'chipId', 'riscvFwVersion', 'spectFwVersion', 'startSecureSession', 'abortSecureSession', 'sleep', 'reboot', 'getLog', 'resend'] as const;
export const L3_METHODS = [
  'ping', 'random', 'eccKeyGenerate', 'eccKeyStore', 'eccKeyRead', 'eccKeyErase', 'ecdsaSign', 'eddsaSign', 'memDataWrite', 'memDataRead', 'memDataErase',
  'pairingKeyWrite', 'pairingKeyRead', 'pairingKeyInvalidate', 'rConfigWrite', 'rConfigRead', 'rConfigErase', 'iConfigWrite', 'iConfigRead',
  'mcounterInit', 'mcounterUpdate', 'mcounterGet', 'macAndDestroy',
] as const;
export type L2Method = (typeof L2_METHODS)[number];
export type L3Method = (typeof L3_METHODS)[number];
/** Operations the User API gives no way back from (spec tag @irreversible). */
export const IRREVERSIBLE_METHODS = new Set<string>(['pairingKeyWrite', 'pairingKeyInvalidate', 'iConfigWrite', 'mcounterInit', 'mcounterUpdate', 'macAndDestroy']);
/** L2 requests after which the chip has no session. */
export const SESSION_ENDING = new Set<string>(['abortSecureSession', 'sleep', 'reboot']);

/** Deterministic stand-in bytes for data a log holds only the length of. */
export const filler = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff);
/** A valid P-256 scalar and Ed25519 seed; a stand-in for the key a log never holds. */
export const STAND_IN_PRIVATE_KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
/** A stand-in for a P-256 key the log marks invalid (`key: 'invalid'`): zero is no scalar. */
export const STAND_IN_INVALID_P256_KEY = new Uint8Array(32);

const num = (v: unknown, what: string): number => {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new FrameLogError(`operation argument ${what} is ${JSON.stringify(v)}, expected a number`, 'TH_FRAMELOG');
  return n;
};

/** The driver call of an operation: the function to run and the same call as TypeScript source. */
export function callOf(op: Operation): { run: (d: TropicSquare, pairingKey: Uint8Array) => Promise<unknown>; code: (driver: string) => string } {
  const a = op.args;
  const n = (k: string) => num(a[k], k);
  const curve = () => String(a.curve) as CurveName;
  const c = (expr: string) => (d: string) => `${d}.${op.method}(${expr})`;
  switch (op.method) {
    case 'getInfo': return { run: (d) => d.getInfo(n('objectId'), n('blockIndex')), code: c(`${String(a.objectId)}, ${n('blockIndex')}`) };
    case 'certificateStore': case 'chipId': case 'riscvFwVersion': case 'spectFwVersion': case 'abortSecureSession': case 'getLog': case 'resend': case 'rConfigErase': {
      const m = op.method;
      return { run: (d) => d[m](), code: c('') };
    }
    case 'startSecureSession': return { run: (d, k) => d.startSecureSession(n('slot'), k), code: c(`${n('slot')}, pairingKey`) };
    case 'sleep': return { run: (d) => d.sleep(n('kind')), code: c(`${n('kind')}`) };
    case 'reboot': return { run: (d) => d.reboot(n('mode')), code: c(`${n('mode')}`) };
    case 'ping': return { run: (d) => d.ping(filler(n('length'))), code: c(`filler(${n('length')})`) };
    case 'random': return { run: (d) => d.random(n('count')), code: c(`${n('count')}`) };
    case 'eccKeyGenerate': return { run: (d) => d.eccKeyGenerate(n('slot'), curve()), code: c(`${n('slot')}, '${curve()}'`) };
    case 'eccKeyStore': {
      const key = a.key === 'invalid' ? 'STAND_IN_INVALID_P256_KEY' : 'STAND_IN_PRIVATE_KEY';
      return { run: (d) => d.eccKeyStore(n('slot'), curve(), a.key === 'invalid' ? STAND_IN_INVALID_P256_KEY : STAND_IN_PRIVATE_KEY), code: c(`${n('slot')}, '${curve()}', ${key}`) };
    }
    case 'eccKeyRead': case 'eccKeyErase': case 'memDataRead': case 'memDataErase': case 'pairingKeyRead': case 'pairingKeyInvalidate': {
      const m = op.method;
      return { run: (d) => d[m](n('slot')), code: c(`${n('slot')}`) };
    }
    case 'ecdsaSign': return { run: (d) => d.ecdsaSign(n('slot'), filler(32)), code: c(`${n('slot')}, filler(32)`) };
    case 'eddsaSign': return { run: (d) => d.eddsaSign(n('slot'), filler(n('length'))), code: c(`${n('slot')}, filler(${n('length')})`) };
    case 'memDataWrite': return { run: (d) => d.memDataWrite(filler(n('length')), n('slot')), code: c(`filler(${n('length')}), ${n('slot')}`) };
    case 'pairingKeyWrite': return { run: (d) => d.pairingKeyWrite(n('slot'), filler(32)), code: c(`${n('slot')}, filler(32)`) };
    case 'rConfigWrite': return { run: (d) => d.rConfigWrite(n('address'), n('value')), code: c(`${String(a.address)}, ${n('value')}`) };
    case 'rConfigRead': case 'iConfigRead': {
      const m = op.method;
      return { run: (d) => d[m](n('address')), code: c(`${String(a.address)}`) };
    }
    case 'iConfigWrite': return { run: (d) => d.iConfigWrite(n('address'), n('bit')), code: c(`${String(a.address)}, ${n('bit')}`) };
    case 'mcounterInit': return { run: (d) => d.mcounterInit(n('index'), n('value')), code: c(`${n('index')}, ${n('value')}`) };
    case 'mcounterUpdate': case 'mcounterGet': {
      const m = op.method;
      return { run: (d) => d[m](n('index')), code: c(`${n('index')}`) };
    }
    case 'macAndDestroy': return { run: (d) => d.macAndDestroy(n('slot'), filler(32)), code: c(`${n('slot')}, filler(32)`) };
  }
}

/** The outcome of an error thrown by the driver (or OK). */
export function outcomeOfError(e: unknown): Outcome {
  if (e instanceof L3ResultError) return { result: e.resultName };
  if (e instanceof L2StatusError) return { result: e.statusName };
  if (e instanceof HarnessError) return { result: `error:${e.code}` };
  return { result: `error:${(e as Error)?.name ?? 'unknown'}` };
}

/** From a step's error message (annotations hold messages, not error objects). */
function outcomeOfMessage(msg: string): Outcome {
  const l3 = /chip answered L3 result (\w+)/.exec(msg);
  if (l3) return { result: l3[1] };
  const l2 = /chip answered L2 status (\w+)/.exec(msg);
  if (l2) return { result: l2[1] };
  return { result: `error:${/^(TH_[A-Z0-9_]+)/.exec(msg)?.[1] ?? 'unknown'}` };
}

export interface RunContext {
  pairingKey: Uint8Array;
  /** Pairing slot for the session an L3 command needs when none is open (default 0). */
  slot?: number;
}

/**
 * Runs operations on one driver: an L3 command without a session first gets one (the handshake it
 * needs). Outcome lengths are the L3 result data lengths (as the annotations record them).
 */
export class OperationRunner {
  readonly driver: TropicSquare;
  private lastL3?: { resultName: string; length: number };

  constructor(transport: L1Transport, private readonly ctx: RunContext, options: TropicSquareOptions = {}) {
    const annotate = options.annotate;
    this.driver = new TropicSquare(transport, {
      ...options,
      annotate: (a) => {
        if (a.kind === 'l3-result') this.lastL3 = { resultName: a.resultName, length: a.length };
        annotate?.(a);
      },
    });
  }

  async run(op: Operation): Promise<Outcome> {
    this.lastL3 = undefined;
    try {
      if (op.layer === 'l3' && !this.driver.hasSession) await this.driver.startSecureSession(this.ctx.slot ?? 0, this.ctx.pairingKey);
      await callOf(op).run(this.driver, this.ctx.pairingKey);
      const l3 = this.seenL3();
      return op.layer === 'l3' && l3 ? { result: 'OK', length: l3.length } : { result: 'OK' };
    } catch (e) {
      const o = outcomeOfError(e);
      const l3 = this.seenL3();
      return l3 && o.result === l3.resultName ? { ...o, length: l3.length } : o;
    }
  }

  /** The L3 result seen during the current operation (set by the annotate hook). */
  private seenL3(): { resultName: string; length: number } | undefined {
    return this.lastL3;
  }
}

/** Top-level driver steps of a log as operations, with the outcomes they had. */
export function operationsFromAnnotations(annotations: FrameLogAnnotation[]): Operation[] {
  const ops: Operation[] = [];
  let depth = 0;
  let current: Operation | undefined;
  for (const a of annotations) {
    if (a.kind === 'step-start') {
      if (depth++ === 0) {
        const m = a.step;
        if ((L3_METHODS as readonly string[]).includes(m)) current = { layer: 'l3', method: m as L3Method, args: a.args ?? {} };
        else if ((L2_METHODS as readonly string[]).includes(m)) current = { layer: 'l2', method: m as L2Method, args: a.args ?? {} };
        else current = undefined;
      }
    } else if (a.kind === 'l3-result' && current && depth === 1) {
      current.expect = { result: a.resultName, length: a.length };
    } else if (a.kind === 'step-end') {
      depth = Math.max(0, depth - 1);
      if (depth === 0 && current) {
        if (a.error) {
          const o = outcomeOfMessage(a.error);
          // An L3 result code other than OK: keep the data length its l3-result annotation gave.
          current.expect = current.expect?.result === o.result ? current.expect : o;
        }
        else current.expect = current.expect ?? { result: 'OK' };
        if (current.expect.result === 'OK' && current.layer === 'l3' && current.expect.length === undefined) delete current.expect.length;
        ops.push(current);
        current = undefined;
      }
    }
  }
  return ops;
}

/** Whether the operations need a pairing key (a session) to run. */
export const needsSession = (ops: Operation[]): boolean => ops.some((o) => o.layer === 'l3' || o.method === 'startSecureSession');

export const describeOperation = (op: Operation): string =>
  `${op.method}(${Object.entries(op.args).map(([k, v]) => `${k}=${String(v)}`).join(', ')})${op.expect ? ` → ${op.expect.result}${op.expect.length !== undefined ? ` (${op.expect.length} B)` : ''}` : ''}`;

