/**
 * Captures from elsewhere → frame logs: a pcap/pcapng capture of libtropic's tagged TCP protocol,
 * or libtropic's LT_PRINT_SPI_DATA console output. The format is told by the file's first bytes
 * (capture magics) or its content (TX/RX records), or given.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { FrameLogError } from '../../errors.js';
import { FrameRecorder } from '../frame-log.js';
import { sniffCaptureFormat } from './capture.js';
import { importCapture, listCaptureConnections, type CaptureImportOptions, type ImportResult } from './capture-import.js';
import { importLtSpiLog, looksLikeLtSpiLog } from './lt-spi-log.js';

export { importCapture, listCaptureConnections, DEFAULT_TAGGED_PORT, type ImportResult, type ConnectionSummary } from './capture-import.js';
export { importLtSpiLog, type LtLogImportResult } from './lt-spi-log.js';

export const IMPORT_FORMATS = ['auto', 'pcap', 'pcapng', 'lt-log'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export function detectFormat(data: Uint8Array, file: string): Exclude<ImportFormat, 'auto'> {
  const capture = sniffCaptureFormat(data);
  if (capture) return capture;
  if (looksLikeLtSpiLog(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'))) return 'lt-log';
  const head = Buffer.from(data.subarray(0, 4)).toString('hex') || '(empty file)';
  throw new FrameLogError(`${basename(file)}: cannot tell its format: first bytes ${head} are no pcap or pcapng magic, and no line is an LT_PRINT_SPI_DATA record`, 'TH_FRAMELOG', {
    expected: 'a pcap/pcapng capture or libtropic console output; or pass --format pcap|pcapng|lt-log',
  });
}

export interface ImportFileOptions extends Omit<CaptureImportOptions, 'format' | 'file'> {
  format?: ImportFormat;
  strict?: boolean;
}

export function importData(data: Uint8Array, file: string, opts: ImportFileOptions = {}): ImportResult {
  const format = !opts.format || opts.format === 'auto' ? detectFormat(data, file) : opts.format;
  if (format === 'lt-log') return importLtSpiLog(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1'), { file, strict: opts.strict });
  return importCapture(data, { ...opts, file, format });
}

function readInput(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new FrameLogError(`cannot read ${file}: ${(e as Error).message}`, 'TH_FRAMELOG');
  }
}

export function importFile(file: string, opts: ImportFileOptions = {}): ImportResult {
  return importData(readInput(file), file, opts);
}

export function listFileConnections(file: string, opts: ImportFileOptions = {}): ReturnType<typeof listCaptureConnections> {
  const data = readInput(file);
  const format = !opts.format || opts.format === 'auto' ? detectFormat(data, file) : opts.format;
  if (format === 'lt-log') throw new FrameLogError(`${basename(file)}: --list lists the TCP connections of a capture; this is a console log`, 'TH_FRAMELOG', { expected: 'a pcap or pcapng file' });
  return listCaptureConnections(data, { ...opts, file, format });
}

/** The frame log as JSON lines, through the recorder's own writer (header line, then one record a line). */
export function importResultToJsonl(r: ImportResult): string {
  const rec = new FrameRecorder();
  rec.entries.push(...r.entries);
  return rec.toJsonl(r.meta);
}
