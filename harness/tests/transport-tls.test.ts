/**
 * TcpTransport over TLS against a real node:tls server on loopback that requires client
 * certificates. The CA, server and client certificates are generated here (ECDSA P-256).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { test, expect } from '@playwright/test';
import * as x509 from '@peculiar/x509';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TransportError } from '../errors.js';
import { echo, loopbackServer, type LoopbackServer } from './transport-loopback.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

interface Issued {
  cert: string;
  key: string;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function makeCa(name: string): Promise<Issued & { keys: CryptoKeyPair; cert509: x509.X509Certificate }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert509 = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { keys, cert509, cert: cert509.toString('pem'), key: await keyPem(keys.privateKey) };
}

async function issue(ca: { keys: CryptoKeyPair; cert509: x509.X509Certificate }, cn: string, serial: string, usage: 'server' | 'client'): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
  ];
  if (usage === 'server') extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${cn}`,
    issuer: ca.cert509.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

let ca: Awaited<ReturnType<typeof makeCa>>;
let client: Issued;
let server: LoopbackServer;

test.beforeAll(async () => {
  ca = await makeCa('tropic-harness test CA');
  const srv = await issue(ca, 'rig bridge', '02', 'server');
  client = await issue(ca, 'harness client', '03', 'client');
  server = await loopbackServer(echo, { cert: srv.cert, key: srv.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true });
});
test.afterAll(async () => server?.close());

test('TLS with an allowed client certificate connects, resyncs and exchanges', async () => {
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, tls: { ca: ca.cert, cert: client.cert, key: client.key } });
  expect(await t.transfer(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(0xfe, 0xfd, 0xfc));
  await t.csnHigh();
  const conn = server.connections.at(-1)!;
  expect(conn.frames.map((f) => f.tag)).toEqual([0x02, 0x03, 0x02]); // CSN_HIGH resync, SPI_SEND, CSN_HIGH
  await t.close();
});

test('TLS without a client certificate is refused with a typed TH_TLS error naming the address', async () => {
  const e = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, ioTimeoutMs: 2000, tls: { ca: ca.cert } }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(TransportError);
  // TLS 1.3 completes the client's handshake first and refuses on the first read (the resync).
  expect((e as TransportError).code).toBe('TH_TLS');
  expect((e as Error).message).toContain(`127.0.0.1:${server.port}`);
});

test('TLS to a server whose certificate the CA did not sign is refused with TH_TLS naming the address', async () => {
  const other = await makeCa('another CA');
  const e = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, tls: { ca: other.cert, cert: client.cert, key: client.key } }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(TransportError);
  expect((e as TransportError).code).toBe('TH_TLS');
  expect((e as Error).message).toContain(`127.0.0.1:${server.port}`);
});
