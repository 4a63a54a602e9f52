/**
 * A packet capture (pcap or pcapng) of libtropic's tagged TCP protocol → frame-log entries. The
 * client→server and server→client streams of one connection are reassembled, cut into tagged
 * messages (tag, u16 LE length, payload), and paired in order: the protocol answers every
 * message with exactly one, so the n-th server message is the reply to the n-th client message.
 */
import { basename } from 'node:path';
import { hex } from '../../bytes.js';
import { FrameLogError } from '../../errors.js';
import { TAG, TaggedFrameParser, tagName } from '../../protocol/tagged-frame.js';
import type { FrameLogEntry } from '../frame-log.js';
import { sniffCaptureFormat, type CaptureFormat, type CaptureReader } from './capture.js';
import { decodeTcp } from './packet.js';
import { PcapReader } from './pcap.js';
import { PcapngReader } from './pcapng.js';
import { ConnectionTracker, endpointText, type StreamAssembler, type TcpConnection } from './tcp-streams.js';

export const DEFAULT_TAGGED_PORT = 28992;

export interface CaptureImportOptions {
  /** File name for messages and the header (the path's base name is kept). */
  file?: string;
  format?: CaptureFormat;
  /** The tagged-protocol server's TCP port (default 28992). */
  port?: number;
  /** Which connection (from 1, as `--list` numbers them); needed when the capture holds several. */
  connection?: number;
  /** Called every few thousand packets with bytes read and the file size. */
  onProgress?: (done: number, total: number) => void;
}

export interface TaggedMessage {
  tag: number;
  payload: Uint8Array;
  /** Capture time of the packet that completed the message. */
  timeMs: number;
  packet: number;
}

export interface ConnectionSummary {
  index: number;
  client: string;
  server: string;
  firstMs: number;
  lastMs: number;
  packets: number;
  clientBytes: number;
  serverBytes: number;
  requests: number;
  replies: number;
  retransmittedBytes: number;
  outOfOrderSegments: number;
  opened: boolean;
  closed: boolean;
  problems: string[];
}

export interface ImportResult {
  meta: Record<string, unknown>;
  entries: FrameLogEntry[];
  warnings: string[];
}

interface Analysis {
  format: CaptureFormat;
  file: string;
  port: number;
  packets: number;
  connections: TcpConnection[];
  tracker: ConnectionTracker;
  warnings: string[];
  linkTypes: Set<number>;
}

function openReader(data: Uint8Array, file: string, format?: CaptureFormat): CaptureReader {
  const f = format ?? sniffCaptureFormat(data);
  if (f === 'pcap') return new PcapReader(data, file);
  if (f === 'pcapng') return new PcapngReader(data, file);
  const head = hex(data.subarray(0, 4)) || '(empty file)';
  throw new FrameLogError(`${file}: byte offset 0: not a packet capture (first bytes ${head})`, 'TH_PCAP', { expected: 'pcap magic a1b2c3d4/a1b23c4d or pcapng Section Header 0a0d0d0a' });
}

function analyse(data: Uint8Array, opts: CaptureImportOptions): Analysis {
  const file = basename(opts.file ?? 'capture');
  const port = opts.port ?? DEFAULT_TAGGED_PORT;
  const reader = openReader(data, file, opts.format);
  const tracker = new ConnectionTracker(port);
  const skipped = new Map<string, number>();
  const linkTypes = new Set<number>();
  let packets = 0;
  for (const p of reader.packets()) {
    packets++;
    linkTypes.add(p.linkType);
    const d = decodeTcp(p);
    if ('segment' in d) tracker.push(d.segment);
    else skipped.set(d.skip, (skipped.get(d.skip) ?? 0) + 1);
    if (opts.onProgress && packets % 4096 === 0) opts.onProgress(p.offset, data.length);
  }
  tracker.finish();
  opts.onProgress?.(data.length, data.length);
  const warnings = reader.warnings.map((w) => `${file}: byte offset ${w.offset}: ${w.message}`);
  for (const [why, n] of skipped) if (/not supported|cut short|fragment/.test(why)) warnings.push(`${file}: ${n} packet(s) skipped: ${why}`);
  return { format: reader.format, file, port, packets, connections: tracker.connections, tracker, warnings, linkTypes };
}

/** Cuts a reassembled stream into tagged messages; a message left incomplete at the end is reported. */
export function streamMessages(stream: StreamAssembler, problems: string[]): TaggedMessage[] {
  const parser = new TaggedFrameParser();
  const out: TaggedMessage[] = [];
  for (const c of stream.chunks) for (const f of parser.push(c.data)) out.push({ tag: f.tag, payload: f.payload, timeMs: c.timeMs, packet: c.packet });
  if (parser.midFrame) problems.push(`${stream.name}: the stream ends inside a tagged message (after ${out.length} complete ones)`);
  if (stream.broken) problems.push(stream.broken);
  return out;
}

function summarise(c: TcpConnection): ConnectionSummary & { requestMessages: TaggedMessage[]; replyMessages: TaggedMessage[] } {
  const problems: string[] = [];
  const requestMessages = streamMessages(c.clientToServer, problems);
  const replyMessages = streamMessages(c.serverToClient, problems);
  return {
    index: c.index,
    client: endpointText(c.client),
    server: endpointText(c.server),
    firstMs: c.firstMs,
    lastMs: c.lastMs,
    packets: c.packets,
    clientBytes: c.clientToServer.bytes,
    serverBytes: c.serverToClient.bytes,
    requests: requestMessages.length,
    replies: replyMessages.length,
    retransmittedBytes: c.clientToServer.retransmittedBytes + c.serverToClient.retransmittedBytes,
    outOfOrderSegments: c.clientToServer.outOfOrderSegments + c.serverToClient.outOfOrderSegments,
    opened: c.clientToServer.synSeen,
    closed: c.reset || c.clientToServer.finSeen || c.serverToClient.finSeen,
    problems,
    requestMessages,
    replyMessages,
  };
}

/** Every connection to or from the port, numbered as `--connection` takes them. */
export function listCaptureConnections(data: Uint8Array, opts: CaptureImportOptions = {}): { format: CaptureFormat; packets: number; connections: ConnectionSummary[]; warnings: string[]; otherPorts: Map<number, number> } {
  const a = analyse(data, opts);
  const connections = a.connections.map((c) => {
    const { requestMessages: _r, replyMessages: _p, ...s } = summarise(c);
    return s;
  });
  return { format: a.format, packets: a.packets, connections, warnings: a.warnings, otherPorts: a.tracker.otherPorts };
}

/** Hex of a payload; Buffer's encoder is several times faster than a per-byte map on large captures. */
const payloadHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

const ERROR_TAGS = new Set<number>([TAG.EXCEPTION, TAG.INVALID, TAG.UNSUPPORTED]);
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Pairs requests with replies in order into frame-log entries. */
export function pairMessages(requests: TaggedMessage[], replies: TaggedMessage[], warnings: string[]): FrameLogEntry[] {
  const entries = requests.map((req, seq): FrameLogEntry => {
    const reply = replies[seq];
    const e: FrameLogEntry = { seq, t: round3(req.timeMs), ms: reply ? round3(Math.max(0, reply.timeMs - req.timeMs)) : 0, tag: req.tag, tx: payloadHex(req.payload) };
    if (!reply) {
      e.err = 'no reply in the capture';
      return e;
    }
    e.rtag = reply.tag;
    e.rx = payloadHex(reply.payload);
    if (ERROR_TAGS.has(reply.tag)) e.err = `server answered ${tagName(reply.tag)} (capture packet ${reply.packet})`;
    else if (reply.tag !== req.tag) e.err = `reply tag ${tagName(reply.tag)} does not echo request tag ${tagName(req.tag)} (capture packet ${reply.packet})`;
    return e;
  });
  if (replies.length > requests.length) warnings.push(`${replies.length - requests.length} server message(s) after the last request have no request to answer`);
  const mismatched = entries.filter((e) => e.rtag !== undefined && e.rtag !== e.tag && !ERROR_TAGS.has(e.rtag)).length;
  if (entries.length >= 4 && mismatched * 2 > entries.length) {
    warnings.push(`${mismatched} of ${entries.length} replies do not echo their request's tag: is this connection libtropic's tagged protocol (check --port)?`);
  }
  return entries;
}

function pick(a: Analysis, wanted: number | undefined): TcpConnection {
  const list = (): string =>
    a.connections.map((c) => `  ${c.index}: ${endpointText(c.client)} → ${endpointText(c.server)} (${c.packets} packets)`).join('\n');
  if (a.connections.length === 0) {
    const others = [...a.tracker.otherPorts.entries()].sort((x, y) => y[1] - x[1]).slice(0, 5);
    const seen = others.length ? `; TCP ports seen: ${others.map(([p, n]) => `${p} (${n} packets)`).join(', ')}` : '; it holds no TCP segments';
    throw new FrameLogError(`${a.file}: no TCP connection on port ${a.port} in ${a.packets} packets${seen}`, 'TH_PCAP', { expected: 'a connection to the tagged-protocol server: pass --port N' });
  }
  if (wanted === undefined) {
    if (a.connections.length === 1) return a.connections[0];
    throw new FrameLogError(`${a.file}: ${a.connections.length} connections on port ${a.port}; choose one with --connection N:\n${list()}`, 'TH_PCAP', { expected: '--connection N' });
  }
  const c = a.connections[wanted - 1];
  if (!c) throw new FrameLogError(`${a.file}: there is no connection ${wanted}; the capture has ${a.connections.length} on port ${a.port}:\n${list()}`, 'TH_PCAP', { expected: `1..${a.connections.length}` });
  return c;
}

export function importCapture(data: Uint8Array, opts: CaptureImportOptions = {}): ImportResult {
  const a = analyse(data, opts);
  const c = pick(a, opts.connection);
  const s = summarise(c);
  const warnings = [...a.warnings, ...s.problems];
  const entries = pairMessages(s.requestMessages, s.replyMessages, warnings);
  return {
    meta: {
      source: a.format,
      file: a.file,
      connection: { index: c.index, of: a.connections.length, client: s.client, server: s.server },
      port: a.port,
      linkTypes: [...a.linkTypes],
      capturedAt: Math.abs(c.firstMs) <= 8.64e15 ? new Date(c.firstMs).toISOString() : undefined,
      packets: c.packets,
      retransmittedBytes: s.retransmittedBytes,
      outOfOrderSegments: s.outOfOrderSegments,
      ...(warnings.length ? { warnings } : {}),
    },
    entries,
    warnings,
  };
}
