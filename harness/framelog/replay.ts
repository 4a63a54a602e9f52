/**
 * Replay a frame log against a target.
 * - exact: re-send every recorded tagged message, byte for byte, and compare every reply. With the
 *   log's seeds on the embedded model (its random source) a harness-recorded log matches fully;
 *   the first divergence is explained (layer, field, expected, got, driver step). An error recorded
 *   for a message must be met by an error of the same kind (code). A target that stops answering
 *   ends the replay at the first timeout.
 * - semantic: re-run the recorded operations (L2 requests and L3 commands from the annotations)
 *   through the driver with a new session, and compare statuses, result codes and lengths.
 */
import { hex } from '../bytes.js';
import { HarnessError, TimeoutError, TransportError } from '../errors.js';
import { TAG, tagName } from '../protocol/tagged-frame.js';
import { L2_REQ, statusName } from '../protocol/l2.js';
import type { L1Transport } from '../transport/l1-transport.js';
import { entryBytes, type FrameLogEntry } from './frame-log.js';
import { chipStatusText } from './l2-window.js';
import { OperationRunner, describeOperation, operationsFromAnnotations, type Operation, type Outcome } from './operations.js';
import type { FrameLogAnnotation } from './frame-log.js';

/** What replay needs from a transport: one tagged message, one reply. */
export interface ExchangeTransport {
  exchange(tag: number, payload?: Uint8Array): Promise<Uint8Array>;
}

export interface Divergence {
  seq: number;
  tag: string;
  expected: string;
  actual: string;
  /** Decoded: which layer and field differ, and the driver step that sent the message. */
  layer?: string;
  field?: string;
  step?: string;
}

export interface ReplayResult {
  sent: number;
  matched: number;
  diverged: Divergence[];
  errors: { seq: number; error: string }[];
  /** Set when the target stopped answering (or the link failed): the replay ended there. */
  targetError?: { seq: number; error: string };
}

const codeOf = (msg: string | undefined): string | undefined => (msg ? /^(TH_[A-Z0-9_]+)/.exec(msg)?.[1] : undefined);
const LINK_FAILURES = new Set(['TH_TIMEOUT', 'TH_TCP_CLOSED', 'TH_TCP_LINK_LOST', 'TH_TCP_IO', 'TH_TCP_CONNECT']);

/** Explains where a reply differs: CHIP_STATUS, L2 STATUS/RSP_LEN/data/CRC, or the bytes under a request. */
export function explainSpiDivergence(windowTx: Uint8Array, windowRxBefore: Uint8Array, expected: Uint8Array, actual: Uint8Array): { layer: string; field: string; expected: string; actual: string } {
  let i = 0;
  while (i < Math.min(expected.length, actual.length) && expected[i] === actual[i]) i++;
  if (i === expected.length && i === actual.length) return { layer: 'L1', field: 'none', expected: '', actual: '' };
  const offset = windowRxBefore.length;
  const p = offset + i;
  const e = expected[i];
  const a = actual[i];
  const b = (v: number | undefined) => (v === undefined ? '(none)' : `0x${v.toString(16).padStart(2, '0')}`);
  if (i >= expected.length || i >= actual.length) return { layer: 'L1', field: 'transfer length', expected: `${expected.length} B`, actual: `${actual.length} B` };
  if (p === 0) return { layer: 'L1', field: 'CHIP_STATUS', expected: `${b(e)} ${chipStatusText(e)}`, actual: `${b(a)} ${chipStatusText(a)}` };
  if (windowTx[0] !== L2_REQ.GET_RESPONSE) return { layer: 'L1', field: `byte ${p} clocked back during the request`, expected: b(e), actual: b(a) };
  if (p === 1) return { layer: 'L2', field: 'STATUS', expected: statusName(e), actual: statusName(a) };
  if (p === 2) return { layer: 'L2', field: 'RSP_LEN', expected: String(e), actual: String(a) };
  const len = Buffer.concat([windowRxBefore, expected])[2] ?? 0;
  if (p < 3 + len) return { layer: 'L2', field: `RSP_DATA byte ${p - 3} (ciphertext/tag of an L3 result when this is Encrypted_Cmd)`, expected: b(e), actual: b(a) };
  if (p < 5 + len) return { layer: 'L2', field: 'RSP_CRC', expected: b(e), actual: b(a) };
  return { layer: 'L1', field: `byte ${p} after the frame`, expected: b(e), actual: b(a) };
}

export interface ExactReplayOptions {
  onProgress?: (done: number, total: number) => void;
  /** Stop at the first divergence (default: go on and count them all). */
  stopAtFirst?: boolean;
}

/**
 * Exact replay. `replayFrameLog(entries, transport)` keeps its original signature (returns every
 * divergence); see the module comment for the rules.
 */
export async function replayFrameLog(entries: FrameLogEntry[], transport: ExchangeTransport, onProgress?: ((done: number, total: number) => void) | ExactReplayOptions): Promise<ReplayResult> {
  const opts: ExactReplayOptions = typeof onProgress === 'function' ? { onProgress } : (onProgress ?? {});
  const res: ReplayResult = { sent: 0, matched: 0, diverged: [], errors: [] };
  let windowTx: Uint8Array = new Uint8Array(0);
  let windowRx: Uint8Array = new Uint8Array(0);
  for (const [i, e] of entries.entries()) {
    const { tx, rx } = entryBytes(e);
    if (e.tag === TAG.CSN_LOW) {
      windowTx = new Uint8Array(0);
      windowRx = new Uint8Array(0);
    }
    if (e.tag === TAG.SPI_SEND && windowTx.length === 0) windowTx = tx;
    res.sent++;
    let got: Uint8Array | undefined;
    let err: unknown;
    try {
      got = await transport.exchange(e.tag, tx);
    } catch (x) {
      err = x;
    }
    const recordedCode = e.code ?? codeOf(e.err);
    if (err !== undefined) {
      const message = (err as Error).message;
      const code = err instanceof HarnessError ? err.code : codeOf(message);
      if (e.err !== undefined && (recordedCode === undefined || recordedCode === code)) res.matched++;
      else if (e.err !== undefined) res.diverged.push({ seq: e.seq, tag: tagName(e.tag), expected: `error ${recordedCode}`, actual: `error ${code}: ${message}`, layer: 'transport', field: 'error kind', step: e.step });
      else res.errors.push({ seq: e.seq, error: message });
      if (err instanceof TimeoutError || (err instanceof TransportError && LINK_FAILURES.has(err.code)) || (code && LINK_FAILURES.has(code) && !e.err)) {
        if (!e.err || recordedCode !== code) {
          res.targetError = { seq: e.seq, error: message };
          break;
        }
      }
    } else if (e.err !== undefined) {
      res.diverged.push({ seq: e.seq, tag: tagName(e.tag), expected: `error ${recordedCode ?? e.err}`, actual: `reply ${hex(got!)}`, layer: 'transport', field: 'error', step: e.step });
    } else if (rx === undefined || hex(got!) === hex(rx)) {
      res.matched++;
    } else {
      const d: Divergence = { seq: e.seq, tag: tagName(e.tag), expected: hex(rx), actual: hex(got!), step: e.step };
      if (e.tag === TAG.SPI_SEND) Object.assign(d, { ...explainSpiDivergence(windowTx, windowRx, rx, got!), seq: e.seq, tag: tagName(e.tag), step: e.step });
      else Object.assign(d, { layer: 'transport', field: 'reply payload' });
      res.diverged.push(d);
    }
    if (e.tag === TAG.SPI_SEND && rx) windowRx = Buffer.concat([windowRx, rx]);
    if (opts.onProgress && (i % 100 === 0 || i === entries.length - 1)) opts.onProgress(i + 1, entries.length);
    if (opts.stopAtFirst && res.diverged.length) break;
  }
  return res;
}

export function formatDivergence(d: Divergence): string {
  return `#${d.seq} ${d.tag}${d.layer ? ` ${d.layer} ${d.field}` : ''}: expected ${d.expected || '(empty)'}, got ${d.actual || '(empty)'}${d.step ? ` [step ${d.step}]` : ''}`;
}

export interface SemanticDivergence {
  index: number;
  op: string;
  expected: Outcome;
  actual: Outcome;
}

export interface SemanticResult {
  operations: number;
  matched: number;
  diverged: SemanticDivergence[];
}

/** Whether an outcome meets the recorded one: same result, and same length where one was recorded. */
export const outcomeMatches = (expected: Outcome | undefined, actual: Outcome): boolean =>
  expected === undefined || (expected.result === actual.result && (expected.length === undefined || actual.length === undefined || expected.length === actual.length));

/** Semantic replay of recorded operations through a driver on `transport` (see the module comment). */
export async function semanticReplay(
  ops: Operation[] | FrameLogAnnotation[],
  transport: L1Transport,
  ctx: { pairingKey: Uint8Array; slot?: number; random?: (n: number) => Uint8Array; onProgress?: (done: number, total: number) => void },
): Promise<SemanticResult> {
  const list: Operation[] = ops.length && 'kind' in ops[0] ? operationsFromAnnotations(ops as FrameLogAnnotation[]) : (ops as Operation[]);
  const runner = new OperationRunner(transport, ctx, { random: ctx.random });
  const res: SemanticResult = { operations: list.length, matched: 0, diverged: [] };
  for (const [i, op] of list.entries()) {
    const actual = await runner.run(op);
    if (outcomeMatches(op.expect, actual)) res.matched++;
    else res.diverged.push({ index: i, op: describeOperation(op), expected: op.expect!, actual });
    ctx.onProgress?.(i + 1, list.length);
  }
  return res;
}
