/**
 * The secure channel (datasheet 7.4): a Noise KK1 handshake over X25519 with SHA-256, an HKDF
 * built on HMAC-SHA-256, and AES-256-GCM with 96-bit little-endian counter nonces. Both the host
 * driver and the embedded model use these primitives: one from each side of the handshake.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519';
import { concat } from '../bytes.js';

export const PROTOCOL_NAME = concat(new TextEncoder().encode('Noise_KK1_25519_AESGCM_SHA256'), new Uint8Array(3));
export const TAG_LEN = 16;
export const MAX_NONCE = 0xffffffff;

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hmac = (key: Uint8Array, data: Uint8Array): Uint8Array => new Uint8Array(createHmac('sha256', key).update(data).digest());

/** The two-output HKDF of the Noise framework. */
export function hkdf(salt: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const tmp = hmac(salt, ikm);
  const o1 = hmac(tmp, Uint8Array.of(1));
  const o2 = hmac(tmp, concat(o1, Uint8Array.of(2)));
  return [o1, o2];
}

export function nonceBytes(n: number): Uint8Array {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setUint32(0, n >>> 0, true);
  return iv;
}

export function aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, iv);
  if (aad) c.setAAD(aad);
  const body = c.update(plaintext);
  c.final();
  return concat(new Uint8Array(body), new Uint8Array(c.getAuthTag()));
}

/** Returns undefined when the tag does not authenticate. */
export function aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | undefined {
  if (sealed.length < TAG_LEN) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    if (aad) d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
    const out = d.update(sealed.subarray(0, sealed.length - TAG_LEN));
    d.final();
    return new Uint8Array(out);
  } catch {
    return undefined;
  }
}

export const x25519Public = (priv: Uint8Array): Uint8Array => x25519.getPublicKey(priv);
export const x25519Shared = (priv: Uint8Array, pub: Uint8Array): Uint8Array => x25519.getSharedSecret(priv, pub);

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
  constructor(readonly keys: SessionKeys) {}

  sealCommand(plain: Uint8Array): Uint8Array {
    return aesGcmEncrypt(this.keys.kCmd, nonceBytes(this.cmdNonce++), plain);
  }
  openCommand(sealed: Uint8Array): Uint8Array | undefined {
    return aesGcmDecrypt(this.keys.kCmd, nonceBytes(this.cmdNonce++), sealed);
  }
  sealResult(plain: Uint8Array): Uint8Array {
    return aesGcmEncrypt(this.keys.kRes, nonceBytes(this.resNonce++), plain);
  }
  openResult(sealed: Uint8Array): Uint8Array | undefined {
    return aesGcmDecrypt(this.keys.kRes, nonceBytes(this.resNonce++), sealed);
  }
}

/** L3 packet on the wire: SIZE (u16 LE, plaintext length) || CIPHERTEXT || TAG. */
export function frameL3(sealed: Uint8Array): Uint8Array {
  const size = sealed.length - TAG_LEN;
  return concat(Uint8Array.of(size & 0xff, size >>> 8), sealed);
}
