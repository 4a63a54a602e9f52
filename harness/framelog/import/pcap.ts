/**
 * Classic libpcap files: either byte order (the magic tells which), micro- or nanosecond
 * timestamps (0xa1b2c3d4 / 0xa1b23c4d). One link type for the whole file.
 */
import { MAX_PACKET_BYTES, PCAP_MAGIC, pcapError, type CaptureReader, type CaptureWarning, type CapturedPacket } from './capture.js';

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

export class PcapReader implements CaptureReader {
  readonly format = 'pcap' as const;
  readonly warnings: CaptureWarning[] = [];
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  readonly linkType: number;
  readonly snapLength: number;
  readonly version: string;
  private readonly dv: DataView;

  constructor(private readonly data: Uint8Array, private readonly file = 'capture') {
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < FILE_HEADER) throw pcapError(file, 0, `pcap file header needs ${FILE_HEADER} bytes, the file has ${data.length}`);
    const le = this.dv.getUint32(0, true);
    const be = this.dv.getUint32(0, false);
    if (le === PCAP_MAGIC.micro || le === PCAP_MAGIC.nano) this.littleEndian = true;
    else if (be === PCAP_MAGIC.micro || be === PCAP_MAGIC.nano) this.littleEndian = false;
    else throw pcapError(file, 0, `not a pcap file: magic 0x${be.toString(16).padStart(8, '0')}`, 'a1b2c3d4 or a1b23c4d in either byte order');
    this.nanosecond = this.u32(0) === PCAP_MAGIC.nano;
    this.version = `${this.u16(4)}.${this.u16(6)}`;
    if (this.u16(4) !== 2) throw pcapError(file, 4, `pcap version ${this.version} is not supported`, 'version 2.x');
    this.snapLength = this.u32(16);
    // The upper bits of the link-type field may carry FCS information (pcap draft, section 5).
    this.linkType = this.u32(20) & 0x0fffffff;
  }

  private u16(o: number): number {
    return this.dv.getUint16(o, this.littleEndian);
  }
  private u32(o: number): number {
    return this.dv.getUint32(o, this.littleEndian);
  }

  *packets(): Iterable<CapturedPacket> {
    const divisor = this.nanosecond ? 1e6 : 1e3;
    let offset = FILE_HEADER;
    let number = 0;
    while (offset < this.data.length) {
      if (this.data.length - offset < RECORD_HEADER) {
        this.warnings.push({ offset, message: `file ends inside a packet record header (${this.data.length - offset} of ${RECORD_HEADER} bytes); the rest is ignored` });
        return;
      }
      const sec = this.u32(offset);
      const frac = this.u32(offset + 4);
      const included = this.u32(offset + 8);
      const original = this.u32(offset + 12);
      if (included > MAX_PACKET_BYTES) throw pcapError(this.file, offset + 8, `packet record ${number + 1} declares ${included} captured bytes`, `at most ${MAX_PACKET_BYTES}`);
      if (frac >= (this.nanosecond ? 1e9 : 1e6)) {
        throw pcapError(this.file, offset + 4, `packet record ${number + 1} has a sub-second field of ${frac}`, this.nanosecond ? 'nanoseconds < 1e9' : 'microseconds < 1e6');
      }
      const start = offset + RECORD_HEADER;
      if (start + included > this.data.length) {
        this.warnings.push({ offset, message: `file ends inside packet ${number + 1} (${this.data.length - start} of ${included} bytes); the rest is ignored` });
        return;
      }
      number++;
      yield {
        number,
        offset,
        timeMs: sec * 1000 + frac / divisor,
        linkType: this.linkType,
        data: this.data.subarray(start, start + included),
        originalLength: Math.max(original, included),
      };
      offset = start + included;
    }
  }
}
