/**
 * Frame logs: every tagged exchange on a transport, in order, as JSON lines (docs/frame-log.md).
 * Line 1 is a header (format version, harness, target, chip, transport options, random seeds,
 * start time, whether secrets are recorded); then one record per exchange (bytes in hex) and,
 * between them, annotation lines (driver steps, L3 commands with public arguments, L3 results).
 * The recorder appends each line to its file as the exchange completes (writeSync), so a killed
 * worker leaves every exchange up to the kill on disk (batching lines per event-loop turn saved a
 * few percent of a suite run and lost the turn a worker died in: not worth it). Version 1 logs (no
 * annotations) still read.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { fromHex, hex } from '../bytes.js';
import { FrameLogError } from '../errors.js';
import { TAG } from '../protocol/tagged-frame.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';
import type { TcpTransport } from '../transport/tcp-transport.js';
import type { DriverAnnotation, SessionKeysListener } from '../driver/tropic-square.js';
import { summarizeWindow, type L2Summary } from './l2-window.js';

export const FRAME_LOG_VERSION = 2;
export const SUPPORTED_FRAME_LOG_VERSIONS = [1, 2] as const;

export interface FrameLogHeader {
  frameLog: number;
  harness?: { version: string };
  target?: { kind: string; address?: string; name?: string };
  chip?: Record<string, unknown>;
  transport?: Record<string, unknown>;
  seeds?: { host?: string; model?: string; run?: string };
  /** Wall-clock start (ISO 8601); record times `t` are milliseconds after it. */
  start?: string;
  /** True when host secrets (host random draws: ephemeral keys; session keys) are recorded (TROPIC_RECORD_SECRETS=1). */
  secrets?: boolean;
  test?: string;
  [k: string]: unknown;
}

export interface FrameLogEntry {
  seq: number;
  /** v2: monotonic ms since the log's start; v1: wall-clock ms. */
  t: number;
  /** Round-trip duration, ms. */
  ms: number;
  tag: number;
  tx: string;
  rtag?: number;
  rx?: string;
  err?: string;
  /** Error code of `err` (TH_…), so replay can compare kinds. */
  code?: string;
  /** The driver step (outermost > innermost) that issued this exchange. */
  step?: string;
  /** On CSN_HIGH: what the chip-select window carried at L2. */
  l2?: L2Summary;
}

/** A secure session's keys (hex) and pairing slot: recorded only with secrets on, so decode can decrypt L3. */
export interface SessionKeysAnnotation {
  kind: 'session-keys';
  slot: number;
  kCmd: string;
  kRes: string;
}

/**
 * A fault the test injected: through a chaos proxy (`via: 'chaos'`, whose link's traffic is not in
 * this log) or inside the model (`via: 'model'`). Such a log does not replay exactly on a clean model.
 */
export interface FaultAnnotation {
  kind: 'fault';
  via: 'chaos' | 'model';
  /** The faults as the test asked for them (chaos proxy faults, or a ModelFaults.set input). */
  faults: Record<string, unknown>;
}

/** An annotation line: a driver annotation, a fault record, or (with secrets on) a recorded secret or session keys; `seq` is the next exchange's. */
export type FrameLogAnnotation = { seq: number } & (DriverAnnotation | { kind: 'secret'; what: string; hex: string } | SessionKeysAnnotation | FaultAnnotation);

export interface ParsedFrameLog {
  version: number;
  meta: FrameLogHeader | Record<string, unknown>;
  entries: FrameLogEntry[];
  annotations: FrameLogAnnotation[];
  /** The last line was cut short (a killed writer): its 1-based line number. */
  truncatedLine?: number;
  /** Corrupt lines skipped with `lenient`. */
  skipped: number;
}

export interface RecorderOptions {
  /** Append every line to this file as it happens. */
  file?: string;
  header?: Omit<FrameLogHeader, 'frameLog'>;
}

const ERROR_CODE = /^(TH_[A-Z0-9_]+)/;

export class FrameRecorder {
  readonly entries: FrameLogEntry[] = [];
  /** Driver annotations (steps, L3 commands and results), each with the sequence number it precedes. */
  readonly annotations: FrameLogAnnotation[] = [];
  private readonly listener = (r: ExchangeRecord) => this.record(r);
  private fd?: number;
  private readonly t0 = performance.now();
  private readonly steps: string[] = [];
  private window?: { tx: Uint8Array[]; rx: Uint8Array[] };
  readonly header: FrameLogHeader;

  constructor(private transport?: TcpTransport, opts: RecorderOptions = {}) {
    // A recorder on a live transport starts the clock; one filled by an importer keeps its source's times.
    this.header = { frameLog: FRAME_LOG_VERSION, ...(transport ? { start: new Date().toISOString() } : {}), secrets: false, ...opts.header };
    transport?.on('exchange', this.listener);
    if (opts.file) {
      this.fd = openSync(opts.file, 'w');
      this.writeLine(this.header);
    }
  }

  get recordsSecrets(): boolean {
    return this.header.secrets === true;
  }

  private writeLine(o: unknown): void {
    if (this.fd !== undefined) writeSync(this.fd, JSON.stringify(o) + '\n');
  }

  record(r: ExchangeRecord): void {
    const e: FrameLogEntry = {
      seq: r.seq, t: Math.round((performance.now() - this.t0) * 1000) / 1000, ms: Math.round(r.durationMs * 1000) / 1000, tag: r.tag, tx: hex(r.request),
      rtag: r.replyTag, rx: r.reply ? hex(r.reply) : undefined, err: r.error,
    };
    const code = r.error ? ERROR_CODE.exec(r.error)?.[1] : undefined;
    if (code) e.code = code;
    if (this.steps.length) e.step = this.steps.join(' > ');
    this.trackWindow(e, r);
    this.entries.push(e);
    this.writeLine(e);
  }

  private trackWindow(e: FrameLogEntry, r: ExchangeRecord): void {
    if (r.tag === TAG.CSN_LOW) this.window = { tx: [], rx: [] };
    else if (r.tag === TAG.SPI_SEND && this.window) {
      this.window.tx.push(r.request);
      this.window.rx.push(r.reply ?? new Uint8Array(0));
    } else if (r.tag === TAG.CSN_HIGH && this.window) {
      e.l2 = summarizeWindow(Buffer.concat(this.window.tx), Buffer.concat(this.window.rx));
      this.window = undefined;
    }
  }

  annotate = (a: DriverAnnotation): void => {
    if (a.kind === 'step-start') this.steps.push(a.step);
    const line = { seq: this.transport?.sequence ?? this.entries.length, ...a } as FrameLogAnnotation;
    if (a.kind === 'step-end') this.steps.pop();
    this.annotations.push(line);
    this.writeLine({ ann: line.kind, ...line });
  };

  /** Records a fault the test injected (always: it says why the log cannot replay exactly on a clean model). */
  recordFault(via: FaultAnnotation['via'], faults: Record<string, unknown>): void {
    const line: FrameLogAnnotation = { seq: this.transport?.sequence ?? this.entries.length, kind: 'fault', via, faults: JSON.parse(JSON.stringify(faults)) as Record<string, unknown> };
    this.annotations.push(line);
    this.writeLine({ ann: line.kind, ...line });
  }

  /** Records a host secret only when the header says secrets are recorded (never the pairing key). */
  recordSecret(what: string, bytes: Uint8Array): void {
    if (!this.recordsSecrets) return;
    const line: FrameLogAnnotation = { seq: this.transport?.sequence ?? this.entries.length, kind: 'secret', what, hex: hex(bytes) };
    this.annotations.push(line);
    this.writeLine({ ann: line.kind, ...line });
  }

  /**
   * The driver's `sessionKeys` listener: undefined unless the header says secrets are recorded, so
   * by default the driver is not even asked for its keys.
   */
  get sessionKeysListener(): SessionKeysListener | undefined {
    return this.recordsSecrets ? this.recordSessionKeys : undefined;
  }

  /** Records a session's keys only when the header says secrets are recorded. */
  recordSessionKeys: SessionKeysListener = ({ slot, kCmd, kRes }) => {
    if (!this.recordsSecrets) return;
    const line: FrameLogAnnotation = { seq: this.transport?.sequence ?? this.entries.length, kind: 'session-keys', slot, kCmd: hex(kCmd), kRes: hex(kRes) };
    this.annotations.push(line);
    this.writeLine({ ann: line.kind, ...line });
  };

  detach(): void {
    this.transport?.off('exchange', this.listener);
    this.transport = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The whole log as text (header, then records and annotations in sequence order). */
  toJsonl(meta: Record<string, unknown> = {}): string {
    return serializeFrameLog({ ...this.header, ...meta }, this.entries, this.annotations);
  }
}

export function serializeFrameLog(header: Record<string, unknown>, entries: FrameLogEntry[], annotations: FrameLogAnnotation[] = []): string {
  const lines = [JSON.stringify({ ...header, frameLog: FRAME_LOG_VERSION })];
  let a = 0;
  for (const e of entries) {
    while (a < annotations.length && annotations[a].seq <= e.seq) lines.push(JSON.stringify({ ann: annotations[a].kind, ...annotations[a++] }));
    lines.push(JSON.stringify(e));
  }
  while (a < annotations.length) lines.push(JSON.stringify({ ann: annotations[a].kind, ...annotations[a++] }));
  return lines.join('\n') + '\n';
}

export interface ParseOptions {
  /** Named in error messages. */
  file?: string;
  /** Skip corrupt lines (counted in `skipped`) instead of failing. */
  lenient?: boolean;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const KEY_HEX = /^[0-9a-fA-F]{64}$/;
const isByte = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;

/** Why `o` is not a valid exchange record, or undefined when it is. */
function recordProblem(o: Record<string, unknown>): string | undefined {
  if (!isByte(o.tag)) return 'numeric "tag" 0..255';
  if (typeof o.tx !== 'string' || !HEX.test(o.tx)) return 'hex string "tx"';
  if (o.rx !== undefined && o.rx !== null && (typeof o.rx !== 'string' || !HEX.test(o.rx))) return 'hex string "rx" or none';
  if (o.rtag !== undefined && o.rtag !== null && !isByte(o.rtag)) return 'numeric "rtag" 0..255 or none';
  if (o.seq !== undefined && !Number.isSafeInteger(o.seq)) return 'integer "seq"';
  if (o.err !== undefined && o.err !== null && typeof o.err !== 'string') return 'string "err" or none';
  return undefined;
}

/** Why an annotation line lacks what readers use, or undefined when it has it. */
function annotationProblem(o: Record<string, unknown>): string | undefined {
  const str = (k: string) => typeof o[k] === 'string';
  const obj = (k: string) => o[k] === undefined || (typeof o[k] === 'object' && o[k] !== null && !Array.isArray(o[k]));
  switch (o.ann) {
    case 'step-start': return str('step') && obj('args') ? undefined : 'string "step" and object "args"';
    case 'step-end': return str('step') && (o.error === undefined || str('error')) ? undefined : 'string "step" and optional string "error"';
    case 'l3-command': return str('command') && obj('args') ? undefined : 'string "command" and object "args"';
    case 'l3-result': return str('command') && isByte(o.result) && str('resultName') && Number.isSafeInteger(o.length) ? undefined : 'string "command", "resultName", byte "result", integer "length"';
    case 'secret': return str('what') && typeof o.hex === 'string' && HEX.test(o.hex) ? undefined : 'string "what" and hex "hex"';
    case 'session-keys': return Number.isSafeInteger(o.slot) && KEY_HEX.test(String(o.kCmd)) && KEY_HEX.test(String(o.kRes)) ? undefined : 'integer "slot" and 32-byte hex "kCmd", "kRes"';
    case 'fault': return (o.via === 'chaos' || o.via === 'model') && obj('faults') && o.faults !== undefined ? undefined : '"via" chaos or model and object "faults"';
    default: return 'one of step-start, step-end, l3-command, l3-result, secret, session-keys, fault';
  }
}

/** Parses a frame log (v1 or v2). Every problem is a FrameLogError naming the file, line and what was expected. */
export function parseFrameLog(text: string, opts: ParseOptions = {}): ParsedFrameLog {
  if (typeof text !== 'string') throw new FrameLogError(`${opts.file ?? 'frame log'}: expected text, got ${typeof text}`, 'TH_FRAMELOG_PARSE');
  const where = (n: number) => `${opts.file ?? 'frame log'} line ${n}`;
  const lines = text.split('\n');
  const endsCleanly = text.endsWith('\n');
  const out: ParsedFrameLog = { version: 1, meta: {}, entries: [], annotations: [], skipped: 0 };
  let sawContent = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (!l.trim()) continue;
    const n = i + 1;
    const last = i === lines.length - 1;
    const fail = (what: string): void => {
      if (opts.lenient) {
        out.skipped++;
        return;
      }
      throw new FrameLogError(`${where(n)}: ${what}: ${JSON.stringify(l.slice(0, 80))}`, 'TH_FRAMELOG_PARSE');
    };
    let o: unknown;
    try {
      o = JSON.parse(l);
    } catch {
      // A writer killed mid-line leaves a last line without its newline: report it and go on.
      if (last && !endsCleanly) {
        out.truncatedLine = n;
        continue;
      }
      fail('not JSON (expected one JSON object per line)');
      continue;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      fail('not a JSON object (expected a header, record or annotation object)');
      continue;
    }
    const rec = o as Record<string, unknown>;
    if (!sawContent && 'frameLog' in rec) {
      sawContent = true;
      if (!SUPPORTED_FRAME_LOG_VERSIONS.includes(rec.frameLog as 1 | 2)) {
        throw new FrameLogError(`${where(n)}: frame log version ${JSON.stringify(rec.frameLog)} is not supported (expected ${SUPPORTED_FRAME_LOG_VERSIONS.join(' or ')})`, 'TH_FRAMELOG_VERSION');
      }
      out.version = rec.frameLog as number;
      out.meta = rec as FrameLogHeader;
      continue;
    }
    sawContent = true;
    if (typeof rec.ann === 'string') {
      if (!Number.isSafeInteger(rec.seq)) {
        fail('annotation without an integer "seq"');
        continue;
      }
      const problem = annotationProblem(rec);
      if (problem) {
        fail(`not a valid "${String(rec.ann)}" annotation (expected ${problem})`);
        continue;
      }
      const { ann, ...rest } = rec;
      out.annotations.push({ ...rest, kind: ann } as unknown as FrameLogAnnotation);
      continue;
    }
    const problem = recordProblem(rec);
    if (problem) {
      fail(`not a frame record (expected ${problem})`);
      continue;
    }
    const e = rec as unknown as FrameLogEntry;
    if (e.seq === undefined) e.seq = out.entries.length;
    if (typeof e.t !== 'number') e.t = 0;
    if (typeof e.ms !== 'number') e.ms = 0;
    if (e.rx === null) delete e.rx;
    if (e.rtag === null) delete e.rtag;
    if (e.err === null) delete e.err;
    out.entries.push(e);
  }
  return out;
}

export const entryBytes = (e: FrameLogEntry): { tx: Uint8Array; rx?: Uint8Array } => ({ tx: fromHex(e.tx), rx: e.rx !== undefined ? fromHex(e.rx) : undefined });
