/**
 * CRC-16 of L2 frames (datasheet 7.3.3): polynomial 0x8005, initial value 0x0000, no reflection,
 * no final XOR. On the wire the checksum is sent low byte first, like every other multi-byte field.
 */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x8005) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >>> 8) ^ data[i]) & 0xff];
  return crc;
}

/** The two CRC bytes as they appear on the wire (low byte first). */
export function crcBytes(data: Uint8Array): Uint8Array {
  const c = crc16(data);
  return Uint8Array.of(c & 0xff, c >>> 8);
}
