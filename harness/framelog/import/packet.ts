/**
 * From a captured link-layer frame to a TCP segment: Ethernet (with 802.1Q / 802.1ad tags),
 * Linux cooked SLL and SLL2, BSD NULL and LOOP, raw IP; IPv4 (with options) and IPv6 (extension
 * headers skipped). Anything that is not an unfragmented TCP segment is `undefined` with a reason,
 * never an exception: captures hold all sorts of traffic.
 */
import type { CapturedPacket } from './capture.js';

export const LINK = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;
export const SUPPORTED_LINK_TYPES: readonly number[] = Object.values(LINK);

const ETHERTYPE = { IPV4: 0x0800, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, QINQ_OLD: 0x9100 } as const;
/** BSD address-family values for IPv4 and IPv6 (they differ between BSDs, Linux and macOS). */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);
const TCP = 6;

export interface TcpSegment {
  packet: number;
  offset: number;
  timeMs: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: { syn: boolean; ack: boolean; fin: boolean; rst: boolean };
  payload: Uint8Array;
  /** Payload bytes the capture's snap length cut off (the stream has a gap there). */
  missing: number;
}

export type Decoded = { segment: TcpSegment } | { skip: string };

const u16 = (d: Uint8Array, o: number): number => (d[o] << 8) | d[o + 1];
const u32 = (d: Uint8Array, o: number): number => ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;

/** The IP packet inside a link-layer frame, or why there is none. */
function ipPayload(p: CapturedPacket): Uint8Array | string {
  const d = p.data;
  switch (p.linkType) {
    case LINK.ETHERNET: {
      let at = 12;
      if (d.length < 14) return 'Ethernet frame shorter than its header';
      let type = u16(d, at);
      while (type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.QINQ_OLD) {
        at += 4;
        if (d.length < at + 2) return 'VLAN tag cut short';
        type = u16(d, at);
      }
      return type === ETHERTYPE.IPV4 || type === ETHERTYPE.IPV6 ? d.subarray(at + 2) : `EtherType 0x${type.toString(16).padStart(4, '0')} is not IP`;
    }
    case LINK.LINUX_SLL:
      if (d.length < 16) return 'Linux cooked (SLL) header cut short';
      return isIpEtherType(u16(d, 14)) ? d.subarray(16) : `SLL protocol 0x${u16(d, 14).toString(16)} is not IP`;
    case LINK.LINUX_SLL2:
      if (d.length < 20) return 'Linux cooked v2 (SLL2) header cut short';
      return isIpEtherType(u16(d, 0)) ? d.subarray(20) : `SLL2 protocol 0x${u16(d, 0).toString(16)} is not IP`;
    case LINK.NULL:
    case LINK.LOOP: {
      if (d.length < 4) return 'loopback header cut short';
      // NULL stores the family in the capturing host's byte order, LOOP in network order.
      const be = u32(d, 0);
      const le = (d[0] | (d[1] << 8) | (d[2] << 16) | (d[3] << 24)) >>> 0;
      const family = p.linkType === LINK.LOOP ? be : be < 256 ? be : le;
      return family === AF_INET || AF_INET6.has(family) ? d.subarray(4) : `loopback address family ${family} is not IP`;
    }
    case LINK.RAW:
    case LINK.IPV4:
    case LINK.IPV6:
      return d;
    default:
      return `link type ${p.linkType} is not supported`;
  }
}

const isIpEtherType = (t: number): boolean => t === ETHERTYPE.IPV4 || t === ETHERTYPE.IPV6;

function ipv4Text(d: Uint8Array, o: number): string {
  return `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
}

function ipv6Text(d: Uint8Array, o: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(u16(d, o + i).toString(16));
  // Compress the longest run of zero groups (RFC 5952), enough to read and to compare.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

const IPV6_EXTENSIONS = new Set([0, 43, 60, 135, 139, 140]);
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;

export function decodeTcp(p: CapturedPacket): Decoded {
  const ip = ipPayload(p);
  if (typeof ip === 'string') return { skip: ip };
  if (ip.length < 1) return { skip: 'empty IP packet' };
  const version = ip[0] >> 4;
  let src: string;
  let dst: string;
  let tcp: Uint8Array;
  let missing: number;
  if (version === 4) {
    const ihl = (ip[0] & 0x0f) * 4;
    if (ihl < 20 || ip.length < ihl) return { skip: `IPv4 header length ${ihl} does not fit the ${ip.length}-byte packet` };
    if (ip[9] !== TCP) return { skip: `IPv4 protocol ${ip[9]} is not TCP` };
    const fragment = u16(ip, 6);
    if (fragment & 0x3fff) return { skip: 'IPv4 fragment (fragments are not reassembled)' };
    const total = u16(ip, 2);
    // Ethernet pads short frames: the IP total length says where the packet ends. A snap length
    // that cut the packet shows as total > captured.
    if (total < ihl) return { skip: `IPv4 total length ${total} is smaller than its header` };
    missing = Math.max(0, total - ip.length);
    src = ipv4Text(ip, 12);
    dst = ipv4Text(ip, 16);
    tcp = ip.subarray(ihl, Math.min(total, ip.length));
  } else if (version === 6) {
    if (ip.length < 40) return { skip: 'IPv6 header cut short' };
    let next = ip[6];
    let at = 40;
    const end = 40 + u16(ip, 4);
    while (next !== TCP) {
      if (IPV6_EXTENSIONS.has(next) || next === IPV6_AH) {
        if (ip.length < at + 2) return { skip: 'IPv6 extension header cut short' };
        const len = next === IPV6_AH ? (ip[at + 1] + 2) * 4 : (ip[at + 1] + 1) * 8;
        next = ip[at];
        at += len;
      } else if (next === IPV6_FRAGMENT) {
        return { skip: 'IPv6 fragment (fragments are not reassembled)' };
      } else {
        return { skip: `IPv6 next header ${next} is not TCP` };
      }
    }
    if (at > ip.length) return { skip: 'IPv6 extension headers run past the packet' };
    missing = Math.max(0, end - ip.length);
    src = ipv6Text(ip, 8);
    dst = ipv6Text(ip, 24);
    tcp = ip.subarray(at, Math.max(at, Math.min(end, ip.length)));
  } else {
    return { skip: `IP version ${version} is not 4 or 6` };
  }
  if (tcp.length < 20) return { skip: 'TCP header cut short' };
  const dataOffset = (tcp[12] >> 4) * 4;
  if (dataOffset < 20 || dataOffset > tcp.length) return { skip: `TCP data offset ${dataOffset} does not fit the ${tcp.length}-byte segment` };
  const f = tcp[13];
  return {
    segment: {
      packet: p.number,
      offset: p.offset,
      timeMs: p.timeMs,
      src,
      dst,
      srcPort: u16(tcp, 0),
      dstPort: u16(tcp, 2),
      seq: u32(tcp, 4),
      ack: u32(tcp, 8),
      flags: { fin: !!(f & 0x01), syn: !!(f & 0x02), rst: !!(f & 0x04), ack: !!(f & 0x10) },
      payload: tcp.subarray(dataOffset),
      missing,
    },
  };
}
