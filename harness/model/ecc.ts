/**
 * The chip's key setup and deterministic signing, as ts-tvl defines them: ECDSA P-256 with a
 * TMAC-derived nonce bound to the session (handshake hash, nonce), and Ed25519 whose r comes from
 * TMAC instead of SHA-512. Both produce standard signatures that any verifier accepts.
 */
import { createHash } from 'node:crypto';
import { p256 } from '@noble/curves/p256';
import { ed25519 } from '@noble/curves/ed25519';
import { concat } from '../bytes.js';
import { tmac } from './tmac.js';
import type { EccKeySlot } from './chip-state.js';
import { ModelError } from '../errors.js';

const P256_N = p256.CURVE.n;
const ED_L = ed25519.CURVE.n;

const beInt = (b: Uint8Array): bigint => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
const leInt = (b: Uint8Array): bigint => beInt(Uint8Array.from(b).reverse());
const beBytes = (n: bigint, len = 32): Uint8Array => Uint8Array.from(Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex'));
const leBytes = (n: bigint, len = 32): Uint8Array => beBytes(n, len).reverse();
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

export function p256ValidPrivate(k: Uint8Array): boolean {
  const v = beInt(k);
  return v >= 1n && v < P256_N;
}

export function p256Setup(k: Uint8Array, origin: 1 | 2): EccKeySlot {
  let d = mod(beInt(k), P256_N);
  if (d === 0n) d = 1n; // a generated all-zero scalar; vanishingly unlikely outside debug RNG values
  const dBytes = beBytes(d);
  const pub = p256.ProjectivePoint.BASE.multiply(d).toRawBytes(false).slice(1);
  return { curve: 'P256', origin, secret: dBytes, publicKey: pub, aux: tmac(dBytes, new Uint8Array(0), Uint8Array.of(0x0a)) };
}

export function ed25519Setup(seed: Uint8Array, origin: 1 | 2): EccKeySlot {
  const h = new Uint8Array(createHash('sha512').update(seed).digest());
  let s = leInt(h.subarray(0, 32));
  s &= (1n << 254n) - 8n;
  s |= 1n << 254n;
  s = mod(s, ED_L);
  return { curve: 'ED25519', origin, secret: Uint8Array.from(seed), publicKey: ed25519.getPublicKey(seed), aux: leBytes(s), prefix: h.slice(32) };
}

/** ECDSA over the 32-byte hash z; `sessionHash` and `nonce` (4 bytes LE) bind k to the session. */
export function ecdsaSign(key: EccKeySlot, z: Uint8Array, sessionHash: Uint8Array, nonce: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  const k1 = tmac(key.aux, concat(sessionHash, nonce, z), Uint8Array.of(0x0b));
  const k2 = tmac(k1, new Uint8Array(0), Uint8Array.of(0x0b));
  const k = mod(beInt(concat(k2, k1)), P256_N);
  if (k === 0n) throw new ModelError('ECDSA nonce derived from TMAC is zero', 'TH_MODEL_STATE');
  const r = mod(p256.ProjectivePoint.BASE.multiply(k).toAffine().x, P256_N);
  const s = mod(inv(k, P256_N) * (beInt(z) + beInt(key.secret) * r), P256_N);
  if (r === 0n || s === 0n) throw new ModelError('ECDSA produced a zero r or s', 'TH_MODEL_STATE');
  return { r: beBytes(r), s: beBytes(s) };
}

export function eddsaSign(key: EccKeySlot, msg: Uint8Array, sessionHash: Uint8Array, nonce: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  const prefixRev = Uint8Array.from(key.prefix!).reverse();
  const r1 = tmac(prefixRev, concat(sessionHash, nonce, msg), Uint8Array.of(0x0c));
  const r2 = tmac(r1, new Uint8Array(0), Uint8Array.of(0x0c));
  let r = mod(beInt(concat(r2, r1)), ED_L);
  if (r === 0n) r = 1n;
  const R = ed25519.ExtendedPoint.BASE.multiply(r).toRawBytes();
  const e = mod(leInt(new Uint8Array(createHash('sha512').update(R).update(key.publicKey).update(msg).digest())), ED_L);
  const S = mod(r + e * leInt(key.aux), ED_L);
  return { r: R, s: leBytes(S) };
}
