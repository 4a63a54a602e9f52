/**
 * The X.509 certificate store returned by Get_Info (30 blocks of 128 bytes). Layout: version (1),
 * certificate count (1), one big-endian u16 length per certificate, then the DER certificates,
 * device certificate first. The chip's static X25519 key is the device certificate's public key.
 */
import { X509Certificate as NodeX509Certificate, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type { X509Certificate } from '@peculiar/x509';
import { ProtocolError } from '../errors.js';
import { concat } from '../bytes.js';
import { CERT_STORE_SIZE } from './l2.js';
import { rawX25519PublicKey } from './session.js';

export const CERT_STORE_VERSION = 1;

export interface CertStore {
  version: number;
  /** DER certificates in store order (device, intermediate(s), root). */
  certificates: Uint8Array[];
}

export function encodeCertStore(certs: Uint8Array[], version = CERT_STORE_VERSION): Uint8Array {
  const header = new Uint8Array(2 + 2 * certs.length);
  header[0] = version;
  header[1] = certs.length;
  certs.forEach((c, i) => {
    header[2 + 2 * i] = c.length >>> 8;
    header[3 + 2 * i] = c.length & 0xff;
  });
  const out = concat(header, ...certs);
  if (out.length > CERT_STORE_SIZE) throw new RangeError(`certificate store is ${out.length} bytes, the chip holds at most ${CERT_STORE_SIZE}`);
  return out;
}

/**
 * Parse a store. A blob that starts with a DER SEQUENCE instead of a store header is taken as a
 * single certificate (ts-tvl's example configuration loads one PEM certificate that way).
 */
export function decodeCertStore(blob: Uint8Array): CertStore {
  if (blob[0] === 0x30) return { version: 0, certificates: [blob.slice(0, derLength(blob))] };
  const version = blob[0];
  const count = blob[1];
  if (count === 0 || count > 8 || blob.length < 2 + 2 * count) {
    throw new ProtocolError('l2', `certificate store header is invalid: version ${version}, ${count} certificates`, 'TH_CERT_STORE', { frame: blob.slice(0, 16) });
  }
  const certificates: Uint8Array[] = [];
  let off = 2 + 2 * count;
  for (let i = 0; i < count; i++) {
    const len = (blob[2 + 2 * i] << 8) | blob[3 + 2 * i];
    if (off + len > blob.length) {
      throw new ProtocolError('l2', `certificate ${i} (${len} bytes) runs past the store's end`, 'TH_CERT_STORE', { expected: `<= ${blob.length - off} bytes` });
    }
    certificates.push(blob.slice(off, off + len));
    off += len;
  }
  return { version, certificates };
}

/** Bytes the store occupies, from its first block (header or, for a bare certificate, its DER length). */
export function certStoreLength(first: Uint8Array): number {
  if (first[0] === 0x30) return derLength(first);
  const count = first[1];
  let total = 2 + 2 * count;
  for (let i = 0; i < count; i++) total += (first[2 + 2 * i] << 8) | first[3 + 2 * i];
  return total;
}

function derLength(der: Uint8Array): number {
  const l = der[1];
  if (l < 0x80) return 2 + l;
  const n = l & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = (len << 8) | der[2 + i];
  return 2 + n + len;
}

const require = createRequire(import.meta.url);

const notDer = (der: Uint8Array, cause: unknown): ProtocolError => new ProtocolError('l2', 'certificate is not valid DER X.509', 'TH_CERT_PARSE', { cause, frame: der.slice(0, 16) });

/**
 * @peculiar/x509 (names, extensions, chain signatures) with the reflect-metadata it needs, loaded
 * on first use: the session's only need, the device key, is read with node:crypto, and loading
 * the library cost every Playwright process (runner and workers) about 140 ms at start.
 */
function peculiarX509(): typeof import('@peculiar/x509') {
  require('reflect-metadata');
  return require('@peculiar/x509') as typeof import('@peculiar/x509');
}

/** A certificate as @peculiar/x509 reads it (subject, extensions, `verify`). */
export function parseCertificate(der: Uint8Array): X509Certificate {
  try {
    return new (peculiarX509().X509Certificate)(Uint8Array.from(der).buffer);
  } catch (cause) {
    throw notDer(der, cause);
  }
}

/** The chip's static X25519 public key (STPUB) from the device certificate. */
export function chipPublicKey(store: CertStore): Uint8Array {
  const der = store.certificates[0];
  let cert: NodeX509Certificate;
  try {
    cert = new NodeX509Certificate(Buffer.from(der));
  } catch (cause) {
    throw notDer(der, cause);
  }
  // The key is read through the certificate's SubjectPublicKeyInfo as OpenSSL parses it: the
  // algorithm is checked by the parser, not inferred from byte positions.
  let key: KeyObject;
  try {
    key = cert.publicKey;
  } catch (cause) {
    throw new ProtocolError('l2', `device certificate key cannot be parsed (${der.length}-byte certificate)`, 'TH_CERT_KEY', { cause, expected: 'X25519 SubjectPublicKeyInfo' });
  }
  if (key.asymmetricKeyType !== 'x25519') {
    throw new ProtocolError('l2', `device certificate key is not X25519 (${key.asymmetricKeyType ?? 'unknown'})`, 'TH_CERT_KEY', {
      expected: 'X25519 SubjectPublicKeyInfo',
    });
  }
  return rawX25519PublicKey(key);
}
