/**
 * libtropic console output built with LT_PRINT_SPI_DATA → frame-log entries.
 *
 * What libtropic prints (src/lt_l1.c, print_hex_chunks): one record per chip-select window that
 * carried an L2 frame, `  >>  TX: ` (the request written by lt_l1_write, printed before the
 * transfer) or `  <<  RX: ` (a response read by lt_l1_read: CHIP_STATUS, STATUS, LEN, data,
 * CRC, printed after chip select goes high), then "%02X " per byte, a line break and ten spaces
 * after every 32 bytes, a final line break. Polls that found no response are not printed. Other
 * log lines (LT_LOG_*: "INFO    [  42] …\r\n", the application's own output) may sit between
 * records and are ignored.
 *
 * Each record becomes a window as the project's driver would send it: TX → CSN_LOW, SPI_SEND
 * (the request; what the chip clocked back is not printed, so the reply is left out), CSN_HIGH;
 * RX → CSN_LOW, SPI_SEND(0xAA → CHIP_STATUS), SPI_SEND(2 → STATUS, LEN), SPI_SEND(LEN+2 → data,
 * CRC), CSN_HIGH, as libtropic reads. The result decodes and replays like a recorded log.
 */
import { basename } from 'node:path';
import { hex } from '../../bytes.js';
import { FrameLogError } from '../../errors.js';
import { TAG } from '../../protocol/tagged-frame.js';
import { L2_REQ } from '../../protocol/l2.js';
import type { FrameLogEntry } from '../frame-log.js';
import type { ImportResult } from './capture-import.js';

export interface LtLogImportOptions {
  file?: string;
  /** Stop at the first unparseable record instead of reporting it and going on. */
  strict?: boolean;
}

export interface LtLogProblem {
  line: number;
  reason: string;
}

export interface LtLogImportResult extends ImportResult {
  problems: LtLogProblem[];
}

interface Record {
  direction: 'TX' | 'RX';
  line: number;
  /** Characters before the marker on its line (a terminal's timestamp, say); continuation lines carry one as long. */
  prefixLength: number;
  bytes: number[];
}

const MARKER = /(>>|<<)\s*(TX|RX):(.*)$/;
const HEX_LINE = /^\s+((?:[0-9A-Fa-f]{2}\s+)*[0-9A-Fa-f]{2})\s*$/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** Lines that look like an LT_PRINT_SPI_DATA record: used to tell a console log from other text. */
export const looksLikeLtSpiLog = (text: string): boolean => /(>>\s*TX|<<\s*RX):\s*[0-9A-Fa-f]{2}(\s|$)/m.test(text);

/** Bytes a record must hold, once its length byte has been printed. */
function expectedLength(r: Record): number | undefined {
  if (r.direction === 'TX') {
    // lt_get_tr01_mode writes a lone Get_Response byte; every other write is an L2 request frame.
    if (r.bytes.length >= 1 && r.bytes[0] === L2_REQ.GET_RESPONSE) return 1;
    return r.bytes.length >= 2 ? r.bytes[1] + 4 : undefined;
  }
  return r.bytes.length >= 3 ? r.bytes[2] + 5 : undefined;
}

function parseHexTokens(text: string): number[] | string {
  const out: number[] = [];
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    if (!/^[0-9A-Fa-f]{2}$/.test(token)) return `"${token.slice(0, 16)}" is not a hex byte`;
    out.push(parseInt(token, 16));
  }
  return out;
}

export function importLtSpiLog(text: string, opts: LtLogImportOptions = {}): LtLogImportResult {
  const file = basename(opts.file ?? 'console log');
  const problems: LtLogProblem[] = [];
  const entries: FrameLogEntry[] = [];
  const counts = { tx: 0, rx: 0, otherLines: 0 };
  let open: Record | undefined;
  /** Prefix length of the last record's marker line: its blank continuation lines carry the prefix too. */
  let lastPrefixLength = 0;

  const problem = (line: number, reason: string): void => {
    if (opts.strict) throw new FrameLogError(`${file}: line ${line}: ${reason}`, 'TH_LTLOG', { expected: 'LT_PRINT_SPI_DATA records ("  >>  TX: " / "  <<  RX: " then hex bytes)' });
    problems.push({ line, reason });
  };
  const push = (tag: number, tx: Uint8Array, rx?: Uint8Array): void => {
    const e: FrameLogEntry = { seq: entries.length, t: 0, ms: 0, tag, tx: hex(tx), rtag: tag };
    if (rx) e.rx = hex(rx);
    entries.push(e);
  };
  const emit = (r: Record): void => {
    const b = Uint8Array.from(r.bytes);
    push(TAG.CSN_LOW, new Uint8Array(0), new Uint8Array(0));
    if (r.direction === 'TX') {
      push(TAG.SPI_SEND, b);
      counts.tx++;
    } else {
      push(TAG.SPI_SEND, Uint8Array.of(L2_REQ.GET_RESPONSE), b.subarray(0, 1));
      push(TAG.SPI_SEND, new Uint8Array(2), b.subarray(1, 3));
      push(TAG.SPI_SEND, new Uint8Array(b.length - 3), b.subarray(3));
      counts.rx++;
    }
    push(TAG.CSN_HIGH, new Uint8Array(0), new Uint8Array(0));
  };
  /** Emits or reports the open record; `cut` says it was interrupted rather than finished. */
  const close = (why?: string): void => {
    const r = open;
    open = undefined;
    if (!r) return;
    const want = expectedLength(r);
    if (want === undefined) {
      // print_hex_chunks takes a uint8_t length: a 257-byte response (LEN 252) is printed as 1 byte.
      const hint = r.direction === 'RX' && r.bytes.length === 1 ? ': libtropic prints a 257-byte response (LEN 252) as its first byte only, print_hex_chunks takes a uint8_t length' : '';
      return problem(r.line, `${r.direction} record has ${r.bytes.length} byte(s), too few to hold its length byte${hint}${why ? ` (${why})` : ''}`);
    }
    if (r.bytes.length === want) return emit(r);
    problem(r.line, `${r.direction} record has ${r.bytes.length} bytes, its length byte declares ${want}${why ? ` (${why})` : ''}`);
  };

  const lines = text.split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(ANSI, '');
    const m = MARKER.exec(line);
    if (m) {
      close(`line ${n} starts the next record`);
      const direction = m[2] as 'TX' | 'RX';
      if ((m[1] === '>>') !== (direction === 'TX')) return problem(n, `"${m[1]}" with ${direction}: libtropic prints ">>  TX" and "<<  RX"`);
      const bytes = parseHexTokens(m[3]);
      if (typeof bytes === 'string') return problem(n, `${direction} record: ${bytes}`);
      open = { direction, line: n, prefixLength: m.index, bytes };
      lastPrefixLength = m.index;
      if (expectedLength(open) !== undefined && open.bytes.length >= expectedLength(open)!) close();
      return;
    }
    if (!line.trim() || (lastPrefixLength > 0 && !line.slice(lastPrefixLength).trim())) return;
    const hexLine = HEX_LINE.exec(line) ?? (open && open.prefixLength > 0 ? HEX_LINE.exec(line.slice(open.prefixLength)) : null);
    if (hexLine && open) {
      open.bytes.push(...(parseHexTokens(hexLine[1]) as number[]));
      const want = expectedLength(open);
      if (want !== undefined && open.bytes.length >= want) close();
      return;
    }
    if (hexLine) return problem(n, 'a line of hex bytes with no TX/RX record open before it (its "  >>  TX:" or "  <<  RX:" line is missing or was already complete)');
    counts.otherLines++;
  });
  close('the log ends');

  if (counts.tx + counts.rx === 0 && problems.length === 0) {
    throw new FrameLogError(`${file}: no LT_PRINT_SPI_DATA output in ${lines.length} lines`, 'TH_LTLOG', {
      expected: 'lines "  >>  TX: …" / "  <<  RX: …" from libtropic built with -DLT_PRINT_SPI_DATA=1',
    });
  }
  const warnings = problems.map((p) => `${file}: line ${p.line}: ${p.reason}`);
  return {
    meta: { source: 'lt-spi-log', file, transfers: { tx: counts.tx, rx: counts.rx }, otherLines: counts.otherLines, timing: 'none', ...(warnings.length ? { warnings } : {}) },
    entries,
    warnings,
    problems,
  };
}
