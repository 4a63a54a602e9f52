/**
 * Verifying a chip's certificate chain (its certificate store, device certificate first) up to a
 * trusted root from a PEM file: each certificate is signed by the next one, names chain, each is
 * within its validity at the check time, and the last one either is a trusted root or is signed
 * by one. The device certificate's X25519 key cannot sign, so only issuers' keys are used.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { RigError } from '../../errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
  pem: string;
}

export interface ChainVerdict {
  ok: boolean;
  /** The trusted root the chain ends at (its subject), when it verified. */
  root?: string;
  trustRootFile: string;
  /** One line per failed check, naming the certificate. */
  problems: string[];
  certificates: CertificateSummary[];
}

export function loadTrustRoots(file: string): x509.X509Certificate[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RigError(`trust root ${file} (TROPIC_TRUST_ROOT) cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'TH_QUALIFY');
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new RigError(`trust root ${file} (TROPIC_TRUST_ROOT) holds no PEM certificate`, 'TH_QUALIFY');
  return blocks.map((b, i) => {
    try {
      return new x509.X509Certificate(b);
    } catch (e) {
      throw new RigError(`trust root ${file}: certificate ${i + 1} is not valid X.509: ${(e as Error).message}`, 'TH_QUALIFY');
    }
  });
}

async function summarize(c: x509.X509Certificate): Promise<CertificateSummary> {
  return {
    subject: c.subject,
    issuer: c.issuer,
    serialNumber: c.serialNumber,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    sha256: Buffer.from(await c.getThumbprint('SHA-256')).toString('hex'),
    pem: c.toString('pem'),
  };
}

const sameDer = (a: x509.X509Certificate, b: x509.X509Certificate): boolean => Buffer.from(a.rawData).equals(Buffer.from(b.rawData));

async function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer, signatureOnly: true });
  } catch {
    return false;
  }
}

export async function verifyChain(chainDer: Uint8Array[], trustRootFile: string, at: Date = new Date()): Promise<ChainVerdict> {
  const roots = loadTrustRoots(trustRootFile);
  const problems: string[] = [];
  const certs: x509.X509Certificate[] = [];
  for (const [i, der] of chainDer.entries()) {
    try {
      certs.push(new x509.X509Certificate(Uint8Array.from(der).buffer));
    } catch (e) {
      problems.push(`certificate ${i} of the chip's store is not valid X.509: ${(e as Error).message}`);
    }
  }
  const certificates = await Promise.all(certs.map(summarize));
  if (!certs.length || problems.length) {
    if (!certs.length) problems.push("the chip's certificate store holds no certificate");
    return { ok: false, trustRootFile, problems, certificates };
  }
  const label = (i: number) => `certificate ${i} (${certs[i].subject})`;
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i];
    if (at < c.notBefore || at > c.notAfter) problems.push(`${label(i)} is not valid at ${at.toISOString()} (valid ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()})`);
    if (i + 1 < certs.length) {
      const issuer = certs[i + 1];
      if (c.issuer !== issuer.subject) problems.push(`${label(i)} names issuer "${c.issuer}" but the next certificate is "${issuer.subject}"`);
      if (!(await signedBy(c, issuer))) problems.push(`${label(i)} is not signed by ${label(i + 1)}`);
    }
  }
  const last = certs[certs.length - 1];
  let root = roots.find((r) => sameDer(r, last));
  if (!root) {
    for (const r of roots) if (last.issuer === r.subject && (await signedBy(last, r))) root = r;
  }
  if (!root) {
    const trusted = roots.map((r) => `"${r.subject}"`).join(', ');
    problems.push(`the chain ends at "${last.subject}" (issuer "${last.issuer}"), which is neither a trusted root nor signed by one; ${trustRootFile} trusts: ${trusted}`);
  } else if (at < root.notBefore || at > root.notAfter) {
    problems.push(`trusted root "${root.subject}" is not valid at ${at.toISOString()}`);
  }
  return { ok: problems.length === 0, root: problems.length === 0 ? root?.subject : undefined, trustRootFile, problems, certificates };
}
