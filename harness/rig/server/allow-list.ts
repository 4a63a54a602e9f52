/**
 * The client-certificate allow-list of a TLS bridge: one entry per line, `sha256:<fingerprint>`
 * (hex, colons optional; `openssl x509 -noout -fingerprint -sha256`) or `CN=<common name>`;
 * `#` starts a comment. A client must present a certificate signed by the configured CA *and*
 * be on this list.
 */
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { RigError } from '../../errors.js';

export interface AllowList {
  fingerprints: Set<string>;
  commonNames: Set<string>;
  source: string;
}

const normFp = (s: string): string => s.replace(/[:\s]/g, '').toLowerCase();

export function parseAllowList(text: string, source: string): AllowList {
  const list: AllowList = { fingerprints: new Set(), commonNames: new Set(), source };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const fp = /^sha256:([0-9a-fA-F:]+)$/.exec(line);
    const cn = /^CN=(.+)$/.exec(line);
    if (fp && normFp(fp[1]).length === 64) list.fingerprints.add(normFp(fp[1]));
    else if (cn) list.commonNames.add(cn[1].trim());
    else throw new RigError(`${source} line ${i + 1}: ${JSON.stringify(raw)} is neither sha256:<64 hex digits> nor CN=<name>`, 'TH_TLS');
  });
  if (!list.fingerprints.size && !list.commonNames.size) throw new RigError(`${source} allows no client: add sha256:<fingerprint> or CN=<name> lines`, 'TH_TLS');
  return list;
}

export function loadAllowList(file: string): AllowList {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RigError(`cannot read the client allow-list ${file}: ${(e as Error).message}`, 'TH_TLS', { cause: e });
  }
  return parseAllowList(text, file);
}

/** Why a peer is refused, or undefined when it is allowed. */
export function refusal(list: AllowList, cert: PeerCertificate | undefined): string | undefined {
  if (!cert || !cert.fingerprint256) return 'no client certificate';
  if (list.fingerprints.has(normFp(cert.fingerprint256))) return undefined;
  const cn = cert.subject?.CN;
  const cns = Array.isArray(cn) ? cn : cn ? [cn] : [];
  if (cns.some((c) => list.commonNames.has(c))) return undefined;
  return `certificate CN=${cns.join(',') || '(none)'} sha256:${normFp(cert.fingerprint256)} is not on ${list.source}`;
}
