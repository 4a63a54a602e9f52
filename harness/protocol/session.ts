/**
 * The secure channel (datasheet 7.4): a Noise KK1 handshake over X25519 with SHA-256, an HKDF
 * built on HMAC-SHA-256, and AES-256-GCM with 96-bit little-endian counter nonces. Both the host
 * driver and the embedded model use these primitives: one from each side of the handshake. All of
 * them run in node:crypto (OpenSSL), which is several times faster than JavaScript on the
 * handshake's hot path; raw 32-byte X25519 keys go in through PKCS#8 and JWK and come out as JWK.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { ArgumentError, SessionError } from '../errors.js';
import { concat } from '../bytes.js';

export const PROTOCOL_NAME = concat(new TextEncoder().encode('Noise_KK1_25519_AESGCM_SHA256'), new Uint8Array(3));
export const TAG_LEN = 16;
export const MAX_NONCE = 0xffffffff;

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/**
 * The two-output HKDF of the Noise framework. It is RFC 5869 HKDF-SHA-256 with the chaining key
 * as salt, an empty info and 64 output bytes: temp = HMAC(ck, ikm), o1 = HMAC(temp, 0x01),
 * o2 = HMAC(temp, o1 || 0x02) are exactly HKDF's PRK, T(1) and T(2).
 */
export function hkdf(salt: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const okm = new Uint8Array(hkdfSync('sha256', ikm, salt, new Uint8Array(0), 64));
  return [okm.slice(0, 32), okm.slice(32)];
}

export function nonceBytes(n: number): Uint8Array {
  const iv = new Uint8Array(12);
  iv[0] = n & 0xff;
  iv[1] = (n >>> 8) & 0xff;
  iv[2] = (n >>> 16) & 0xff;
  iv[3] = (n >>> 24) & 0xff;
  return iv;
}

/** An AES-256 key imported once (a KeyObject), so each message does not import it again. */
export type AesKey = Uint8Array | KeyObject;

export function aesGcmEncrypt(key: AesKey, iv: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, iv);
  if (aad) c.setAAD(aad);
  const body = c.update(plaintext);
  c.final();
  const out = new Uint8Array(body.length + TAG_LEN);
  out.set(body);
  out.set(c.getAuthTag(), body.length);
  return out;
}

/** Returns undefined when the tag does not authenticate. */
export function aesGcmDecrypt(key: AesKey, iv: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined {
  if (sealed.length < TAG_LEN) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    if (aad) d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
    const out = d.update(sealed.subarray(0, sealed.length - TAG_LEN));
    d.final();
    return new Uint8Array(out); // a copy: small crypto outputs may share a pooled buffer
  } catch {
    return undefined;
  }
}

/** PKCS#8 DER header of an X25519 private key (RFC 8410); the 32 raw key bytes follow it. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
/** The X25519 base point u=9, as a JWK `x` placeholder (see below). */
const BASE_POINT_X = Buffer.from([9, ...new Array<number>(31).fill(0)]).toString('base64url');

/**
 * An X25519 private key object. Importing through JWK is about 13x cheaper than through PKCS#8 DER
 * on Node 20 (OpenSSL 3's decoders dominate a handshake otherwise); a JWK needs `x`, which node
 * recomputes from `d`, so the base point stands in for it. Static keys (the pairing key, the chip's
 * key) are imported once: a small cache keyed by the key bytes.
 */
const privateKeyCache = new Map<string, KeyObject>();
function x25519PrivateKey(priv: Uint8Array): KeyObject {
  if (priv.length !== 32) throw new ArgumentError('privateKey', `an X25519 private key is 32 bytes, got ${priv.length}`);
  const d = Buffer.from(priv.buffer, priv.byteOffset, priv.length).toString('base64url');
  const cached = privateKeyCache.get(d);
  if (cached) return cached;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: BASE_POINT_X }, format: 'jwk' });
  } catch {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, priv]), format: 'der', type: 'pkcs8' });
  }
  if (privateKeyCache.size >= 16) privateKeyCache.delete(privateKeyCache.keys().next().value!);
  privateKeyCache.set(d, key);
  return key;
}

function x25519PublicKey(pub: Uint8Array): KeyObject {
  if (pub.length !== 32) throw new ArgumentError('publicKey', `an X25519 public key is 32 bytes, got ${pub.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(pub.buffer, pub.byteOffset, pub.length).toString('base64url') }, format: 'jwk' });
}

/** The raw 32-byte public key of an X25519 key object (from its JWK export, not an SPKI offset). */
export function rawX25519PublicKey(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(x ?? '', 'base64url'));
}

export const x25519Public = (priv: Uint8Array): Uint8Array => rawX25519PublicKey(createPublicKey(x25519PrivateKey(priv)));

/** X25519(priv, pub). A low-order peer key (all-zero shared secret) is refused, typed. */
export function x25519Shared(priv: Uint8Array, pub: Uint8Array): Uint8Array {
  const privateKey = x25519PrivateKey(priv);
  const publicKey = x25519PublicKey(pub);
  try {
    return new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch (cause) {
    throw new SessionError('X25519 with this public key gives an all-zero shared secret (a low-order point)', 'TH_SESSION', { cause });
  }
}

export interface HandshakeInputs {
  pairingSlot: number;
  shPub: Uint8Array; // host static (pairing) public key
  stPub: Uint8Array; // chip static public key
  ehPub: Uint8Array; // host ephemeral
  etPub: Uint8Array; // chip ephemeral
  ehEt: Uint8Array; // DH(eh, et)
  shEt: Uint8Array; // DH(sh, et)
  ehSt: Uint8Array; // DH(eh, st)
}

export interface SessionKeys {
  kCmd: Uint8Array;
  kRes: Uint8Array;
  handshakeHash: Uint8Array;
  /** T_TAUTH: AES-GCM tag over an empty plaintext with the handshake hash as AAD. */
  tAuth: Uint8Array;
}

export function deriveSession(i: HandshakeInputs): SessionKeys {
  let h = sha256(PROTOCOL_NAME);
  h = sha256(h, i.shPub);
  h = sha256(h, i.stPub);
  h = sha256(h, i.ehPub);
  h = sha256(h, Uint8Array.of(i.pairingSlot));
  h = sha256(h, i.etPub);
  let [ck] = hkdf(PROTOCOL_NAME, i.ehEt);
  [ck] = hkdf(ck, i.shEt);
  const [ck2, kAuth] = hkdf(ck, i.ehSt);
  const [kCmd, kRes] = hkdf(ck2, new Uint8Array(0));
  const tAuth = aesGcmEncrypt(kAuth, new Uint8Array(12), new Uint8Array(0), h);
  return { kCmd, kRes, handshakeHash: h, tAuth };
}

/** One direction-pair of an established session; the host encrypts commands, the chip results. */
export class SessionCipher {
  cmdNonce = 0;
  resNonce = 0;
  // Imported once per session: node re-imports a raw key on every createCipheriv otherwise.
  private readonly cmdKey: KeyObject;
  private readonly resKey: KeyObject;
  constructor(readonly keys: SessionKeys) {
    this.cmdKey = createSecretKey(keys.kCmd);
    this.resKey = createSecretKey(keys.kRes);
  }

  sealCommand(plain: Uint8Array): Uint8Array {
    return aesGcmEncrypt(this.cmdKey, nonceBytes(this.cmdNonce++), plain);
  }
  openCommand(sealed: Uint8Array): Uint8Array | undefined {
    return aesGcmDecrypt(this.cmdKey, nonceBytes(this.cmdNonce++), sealed);
  }
  sealResult(plain: Uint8Array): Uint8Array {
    return aesGcmEncrypt(this.resKey, nonceBytes(this.resNonce++), plain);
  }
  openResult(sealed: Uint8Array): Uint8Array | undefined {
    return aesGcmDecrypt(this.resKey, nonceBytes(this.resNonce++), sealed);
  }
}

/** L3 packet on the wire: SIZE (u16 LE, plaintext length) || CIPHERTEXT || TAG. */
export function frameL3(sealed: Uint8Array): Uint8Array {
  const size = sealed.length - TAG_LEN;
  return concat(Uint8Array.of(size & 0xff, size >>> 8), sealed);
}

/**
 * Gathers one framed L3 packet (`frameL3`'s layout) from chunks of any size (User API 4.1: 1-252
 * bytes each; SIZE itself may be split). The chip model reads commands with it, the frame-log
 * decoder commands and results.
 */
export class L3PacketAssembler {
  private parts: Uint8Array[] = [];
  private have = 0;
  private total = 0;

  /** Adds a chunk; once SIZE says the packet is whole, returns it and how many bytes came beyond it. */
  push(chunk: Uint8Array): { packet: Uint8Array; extra: number } | undefined {
    this.parts.push(chunk);
    this.have += chunk.length;
    if (this.total === 0) {
      if (this.have < 2) return undefined;
      const head = concat(...this.parts);
      this.total = 2 + (head[0] | (head[1] << 8)) + TAG_LEN;
    }
    if (this.have < this.total) return undefined;
    const whole = { packet: concat(...this.parts).subarray(0, this.total), extra: this.have - this.total };
    this.reset();
    return whole;
  }

  /** Drops a partly gathered packet. */
  reset(): void {
    this.parts = [];
    this.have = 0;
    this.total = 0;
  }
}
