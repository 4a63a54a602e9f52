/**
 * Writes captures: pcap (either byte order, µs or ns), pcapng (either byte order, any if_tsresol,
 * extra blocks), the link layers and IPv4/IPv6/TCP packets the importer reads, and a TCP
 * conversation with correct sequence numbers. The tests build their edge cases with it and the
 * import benchmark its large capture; `pcapToPcapng` re-wraps a real tcpdump capture.
 */
import { concat } from '../../bytes.js';
import { PCAPNG_SHB, PCAP_MAGIC } from './capture.js';
import { LINK } from './packet.js';
import { BLOCK, BYTE_ORDER_MAGIC, PcapngReader } from './pcapng.js';
import { PcapReader } from './pcap.js';

export interface WrittenPacket {
  timeMs: number;
  data: Uint8Array;
  linkType?: number;
}

/**
 * A plain Uint8Array of its own (not a Buffer, whose slice() shares memory and whose small
 * allocations sit in a shared pool). Not concat(...parts): a large capture has more parts than a
 * call may take arguments.
 */
function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

class Bytes {
  private parts: Uint8Array[] = [];
  constructor(private readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(Uint8Array.of(v));
    return this;
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, this.le);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, this.le);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, this.le);
    this.parts.push(b);
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  pad4(): this {
    const n = this.length % 4;
    if (n) this.parts.push(new Uint8Array(4 - n));
    return this;
  }
  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
  bytes(): Uint8Array {
    return concatAll(this.parts);
  }
}

export interface PcapWriteOptions {
  linkType?: number;
  littleEndian?: boolean;
  nanosecond?: boolean;
  snapLength?: number;
}

export function writePcap(packets: WrittenPacket[], o: PcapWriteOptions = {}): Uint8Array {
  const b = new Bytes(o.littleEndian ?? true);
  b.u32(o.nanosecond ? PCAP_MAGIC.nano : PCAP_MAGIC.micro).u16(2).u16(4).u32(0).u32(0).u32(o.snapLength ?? 262144).u32(o.linkType ?? LINK.ETHERNET);
  const units = o.nanosecond ? 1e9 : 1e6;
  for (const p of packets) {
    const sec = Math.floor(p.timeMs / 1000);
    const frac = Math.min(units - 1, Math.round(((p.timeMs - sec * 1000) / 1000) * units));
    b.u32(sec).u32(frac).u32(p.data.length).u32(p.data.length).raw(p.data);
  }
  return b.bytes();
}

export interface PcapngWriteOptions {
  linkType?: number;
  littleEndian?: boolean;
  /** if_tsresol byte (default 6: microseconds; 9 nanoseconds; 0x80|n for 2^-n). */
  tsresol?: number;
  /** Blocks (type, body) written after the Interface Description, before the packets. */
  extraBlocks?: { type: number; body: Uint8Array }[];
  /** Write packets as Simple Packet blocks (no timestamps) or obsolete Packet blocks. */
  packetBlock?: 'enhanced' | 'simple' | 'obsolete';
}

function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = new Bytes(le).raw(body).pad4().bytes();
  return new Bytes(le).u32(type).u32(padded.length + 12).raw(padded).u32(padded.length + 12).bytes();
}

export function writePcapng(packets: WrittenPacket[], o: PcapngWriteOptions = {}): Uint8Array {
  const le = o.littleEndian ?? true;
  const shb = new Bytes(le).u32(BYTE_ORDER_MAGIC).u16(1).u16(0).u64(0xffffffffffffffffn).bytes();
  const tsresol = o.tsresol ?? 6;
  const linkTypes = [...new Set(packets.map((p) => p.linkType ?? o.linkType ?? LINK.ETHERNET))];
  if (!linkTypes.length) linkTypes.push(o.linkType ?? LINK.ETHERNET);
  const parts = [block(le, PCAPNG_SHB, shb)];
  for (const lt of linkTypes) {
    const idb = new Bytes(le).u16(lt).u16(0).u32(0);
    if (tsresol !== 6) idb.u16(9).u16(1).u8(tsresol).pad4();
    idb.u16(0).u16(0);
    parts.push(block(le, BLOCK.INTERFACE_DESCRIPTION, idb.bytes()));
  }
  for (const x of o.extraBlocks ?? []) parts.push(block(le, x.type, x.body));
  const units = tsresol & 0x80 ? 2 ** (tsresol & 0x7f) : 10 ** tsresol;
  for (const p of packets) {
    const ifIndex = linkTypes.indexOf(p.linkType ?? o.linkType ?? LINK.ETHERNET);
    const ts = BigInt(Math.floor(p.timeMs / 1000)) * BigInt(units) + BigInt(Math.round(((p.timeMs % 1000) / 1000) * units));
    const hi = Number(ts >> 32n);
    const lo = Number(ts & 0xffffffffn);
    if (o.packetBlock === 'simple') parts.push(block(le, BLOCK.SIMPLE_PACKET, new Bytes(le).u32(p.data.length).raw(p.data).bytes()));
    else if (o.packetBlock === 'obsolete') parts.push(block(le, BLOCK.PACKET_OBSOLETE, new Bytes(le).u16(ifIndex).u16(0).u32(hi).u32(lo).u32(p.data.length).u32(p.data.length).raw(p.data).bytes()));
    else parts.push(block(le, BLOCK.ENHANCED_PACKET, new Bytes(le).u32(ifIndex).u32(hi).u32(lo).u32(p.data.length).u32(p.data.length).raw(p.data).bytes()));
  }
  return concatAll(parts);
}

/** A real pcap capture re-wrapped as pcapng (same packets, times and link type). */
export function pcapToPcapng(pcap: Uint8Array, o: Omit<PcapngWriteOptions, 'linkType'> = {}): Uint8Array {
  const r = new PcapReader(pcap);
  const packets = [...r.packets()].map((p) => ({ timeMs: p.timeMs, data: p.data, linkType: p.linkType }));
  return writePcapng(packets, { ...o, linkType: r.linkType, tsresol: o.tsresol ?? (r.nanosecond ? 9 : 6) });
}

/** Every packet of a pcapng capture (for tests that compare both readers). */
export const pcapngPackets = (data: Uint8Array): WrittenPacket[] => [...new PcapngReader(data).packets()].map((p) => ({ timeMs: p.timeMs, data: p.data, linkType: p.linkType }));

// ---- packets -------------------------------------------------------------------------------

export interface TcpFields {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags?: { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean; psh?: boolean };
  payload?: Uint8Array;
  /** IPv4 options bytes (a multiple of 4) to exercise IHL > 5. */
  ipv4Options?: Uint8Array;
  /** IPv6: a Hop-by-Hop and a Destination Options header before TCP. */
  ipv6Extensions?: boolean;
}

const ipv4Bytes = (a: string): Uint8Array => Uint8Array.from(a.split('.').map(Number));
function ipv6Bytes(a: string): Uint8Array {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => new DataView(out.buffer).setUint16(i * 2, parseInt(g || '0', 16)));
  return out;
}

/** An IP packet (v4 or v6 by the address form) carrying one TCP segment. Checksums are left 0, as loopback captures show them. */
export function tcpIpPacket(f: TcpFields): Uint8Array {
  const payload = f.payload ?? new Uint8Array(0);
  const fl = f.flags ?? { ack: true };
  const flags = (fl.fin ? 1 : 0) | (fl.syn ? 2 : 0) | (fl.rst ? 4 : 0) | (fl.psh ? 8 : 0) | (fl.ack ?? true ? 0x10 : 0);
  const tcp = new Bytes(false).u16(f.srcPort).u16(f.dstPort).u32(f.seq).u32(f.ack).u8(5 << 4).u8(flags).u16(65535).u16(0).u16(0).raw(payload).bytes();
  if (f.src.includes(':')) {
    const ext = f.ipv6Extensions ? concat(Uint8Array.of(60, 0, 1, 4, 0, 0, 0, 0), Uint8Array.of(6, 0, 1, 4, 0, 0, 0, 0)) : new Uint8Array(0);
    const next = f.ipv6Extensions ? 0 : 6;
    return new Bytes(false).u32(0x60000000).u16(ext.length + tcp.length).u8(next).u8(64).raw(ipv6Bytes(f.src)).raw(ipv6Bytes(f.dst)).raw(ext).raw(tcp).bytes();
  }
  const options = f.ipv4Options ?? new Uint8Array(0);
  const ihl = 5 + options.length / 4;
  return new Bytes(false).u8(0x40 | ihl).u8(0).u16(ihl * 4 + tcp.length).u16(0).u16(0x4000).u8(64).u8(6).u16(0).raw(ipv4Bytes(f.src)).raw(ipv4Bytes(f.dst)).raw(options).raw(tcp).bytes();
}

/** An IP packet framed for a link type. */
export function linkFrame(linkType: number, ip: Uint8Array, o: { vlanTags?: number; nullBigEndian?: boolean } = {}): Uint8Array {
  const v6 = ip[0] >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case LINK.ETHERNET: {
      const b = new Bytes(false).raw(new Uint8Array(12));
      for (let i = 0; i < (o.vlanTags ?? 0); i++) b.u16(i === 0 && (o.vlanTags ?? 0) > 1 ? 0x88a8 : 0x8100).u16(100 + i);
      return b.u16(etherType).raw(ip).bytes();
    }
    case LINK.LINUX_SLL:
      return new Bytes(false).u16(0).u16(772).u16(6).raw(new Uint8Array(8)).u16(etherType).raw(ip).bytes();
    case LINK.LINUX_SLL2:
      return new Bytes(false).u16(etherType).u16(0).u32(1).u16(772).u8(0).u8(6).raw(new Uint8Array(8)).raw(ip).bytes();
    case LINK.NULL:
      return new Bytes(!o.nullBigEndian).u32(v6 ? 24 : 2).raw(ip).bytes();
    case LINK.LOOP:
      return new Bytes(false).u32(v6 ? 24 : 2).raw(ip).bytes();
    default:
      return ip;
  }
}

export interface ConversationOptions {
  client: string;
  server: string;
  clientPort: number;
  serverPort: number;
  startMs?: number;
  /** Time between packets. */
  stepMs?: number;
}

/** A TCP conversation with consistent sequence numbers: handshake, data each way, close. */
export class TcpConversation {
  readonly packets: { timeMs: number; ip: Uint8Array; fromClient: boolean }[] = [];
  private clientSeq = 1000;
  private serverSeq = 500_000;
  private timeMs: number;
  constructor(readonly o: ConversationOptions, private readonly ipOptions: Partial<TcpFields> = {}) {
    this.timeMs = o.startMs ?? 1_700_000_000_000;
  }
  private add(fromClient: boolean, flags: TcpFields['flags'], payload?: Uint8Array): this {
    const o = this.o;
    const ip = tcpIpPacket({
      ...this.ipOptions,
      src: fromClient ? o.client : o.server,
      dst: fromClient ? o.server : o.client,
      srcPort: fromClient ? o.clientPort : o.serverPort,
      dstPort: fromClient ? o.serverPort : o.clientPort,
      seq: fromClient ? this.clientSeq : this.serverSeq,
      ack: fromClient ? this.serverSeq : this.clientSeq,
      flags,
      payload,
    });
    this.packets.push({ timeMs: this.timeMs, ip, fromClient });
    this.timeMs += this.o.stepMs ?? 0.25;
    const advance = (payload?.length ?? 0) + (flags?.syn || flags?.fin ? 1 : 0);
    if (fromClient) this.clientSeq = (this.clientSeq + advance) >>> 0;
    else this.serverSeq = (this.serverSeq + advance) >>> 0;
    return this;
  }
  /** Sets the initial sequence numbers (before `open`), e.g. near 2^32 to cross the wrap. */
  seqs(client: number, server: number): this {
    this.clientSeq = client >>> 0;
    this.serverSeq = server >>> 0;
    return this;
  }
  open(): this {
    return this.add(true, { syn: true, ack: false }).add(false, { syn: true, ack: true }).add(true, { ack: true });
  }
  client(payload: Uint8Array): this {
    return this.add(true, { ack: true, psh: true }, payload);
  }
  server(payload: Uint8Array): this {
    return this.add(false, { ack: true, psh: true }, payload);
  }
  close(): this {
    return this.add(true, { fin: true, ack: true }).add(false, { fin: true, ack: true }).add(true, { ack: true });
  }
  /** The packets framed for a link type, ready for writePcap / writePcapng. */
  frames(linkType: number = LINK.ETHERNET, o: { vlanTags?: number } = {}): WrittenPacket[] {
    return this.packets.map((p) => ({ timeMs: p.timeMs, data: linkFrame(linkType, p.ip, o), linkType }));
  }
}
