/**
 * The rig inventory (`rigs.yaml`, path in TROPIC_RIGS): every chip a lab offers, its endpoint and
 * free-form labels (part number, FW versions, location, ...). A run asks for labels; any rig whose
 * labels include all of them may serve it.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RigError } from '../../errors.js';

export interface RigEndpoint {
  scheme: 'tcp' | 'tls';
  host: string;
  port: number;
}

export interface Rig {
  name: string;
  url: string;
  labels: Record<string, string>;
}

/** Rig names become lock-file and Redis key names: keep them to a safe alphabet. */
const RIG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RIG_URL = /^(tcp|tls):\/\/(\[[0-9a-fA-F:]+\]|[^:/\s[\]]+):(\d{1,5})$/;

const labelValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const rigSchema = z.object({
  name: z.string().regex(RIG_NAME, 'letters, digits, ".", "_" or "-" (at most 64)'),
  url: z.string().regex(RIG_URL, 'tcp://host:port or tls://host:port'),
  labels: z.record(z.string(), labelValue).default({}),
}).strict();
const inventorySchema = z.object({ rigs: z.array(rigSchema).min(1, 'at least one rig') }).strict();

export function parseRigUrl(url: string): RigEndpoint {
  const m = RIG_URL.exec(url);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) throw new RigError(`rig URL ${JSON.stringify(url)} is not tcp://host:port or tls://host:port (port 1..65535)`, 'TH_RIGS');
  return { scheme: m[1] as 'tcp' | 'tls', host: m[2].replace(/^\[|\]$/g, ''), port };
}

/** Parse an inventory's text; `file` names it in every error. */
export function parseInventory(text: string, file: string): Rig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new RigError(`rig inventory ${file} is not valid YAML: ${(e as Error).message}`, 'TH_RIGS');
  }
  const r = inventorySchema.safeParse(doc);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new RigError(`rig inventory ${file} is invalid:\n  - ${problems.join('\n  - ')}`, 'TH_RIGS');
  }
  const seen = new Set<string>();
  for (const [i, rig] of r.data.rigs.entries()) {
    if (seen.has(rig.name)) throw new RigError(`rig inventory ${file} is invalid: rigs.${i}.name: ${JSON.stringify(rig.name)} is used twice`, 'TH_RIGS');
    seen.add(rig.name);
    const port = Number(RIG_URL.exec(rig.url)![3]);
    if (port < 1 || port > 65535) throw new RigError(`rig inventory ${file} is invalid: rigs.${i}.url: port ${port} is not 1..65535`, 'TH_RIGS');
  }
  return r.data.rigs;
}

export function loadInventory(file: string): Rig[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RigError(`rig inventory ${file} (TROPIC_RIGS) cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'TH_RIGS');
  }
  return parseInventory(text, file);
}

/** `key=value,key=value` (TROPIC_RIG_LABELS) to a label set; empty text asks for nothing. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new RigError(`rig labels ${JSON.stringify(text)}: ${JSON.stringify(part)} is not key=value (expected key=value,key=value)`, 'TH_RIGS');
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export const formatLabels = (labels: Record<string, string>): string =>
  Object.keys(labels).length ? Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') : '(any)';

export function matchRigs(rigs: Rig[], wanted: Record<string, string>): Rig[] {
  return rigs.filter((r) => Object.entries(wanted).every(([k, v]) => r.labels[k] === v));
}
