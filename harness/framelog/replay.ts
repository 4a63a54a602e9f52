/**
 * Replay: send a frame log's requests, in order, to a target and compare every reply with the
 * recorded one. Replies that depend on randomness (handshakes, ciphertexts) differ unless both
 * runs used the same random sources; the report says where the first divergence is.
 */
import { hex } from '../bytes.js';
import { tagName } from '../protocol/tagged-frame.js';
import type { TcpTransport } from '../transport/tcp-transport.js';
import { entryBytes, type FrameLogEntry } from './frame-log.js';

export interface ReplayResult {
  sent: number;
  matched: number;
  diverged: { seq: number; tag: string; expected: string; actual: string }[];
  errors: { seq: number; error: string }[];
}

export async function replayFrameLog(entries: FrameLogEntry[], transport: TcpTransport, onProgress?: (done: number, total: number) => void): Promise<ReplayResult> {
  const res: ReplayResult = { sent: 0, matched: 0, diverged: [], errors: [] };
  for (const [i, e] of entries.entries()) {
    const { tx, rx } = entryBytes(e);
    res.sent++;
    try {
      const got = await transport.exchange(e.tag, tx);
      if (rx === undefined || hex(got) === hex(rx)) res.matched++;
      else res.diverged.push({ seq: e.seq, tag: tagName(e.tag), expected: hex(rx), actual: hex(got) });
    } catch (err) {
      if (e.err) res.matched++;
      else res.errors.push({ seq: e.seq, error: (err as Error).message });
    }
    if (onProgress && (i % 100 === 0 || i === entries.length - 1)) onProgress(i + 1, entries.length);
  }
  return res;
}
