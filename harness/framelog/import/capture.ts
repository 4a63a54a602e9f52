/**
 * What the pcap and pcapng readers produce: link-layer frames with their capture time, in file
 * order. Both readers are strict about structure (a bad length is a TH_PCAP error naming the
 * file and byte offset) and lenient about a file cut short at its end (a warning: the packets
 * before the cut are still good, as when tcpdump is killed mid-write).
 */
import { FrameLogError } from '../../errors.js';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CapturedPacket {
  /** Packet number in the file, from 1 (as Wireshark counts). */
  number: number;
  /** Byte offset of the packet's record (pcap) or block (pcapng) in the file. */
  offset: number;
  /** Capture time, ms since the epoch (fractional; nanosecond captures keep sub-µs digits up to double precision). */
  timeMs: number;
  linkType: number;
  data: Uint8Array;
  /** Length on the wire; larger than data.length when the capture's snap length cut the packet. */
  originalLength: number;
}

export interface CaptureWarning {
  offset: number;
  message: string;
}

export interface CaptureReader {
  format: CaptureFormat;
  /** Reads every packet; warnings (truncated tail, skipped blocks of note) go to `warnings`. */
  packets(): Iterable<CapturedPacket>;
  readonly warnings: CaptureWarning[];
}

/** Largest packet record accepted (libpcap's own sanity limit is 256 KiB for most link types). */
export const MAX_PACKET_BYTES = 0x40000 * 4;

export function pcapError(file: string, offset: number, message: string, expected?: string): FrameLogError {
  return new FrameLogError(`${file}: byte offset ${offset} (0x${offset.toString(16)}): ${message}`, 'TH_PCAP', expected === undefined ? {} : { expected });
}

export const PCAP_MAGIC = { micro: 0xa1b2c3d4, nano: 0xa1b23c4d } as const;
export const PCAPNG_SHB = 0x0a0d0d0a;

/** Which capture format the first bytes announce, if any. */
export function sniffCaptureFormat(head: Uint8Array): CaptureFormat | undefined {
  if (head.length < 4) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  if (be === PCAPNG_SHB) return 'pcapng';
  if (le === PCAP_MAGIC.micro || be === PCAP_MAGIC.micro || le === PCAP_MAGIC.nano || be === PCAP_MAGIC.nano) return 'pcap';
  return undefined;
}
