/**
 * TMAC: Tropic Square's keyed hash, used by the chip to derive deterministic ECDSA/EdDSA nonces.
 * It is a Keccak sponge over Keccak-f[400] (16-bit lanes, 20 rounds) with a 144-bit rate, a
 * two-zero-bit domain suffix and pad10*1, fed nonce || len(key) || key || 0x00 0x00 || data.
 * No maintained library ships Keccak-f[400], hence this one small permutation.
 */
const RC = [0x0001, 0x8082, 0x808a, 0x8000, 0x808b, 0x0001, 0x8081, 0x8009, 0x008a, 0x0088, 0x8009, 0x000a, 0x808b, 0x008b, 0x8089, 0x8003, 0x8002, 0x0080, 0x800a, 0x000a];
// rho offsets r[x][y] (FIPS 202), reduced mod the 16-bit lane width
const RHO = [
  [0, 36, 3, 41, 18],
  [1, 44, 10, 45, 2],
  [62, 6, 43, 15, 61],
  [28, 55, 25, 21, 56],
  [27, 20, 39, 8, 14],
].map((row) => row.map((r) => r % 16));

const rol16 = (v: number, n: number): number => (n === 0 ? v : ((v << n) | (v >>> (16 - n))) & 0xffff);

export function keccakF400(a: Uint16Array): void {
  const c = new Uint16Array(5);
  const b = new Uint16Array(25);
  for (let round = 0; round < 20; round++) {
    for (let x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ rol16(c[(x + 1) % 5], 1);
      for (let y = 0; y < 5; y++) a[x + 5 * y] ^= d;
    }
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rol16(a[x + 5 * y], RHO[x][y]);
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & 0xffff & b[(x + 2) % 5 + 5 * y]);
    a[0] ^= RC[round];
  }
}

const RATE = 18; // bytes

function sponge400(msg: Uint8Array, outLen: number): Uint8Array {
  const padded = new Uint8Array(Math.ceil((msg.length + 1) / RATE) * RATE);
  padded.set(msg);
  padded[msg.length] ^= 0x04; // suffix bits 0,0 then the first pad bit
  padded[padded.length - 1] ^= 0x80; // last pad bit
  const st = new Uint16Array(25);
  for (let off = 0; off < padded.length; off += RATE) {
    for (let i = 0; i < RATE / 2; i++) st[i] ^= padded[off + 2 * i] | (padded[off + 2 * i + 1] << 8);
    keccakF400(st);
  }
  const out = new Uint8Array(outLen);
  for (let off = 0; ; ) {
    for (let i = 0; i < RATE && off < outLen; i++, off++) out[off] = (st[i >> 1] >>> (8 * (i & 1))) & 0xff;
    if (off >= outLen) return out;
    keccakF400(st);
  }
}

export function tmac(key: Uint8Array, data: Uint8Array, nonce: Uint8Array): Uint8Array {
  const msg = new Uint8Array(nonce.length + 1 + key.length + 2 + data.length);
  msg.set(nonce, 0);
  msg[nonce.length] = key.length;
  msg.set(key, nonce.length + 1);
  msg.set(data, nonce.length + 1 + key.length + 2);
  return sponge400(msg, 32);
}
