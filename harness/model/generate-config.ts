/**
 * Generates the project's own default model configuration: a chip static X25519 key, a pairing
 * key for slot 0, a certificate chain (root CA -> TROPIC01 CA -> TROPIC01-X CA -> device, P-256
 * signatures, X25519 device key) packed as a certificate store, a CHIP_ID and FW versions.
 * Nothing is copied from elsewhere; run `npm run gen:default-config` to make a fresh set.
 */
import 'reflect-metadata';
import { generateKeyPairSync, webcrypto, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { encodeCertStore } from '../protocol/cert-store.js';
import { encodeChipId, encodeFwVersion } from '../protocol/chip-id.js';
import { dumpModelConfig } from './model-config.js';
import { rawX25519PublicKey } from '../protocol/session.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function x25519Pair(): { privPem: string; pubPem: string; pubRaw: Uint8Array; spki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    privPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    pubPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    pubRaw: rawX25519PublicKey(publicKey),
    spki,
  };
}

export interface GeneratedConfig {
  dir: string;
  files: string[];
}

export async function generateDefaultConfig(dir: string, serialSeed = randomBytes(4)): Promise<GeneratedConfig> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    writeFileSync(path.join(dir, name), data);
    files.push(name);
  };
  const chip = x25519Pair();
  const sh0 = x25519Pair();
  write('tropic01-st-private.pem', chip.privPem);
  write('tropic01-st-public.pem', chip.pubPem);
  write('sh0-private.pem', sh0.privPem);
  write('sh0-public.pem', sh0.pubPem);

  const now = new Date(Date.UTC(2026, 0, 1));
  const until = new Date(Date.UTC(2056, 0, 1));
  const ca = async (name: string, issuer?: { name: string; keys: CryptoKeyPair }, serial = '01') => {
    const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: name,
      issuer: issuer?.name ?? name,
      notBefore: now,
      notAfter: until,
      signingAlgorithm: EC,
      publicKey: keys.publicKey,
      signingKey: (issuer?.keys ?? keys).privateKey,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    return { name, keys, cert };
  };
  const root = await ca('CN=tropic-harness Root CA, O=tropic-harness test PKI');
  const tropic = await ca('CN=tropic-harness TROPIC01 CA, O=tropic-harness test PKI', root, '02');
  const series = await ca('CN=tropic-harness TROPIC01-X CA, O=tropic-harness test PKI', tropic, '03');
  const devicePub = await subtle.importKey('spki', chip.spki, { name: 'X25519' }, true, []);
  const serialHex = Buffer.from(serialSeed).toString('hex');
  const device = await x509.X509CertificateGenerator.create({
    serialNumber: `04${serialHex}`,
    subject: `CN=TROPIC01 model ${serialHex}, O=tropic-harness test PKI`,
    issuer: series.name,
    notBefore: now,
    notAfter: until,
    signingAlgorithm: EC,
    publicKey: devicePub,
    signingKey: series.keys.privateKey,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyAgreement, true)],
  });
  const chain = [device, series.cert, tropic.cert, root.cert];
  write('certificate-chain.pem', chain.map((c) => c.toString('pem')).join('\n') + '\n');
  const store = encodeCertStore(chain.map((c) => new Uint8Array(c.rawData)));
  const chipId = encodeChipId({
    siliconRev: 'ACAB',
    packageTypeId: 0x80aa,
    serialNumber: { sn: serialSeed[0], fabDate: 0x2601, lotId: Uint8Array.from(serialSeed).subarray(0, 4), waferId: 7, xCoord: 42, yCoord: 17 },
    partNumber: 'TR01-C2P-T101',
    batchId: Uint8Array.of(0x26, 0x01, 0x00, 0x00, 0x01),
  });
  const config = {
    s_t_priv: 'tropic01-st-private.pem',
    s_t_pub: 'tropic01-st-public.pem',
    x509_certificate: store,
    chip_id: chipId,
    riscv_fw_version: encodeFwVersion(2, 0, 0),
    spect_fw_version: encodeFwVersion(1, 0, 0),
    i_pairing_keys: { 0: { value: sh0.pubRaw, state: 'written' } },
    busy_iter: [false],
  };
  write(
    'tropic01-model.yml',
    '# tropic-harness default TROPIC01 model configuration (ts-tvl format), made by\n# `npm run gen:default-config`. Test keys only: never provision a real chip with them.\n' +
      dumpModelConfig(config),
  );
  return { dir, files };
}
