/**
 * pcapng files (draft-ietf-opsawg-pcapng): Section Header blocks in either byte order (each
 * section has its own), Interface Description (link type, if_tsresol, if_tsoffset), Enhanced
 * Packet, Simple Packet and the obsolete Packet block. Every other block type (Name Resolution,
 * Interface Statistics, Decryption Secrets, custom, systemd journal…) is skipped by its length.
 */
import { MAX_PACKET_BYTES, PCAPNG_SHB, pcapError, type CaptureReader, type CaptureWarning, type CapturedPacket } from './capture.js';

export const BLOCK = {
  SECTION_HEADER: PCAPNG_SHB,
  INTERFACE_DESCRIPTION: 0x00000001,
  PACKET_OBSOLETE: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
  DECRYPTION_SECRETS: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NO_COPY: 0x40000bad,
} as const;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT = { END: 0, IF_TSRESOL: 9, IF_TSOFFSET: 14 } as const;

interface Interface {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second. */
  unitsPerSecond: bigint;
  offsetSeconds: bigint;
}

export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng' as const;
  readonly warnings: CaptureWarning[] = [];
  /** Byte order of each section, in file order. */
  readonly sections: ('little' | 'big')[] = [];
  /** Block types skipped by length, with how many of each. */
  readonly skippedBlocks = new Map<number, number>();
  private readonly dv: DataView;

  constructor(private readonly data: Uint8Array, private readonly file = 'capture') {
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < 4 || this.dv.getUint32(0, false) !== PCAPNG_SHB) {
      throw pcapError(file, 0, 'not a pcapng file: the first block is not a Section Header', 'block type 0a0d0d0a');
    }
  }

  *packets(): Iterable<CapturedPacket> {
    const d = this.data;
    let le = true;
    let interfaces: Interface[] = [];
    let offset = 0;
    let number = 0;
    while (offset < d.length) {
      if (d.length - offset < 12) {
        this.warnings.push({ offset, message: `file ends inside a block header (${d.length - offset} bytes left, a block needs at least 12); the rest is ignored` });
        return;
      }
      let type = this.dv.getUint32(offset, le);
      if (this.dv.getUint32(offset, false) === PCAPNG_SHB) {
        // A new section: its byte-order magic decides how everything in it is read.
        type = PCAPNG_SHB;
        const bom = this.dv.getUint32(offset + 8, true);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (this.dv.getUint32(offset + 8, false) === BYTE_ORDER_MAGIC) le = false;
        else throw pcapError(this.file, offset + 8, `Section Header byte-order magic is 0x${this.dv.getUint32(offset + 8, false).toString(16).padStart(8, '0')}`, '1a2b3c4d in either byte order');
        this.sections.push(le ? 'little' : 'big');
        interfaces = [];
      } else if (this.sections.length === 0) {
        throw pcapError(this.file, offset, 'the first block is not a Section Header', 'block type 0a0d0d0a');
      }
      const length = this.dv.getUint32(offset + 4, le);
      if (length < 12 || length % 4 !== 0) throw pcapError(this.file, offset + 4, `block of type 0x${type.toString(16)} has total length ${length}`, 'a multiple of 4, at least 12');
      if (offset + length > d.length) {
        this.warnings.push({ offset, message: `file ends inside a block of type 0x${type.toString(16)} (${d.length - offset} of ${length} bytes); the rest is ignored` });
        return;
      }
      const trailer = this.dv.getUint32(offset + length - 4, le);
      if (trailer !== length) throw pcapError(this.file, offset + length - 4, `block of type 0x${type.toString(16)} ends with total length ${trailer}, it starts with ${length}`, `${length}`);
      const body = offset + 8;
      const bodyEnd = offset + length - 4;
      const need = (n: number, what: string): void => {
        if (bodyEnd - body < n) throw pcapError(this.file, offset, `${what} block of ${length} bytes is too short for its ${n}-byte fixed part`, `a body of at least ${n} bytes`);
      };
      switch (type) {
        case PCAPNG_SHB: {
          need(16, 'Section Header');
          const major = this.dv.getUint16(body + 4, le);
          if (major !== 1) throw pcapError(this.file, body + 4, `pcapng major version ${major} is not supported`, 'major version 1');
          break;
        }
        case BLOCK.INTERFACE_DESCRIPTION: {
          need(8, 'Interface Description');
          const iface: Interface = { linkType: this.dv.getUint16(body, le), snapLength: this.dv.getUint32(body + 4, le), unitsPerSecond: 1_000_000n, offsetSeconds: 0n };
          this.readOptions(body + 8, bodyEnd, le, (code, at, len) => {
            if (code === OPT.IF_TSRESOL && len >= 1) iface.unitsPerSecond = this.resolution(d[at], at);
            if (code === OPT.IF_TSOFFSET && len >= 8) iface.offsetSeconds = this.dv.getBigInt64(at, le);
          });
          interfaces.push(iface);
          break;
        }
        case BLOCK.ENHANCED_PACKET:
        case BLOCK.PACKET_OBSOLETE: {
          need(20, type === BLOCK.ENHANCED_PACKET ? 'Enhanced Packet' : 'Packet');
          const ifIndex = type === BLOCK.ENHANCED_PACKET ? this.dv.getUint32(body, le) : this.dv.getUint16(body, le);
          const iface = this.iface(interfaces, ifIndex, offset);
          const ts = (BigInt(this.dv.getUint32(body + 4, le)) << 32n) | BigInt(this.dv.getUint32(body + 8, le));
          const captured = this.dv.getUint32(body + 12, le);
          const original = this.dv.getUint32(body + 16, le);
          if (captured > bodyEnd - (body + 20) || captured > MAX_PACKET_BYTES) {
            throw pcapError(this.file, body + 12, `packet block declares ${captured} captured bytes, the block holds ${bodyEnd - body - 20}`, `at most ${Math.min(bodyEnd - body - 20, MAX_PACKET_BYTES)}`);
          }
          number++;
          yield { number, offset, timeMs: this.timeMs(ts, iface), linkType: iface.linkType, data: d.subarray(body + 20, body + 20 + captured), originalLength: Math.max(original, captured) };
          break;
        }
        case BLOCK.SIMPLE_PACKET: {
          need(4, 'Simple Packet');
          const iface = this.iface(interfaces, 0, offset);
          const original = this.dv.getUint32(body, le);
          let captured = Math.min(original, bodyEnd - body - 4);
          if (iface.snapLength > 0) captured = Math.min(captured, iface.snapLength);
          number++;
          // A Simple Packet has no timestamp: it gets none (0) rather than a made-up one.
          yield { number, offset, timeMs: 0, linkType: iface.linkType, data: d.subarray(body + 4, body + 4 + captured), originalLength: Math.max(original, captured) };
          break;
        }
        default:
          this.skippedBlocks.set(type, (this.skippedBlocks.get(type) ?? 0) + 1);
      }
      offset += length;
    }
  }

  private iface(interfaces: Interface[], index: number, offset: number): Interface {
    const iface = interfaces[index];
    if (!iface) throw pcapError(this.file, offset, `packet block names interface ${index}, the section has ${interfaces.length} Interface Description block(s) before it`, `interface id < ${interfaces.length}`);
    return iface;
  }

  private resolution(v: number, at: number): bigint {
    const exponent = BigInt(v & 0x7f);
    if (v & 0x80) {
      if (exponent > 62n) throw pcapError(this.file, at, `if_tsresol 2^-${exponent} is finer than this reader handles`, 'an exponent of 62 or less');
      return 1n << exponent;
    }
    if (exponent > 18n) throw pcapError(this.file, at, `if_tsresol 10^-${exponent} is finer than this reader handles`, 'an exponent of 18 or less');
    return 10n ** exponent;
  }

  private timeMs(ts: bigint, iface: Interface): number {
    const seconds = ts / iface.unitsPerSecond + iface.offsetSeconds;
    const fraction = ts % iface.unitsPerSecond;
    return Number(seconds) * 1000 + (Number(fraction) * 1000) / Number(iface.unitsPerSecond);
  }

  /** Walks a block's options (code u16, length u16, value padded to 4 bytes) up to opt_endofopt. */
  private readOptions(from: number, end: number, le: boolean, each: (code: number, at: number, length: number) => void): void {
    let at = from;
    while (at + 4 <= end) {
      const code = this.dv.getUint16(at, le);
      const length = this.dv.getUint16(at + 2, le);
      if (code === OPT.END) return;
      if (at + 4 + length > end) throw pcapError(this.file, at, `option ${code} declares ${length} bytes, ${end - at - 4} remain in its block`, `at most ${end - at - 4}`);
      each(code, at + 4, length);
      at += 4 + ((length + 3) & ~3);
    }
  }
}
