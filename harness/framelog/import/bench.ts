/**
 * Import throughput for `npm run bench`: a synthetic capture of a long tagged-protocol session
 * (chip-select windows with short and full-size SPI transfers, as the driver sends them) is
 * imported several times; records/s and MB/s per run. A figure, never a pass/fail.
 */
import { TAG, encodeFrame } from '../../protocol/tagged-frame.js';
import { summarize, type BenchRow } from '../../bench/measure.js';
import { importCapture } from './capture-import.js';
import { TcpConversation, writePcap } from './capture-writer.js';

export interface ImportThroughput {
  records: number;
  captureBytes: number;
  packets: number;
  runs: { recordsPerSecond: number; mbPerSecond: number }[];
  /** Medians over the runs. */
  recordsPerSecond: number;
  mbPerSecond: number;
}

/** A capture of `windows` chip-select windows (CSN_LOW, SPI_SEND, CSN_HIGH), every fourth a 257-byte transfer. */
export function syntheticCapture(windows: number): { capture: Uint8Array; records: number; packets: number } {
  const c = new TcpConversation({ client: '127.0.0.1', server: '127.0.0.1', clientPort: 40000, serverPort: 28992, stepMs: 0.01 }).open();
  const small = new Uint8Array(8).fill(0xaa);
  const large = new Uint8Array(257).fill(0x5a);
  const empty = new Uint8Array(0);
  for (let i = 0; i < windows; i++) {
    const spi = i % 4 === 3 ? large : small;
    for (const [tag, payload] of [[TAG.CSN_LOW, empty], [TAG.SPI_SEND, spi], [TAG.CSN_HIGH, empty]] as const) {
      c.client(encodeFrame(tag, payload));
      c.server(encodeFrame(tag, payload));
    }
  }
  c.close();
  const frames = c.frames();
  return { capture: writePcap(frames), records: windows * 3, packets: frames.length };
}

export function importThroughput(o: { windows?: number; runs?: number } = {}): ImportThroughput {
  const { capture, records, packets } = syntheticCapture(o.windows ?? 20_000);
  const runs: ImportThroughput['runs'] = [];
  for (let i = 0; i < (o.runs ?? 5); i++) {
    const t0 = performance.now();
    const r = importCapture(capture, { port: 28992 });
    const s = (performance.now() - t0) / 1000;
    if (r.entries.length !== records) throw new RangeError(`import benchmark: ${r.entries.length} records imported, ${records} written`);
    runs.push({ recordsPerSecond: records / s, mbPerSecond: capture.length / 1e6 / s });
  }
  return {
    records,
    captureBytes: capture.length,
    packets,
    runs,
    recordsPerSecond: summarize(runs.map((r) => r.recordsPerSecond)).median,
    mbPerSecond: summarize(runs.map((r) => r.mbPerSecond)).median,
  };
}

/** The same figures as bench table rows. */
export function importThroughputRows(t: ImportThroughput = importThroughput()): BenchRow[] {
  const note = `${t.records} records, ${(t.captureBytes / 1e6).toFixed(1)} MB pcap`;
  return [
    { measure: 'framelog import (pcap)', target: 'synthetic capture', unit: 'records/s', ...summarize(t.runs.map((r) => r.recordsPerSecond)), note },
    { measure: 'framelog import (pcap)', target: 'synthetic capture', unit: 'MB/s', ...summarize(t.runs.map((r) => r.mbPerSecond)), note },
  ];
}
