/**
 * TCP connections on one server port, each direction reassembled by sequence number:
 * retransmitted bytes are dropped, out-of-order segments wait for the bytes before them, SYN and
 * FIN take their sequence number. A hole that never fills (a packet the capture missed, or a
 * snap length that cut a payload) ends that direction's usable stream, with a warning.
 */
import type { TcpSegment } from './packet.js';

export interface StreamChunk {
  data: Uint8Array;
  timeMs: number;
  packet: number;
}

/** Signed distance a - b in 32-bit sequence space. */
const seqDiff = (a: number, b: number): number => (a - b) | 0;

export class StreamAssembler {
  readonly chunks: StreamChunk[] = [];
  bytes = 0;
  retransmittedBytes = 0;
  outOfOrderSegments = 0;
  synSeen = false;
  finSeen = false;
  /** Why the stream stops being usable, if it does (a hole in the capture). */
  broken?: string;
  private next?: number;
  private pending = new Map<number, StreamChunk>();

  constructor(readonly name: string) {}

  push(s: TcpSegment): void {
    if (s.flags.syn) {
      this.synSeen = true;
      if (this.next === undefined || this.chunks.length === 0) this.next = (s.seq + 1) >>> 0;
    }
    const start = s.flags.syn ? (s.seq + 1) >>> 0 : s.seq;
    this.next ??= start;
    if (s.payload.length > 0 || s.missing > 0) this.accept(start, { data: s.payload, timeMs: s.timeMs, packet: s.packet }, s.missing);
    if (s.flags.fin) this.finSeen = true;
  }

  private accept(seq: number, chunk: StreamChunk, missing: number): void {
    if (this.broken) return;
    const ahead = seqDiff(seq, this.next!);
    if (ahead > 0) {
      this.outOfOrderSegments++;
      const held = this.pending.get(seq);
      if (!held || held.data.length < chunk.data.length) this.pending.set(seq, chunk);
      return;
    }
    this.deliver(seq, chunk);
    if (missing > 0) {
      this.broken = `${this.name}: packet ${chunk.packet} was cut by the capture's snap length (${missing} payload bytes missing); the stream after it is not used`;
      return;
    }
    this.drain();
  }

  /** Appends the part of a chunk past `next` (a retransmission adds nothing). */
  private deliver(seq: number, chunk: StreamChunk): void {
    const overlap = -seqDiff(seq, this.next!);
    if (overlap >= chunk.data.length) {
      this.retransmittedBytes += chunk.data.length;
      return;
    }
    this.retransmittedBytes += overlap;
    const data = overlap > 0 ? chunk.data.subarray(overlap) : chunk.data;
    this.chunks.push({ ...chunk, data });
    this.bytes += data.length;
    this.next = (this.next! + data.length) >>> 0;
  }

  private drain(): void {
    for (let progress = true; progress && this.pending.size; ) {
      progress = false;
      for (const [seq, chunk] of this.pending) {
        if (seqDiff(seq, this.next!) <= 0) {
          this.pending.delete(seq);
          this.deliver(seq, chunk);
          progress = true;
        }
      }
    }
  }

  /** Called at the end of the capture: a segment still waiting means bytes before it never came. */
  finish(): void {
    if (this.broken || !this.pending.size) return;
    const first = Math.min(...[...this.pending.keys()].map((s) => seqDiff(s, this.next!)));
    const held = [...this.pending.values()].reduce((n, c) => n + c.data.length, 0);
    const packets = [...this.pending.values()].map((c) => c.packet).sort((a, b) => a - b);
    this.broken = `${this.name}: ${first} bytes never captured before packet ${packets[0]}; ${held} bytes after the hole (packets ${packets.slice(0, 5).join(', ')}${packets.length > 5 ? ', …' : ''}) are not used`;
  }
}

export interface Endpoint {
  address: string;
  port: number;
}
export const endpointText = (e: Endpoint): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

export interface TcpConnection {
  /** From 1, in order of first packet. */
  index: number;
  client: Endpoint;
  server: Endpoint;
  firstMs: number;
  lastMs: number;
  packets: number;
  reset: boolean;
  clientToServer: StreamAssembler;
  serverToClient: StreamAssembler;
}

/** Groups segments to or from `serverPort` into connections (a new SYN after a close starts a new one). */
export class ConnectionTracker {
  readonly connections: TcpConnection[] = [];
  /** Packets seen on other TCP ports, by port pair, to say what a capture holds when the port is wrong. */
  readonly otherPorts = new Map<number, number>();
  /** The server port of each other port pair, learnt from its SYN. */
  private readonly otherServerPorts = new Map<string, number>();
  private readonly open = new Map<string, TcpConnection>();

  constructor(readonly serverPort: number) {}

  push(s: TcpSegment): void {
    const toServer = s.dstPort === this.serverPort;
    const fromServer = s.srcPort === this.serverPort;
    if (!toServer && !fromServer) {
      // Named by the server's port: the one a SYN went to (or a SYN-ACK came from). Both ends may be
      // ephemeral ports, so the lower port is only the guess for a connection whose opening is not
      // in the capture.
      const pair = `${Math.min(s.srcPort, s.dstPort)}|${Math.max(s.srcPort, s.dstPort)}`;
      if (s.flags.syn) this.otherServerPorts.set(pair, s.flags.ack ? s.srcPort : s.dstPort);
      const port = this.otherServerPorts.get(pair) ?? Math.min(s.srcPort, s.dstPort);
      this.otherPorts.set(port, (this.otherPorts.get(port) ?? 0) + 1);
      return;
    }
    // Both ends on the server port: the SYN sender (or else the first sender) is the client.
    const clientSide = toServer && fromServer ? undefined : toServer ? 'src' : 'dst';
    const a = `${s.src}|${s.srcPort}`;
    const b = `${s.dst}|${s.dstPort}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let c = this.open.get(key);
    const opening = s.flags.syn && !s.flags.ack;
    if (c && opening && (c.reset || (c.clientToServer.finSeen && c.serverToClient.finSeen) || c.clientToServer.bytes > 0)) c = undefined;
    if (!c) {
      const srcIsClient = clientSide === undefined ? true : clientSide === 'src';
      const src = { address: s.src, port: s.srcPort };
      const dst = { address: s.dst, port: s.dstPort };
      c = {
        index: this.connections.length + 1,
        client: srcIsClient ? src : dst,
        server: srcIsClient ? dst : src,
        firstMs: s.timeMs,
        lastMs: s.timeMs,
        packets: 0,
        reset: false,
        clientToServer: new StreamAssembler('client→server'),
        serverToClient: new StreamAssembler('server→client'),
      };
      this.connections.push(c);
      this.open.set(key, c);
    }
    c.packets++;
    c.lastMs = Math.max(c.lastMs, s.timeMs);
    if (s.flags.rst) c.reset = true;
    const fromClient = s.src === c.client.address && s.srcPort === c.client.port;
    (fromClient ? c.clientToServer : c.serverToClient).push(s);
  }

  finish(): void {
    for (const c of this.connections) {
      c.clientToServer.finish();
      c.serverToClient.finish();
    }
  }
}
