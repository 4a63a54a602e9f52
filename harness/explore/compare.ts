/**
 * Comparing what two sides answered to the same step. A difference has a kind (the first field that
 * differs, in the order a protocol engineer reads a frame: link error, L2 status, L3 result, length,
 * check, data) so a summary can count them and a shrink can keep "the same" difference.
 */
import type { Observation } from './execute.js';

export const DIFFERENCE_KINDS = ['error', 'l2-status', 'l3-result', 'length', 'signature', 'data', 'skipped'] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export interface ObservationDifference {
  kind: DifferenceKind;
  reference: string;
  target: string;
}

const FIELDS: [DifferenceKind, (o: Observation) => string | undefined][] = [
  ['error', (o) => o.error],
  ['l2-status', (o) => o.l2?.join(' ')],
  ['l3-result', (o) => o.l3],
  ['length', (o) => (o.length === undefined ? undefined : String(o.length))],
  ['signature', (o) => o.check],
  ['data', (o) => o.data],
  ['skipped', (o) => o.skipped],
];

export function compareObservations(reference: Observation, target: Observation): ObservationDifference | undefined {
  for (const [kind, get] of FIELDS) {
    const a = get(reference);
    const b = get(target);
    if (a !== b) return { kind, reference: a ?? '(none)', target: b ?? '(none)' };
  }
  return undefined;
}

/** One line: `REQ_OK RES_OK, L3 OK, 79 B`. */
export function describeObservation(o: Observation): string {
  if (o.skipped) return `skipped: ${o.skipped}`;
  const parts: string[] = [];
  if (o.l2) parts.push(o.l2.join(' '));
  if (o.l3) parts.push(`L3 ${o.l3}`);
  if (o.length !== undefined) parts.push(`${o.length} B`);
  if (o.check) parts.push(o.check);
  if (o.data !== undefined) parts.push(`data ${o.data.length > 48 ? `${o.data.slice(0, 48)}…` : o.data || '(empty)'}`);
  if (o.error) parts.push(`error ${o.error}`);
  return parts.join(', ') || '(nothing)';
}
