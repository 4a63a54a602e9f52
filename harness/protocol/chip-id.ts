/**
 * CHIP_ID object (Get_Info OBJECT_ID=0x01, 128 bytes): silicon revision, serial number, part
 * number, provisioning data. Field layout as libtropic's lt_chip_id_t documents it.
 */
import { hex, concat } from '../bytes.js';

export interface SerialNumber {
  sn: number;
  fabData: Uint8Array;
  fabDate: number;
  lotId: Uint8Array;
  waferId: number;
  xCoord: number;
  yCoord: number;
}

export interface ChipId {
  chipIdVersion: Uint8Array;
  flChipInfo: Uint8Array;
  funcTestInfo: Uint8Array;
  siliconRev: string;
  packageTypeId: number;
  provVerFabIdPn: Uint8Array;
  provisioningDate: Uint8Array;
  hsmVersion: Uint8Array;
  programmerVersion: Uint8Array;
  serialNumber: SerialNumber;
  /** Serial number as a hex string: the chip's identity in reports. */
  serial: string;
  partNumber: string;
  partNumberData: Uint8Array;
  provTemplateVersion: Uint8Array;
  provTemplateTag: Uint8Array;
  provSpecVersion: Uint8Array;
  provSpecTag: Uint8Array;
  batchId: Uint8Array;
  raw: Uint8Array;
}

const LAYOUT: [keyof ChipId | 'rfu1' | 'rfu2' | 'rfu3' | 'rfu4' | 'serialNumberRaw' | 'packageTypeIdRaw' | 'siliconRevRaw', number][] = [
  ['chipIdVersion', 4], ['flChipInfo', 16], ['funcTestInfo', 8], ['siliconRevRaw', 4], ['packageTypeIdRaw', 2], ['rfu1', 2],
  ['provVerFabIdPn', 4], ['provisioningDate', 2], ['hsmVersion', 4], ['programmerVersion', 4], ['rfu2', 2],
  ['serialNumberRaw', 16], ['partNumberData', 16], ['provTemplateVersion', 2], ['provTemplateTag', 4], ['provSpecVersion', 2],
  ['provSpecTag', 4], ['batchId', 5], ['rfu3', 3], ['rfu4', 24],
];

export function decodeChipId(raw: Uint8Array): ChipId {
  const b = new Uint8Array(128);
  b.set(raw.subarray(0, 128));
  const parts: Record<string, Uint8Array> = {};
  let off = 0;
  for (const [name, len] of LAYOUT) {
    parts[name] = b.slice(off, off + len);
    off += len;
  }
  const s = parts.serialNumberRaw;
  const serialNumber: SerialNumber = {
    sn: s[0], fabData: s.slice(1, 4), fabDate: s[4] | (s[5] << 8), lotId: s.slice(6, 11), waferId: s[11],
    xCoord: s[12] | (s[13] << 8), yCoord: s[14] | (s[15] << 8),
  };
  const pn = parts.partNumberData;
  const pnLen = Math.min(pn[0], 15);
  return {
    chipIdVersion: parts.chipIdVersion, flChipInfo: parts.flChipInfo, funcTestInfo: parts.funcTestInfo,
    siliconRev: new TextDecoder('latin1').decode(parts.siliconRevRaw).replace(/\0+$/, ''),
    packageTypeId: (parts.packageTypeIdRaw[0] << 8) | parts.packageTypeIdRaw[1],
    provVerFabIdPn: parts.provVerFabIdPn, provisioningDate: parts.provisioningDate, hsmVersion: parts.hsmVersion,
    programmerVersion: parts.programmerVersion, serialNumber, serial: hex(s),
    partNumber: new TextDecoder('latin1').decode(pn.subarray(1, 1 + pnLen)), partNumberData: pn,
    provTemplateVersion: parts.provTemplateVersion, provTemplateTag: parts.provTemplateTag, provSpecVersion: parts.provSpecVersion,
    provSpecTag: parts.provSpecTag, batchId: parts.batchId, raw: b,
  };
}

export interface ChipIdInput {
  siliconRev?: string;
  packageTypeId?: number;
  serialNumber?: Partial<SerialNumber>;
  partNumber?: string;
  batchId?: Uint8Array;
}

type LayoutField = (typeof LAYOUT)[number][0];

/** Build a CHIP_ID object (used by the default-configuration generator and round-trip tests). */
export function encodeChipId(i: ChipIdInput): Uint8Array {
  const sn = i.serialNumber ?? {};
  const u16le = (n = 0) => Uint8Array.of(n & 0xff, n >>> 8);
  const pn = new TextEncoder().encode((i.partNumber ?? '').slice(0, 15));
  const pkg = i.packageTypeId ?? 0x80aa;
  const fields: Partial<Record<LayoutField, Uint8Array>> = {
    chipIdVersion: Uint8Array.of(0x01, 0x00, 0x00, 0x00),
    siliconRevRaw: new TextEncoder().encode((i.siliconRev ?? 'ACAB').slice(0, 4)),
    packageTypeIdRaw: Uint8Array.of(pkg >>> 8, pkg & 0xff), // big-endian, as decodeChipId reads it
    serialNumberRaw: concat(
      Uint8Array.of(sn.sn ?? 0), sn.fabData ?? new Uint8Array(3), u16le(sn.fabDate), sn.lotId ?? new Uint8Array(5),
      Uint8Array.of(sn.waferId ?? 0), u16le(sn.xCoord), u16le(sn.yCoord),
    ),
    partNumberData: concat(Uint8Array.of(pn.length), pn),
    batchId: i.batchId ?? new Uint8Array(5),
  };
  // Each field goes where the LAYOUT table puts it, cut to its size; unnamed fields stay zero.
  const out = new Uint8Array(128);
  let off = 0;
  for (const [name, len] of LAYOUT) {
    const v = fields[name];
    if (v) out.set(v.subarray(0, len), off);
    off += len;
  }
  return out;
}

/** FW version words are 4 bytes with the major number last: [x, patch, minor, major]. */
export interface FwVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
  raw: Uint8Array;
}
export function decodeFwVersion(raw: Uint8Array): FwVersion {
  const [, patch, minor, major] = raw;
  return { major, minor, patch, text: `${major}.${minor}.${patch}`, raw };
}
export function encodeFwVersion(major: number, minor: number, patch: number): Uint8Array {
  return Uint8Array.of(0, patch, minor, major);
}
