/**
 * Frame logs: every tagged exchange on a transport, in order, as JSON lines (one record each,
 * bytes in hex). A log decodes to a readable L1/L2 trace and replays against any target.
 */
import { hex, fromHex } from '../bytes.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';
import type { TcpTransport } from '../transport/tcp-transport.js';
import type { DriverAnnotation } from '../driver/tropic-square.js';

export interface FrameLogEntry {
  seq: number;
  t: number;
  ms: number;
  tag: number;
  tx: string;
  rtag?: number;
  rx?: string;
  err?: string;
}

export const FRAME_LOG_VERSION = 1;

export class FrameRecorder {
  readonly entries: FrameLogEntry[] = [];
  private readonly listener = (r: ExchangeRecord) => this.record(r);

  constructor(private transport?: TcpTransport) {
    transport?.on('exchange', this.listener);
  }

  record(r: ExchangeRecord): void {
    this.entries.push({
      seq: r.seq, t: r.time, ms: Math.round(r.durationMs * 1000) / 1000, tag: r.tag, tx: hex(r.request),
      rtag: r.replyTag, rx: r.reply ? hex(r.reply) : undefined, err: r.error,
    });
  }

  /** Driver annotations (steps, L3 commands and results); attached to the records that follow. */
  readonly annotations: { seq: number; annotation: DriverAnnotation }[] = [];
  annotate = (a: DriverAnnotation): void => {
    this.annotations.push({ seq: this.transport?.sequence ?? this.entries.length, annotation: a });
  };

  detach(): void {
    this.transport?.off('exchange', this.listener);
    this.transport = undefined;
  }

  toJsonl(meta: Record<string, unknown> = {}): string {
    return [JSON.stringify({ frameLog: FRAME_LOG_VERSION, ...meta }), ...this.entries.map((e) => JSON.stringify(e))].join('\n') + '\n';
  }
}

export interface ParsedFrameLog {
  meta: Record<string, unknown>;
  entries: FrameLogEntry[];
}

export function parseFrameLog(text: string): ParsedFrameLog {
  const lines = text.split('\n').filter((l) => l.trim());
  const out: ParsedFrameLog = { meta: {}, entries: [] };
  lines.forEach((l, i) => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`frame log line ${i + 1} is not JSON: ${l.slice(0, 60)}`);
    }
    if (i === 0 && 'frameLog' in o) out.meta = o;
    else if (typeof o.tag === 'number' && typeof o.tx === 'string') out.entries.push(o as unknown as FrameLogEntry);
    else throw new Error(`frame log line ${i + 1} is not a frame record (needs numeric "tag" and hex "tx")`);
  });
  return out;
}

export const entryBytes = (e: FrameLogEntry): { tx: Uint8Array; rx?: Uint8Array } => ({ tx: fromHex(e.tx), rx: e.rx !== undefined ? fromHex(e.rx) : undefined });
