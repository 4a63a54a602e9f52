/**
 * A qualification run: for each rig of the inventory that matches the labels (or is named), lease
 * it, read and record the chip's identity, verify its certificate chain to the trusted root, run
 * the reversible spec suite against it (and the irreversible one only when allowed AND confirmed
 * by the chip's serial), measure per-command latency from that run, and write the chip's record
 * and summary under <out>/<serial>/. The lease is held (renewed) for the whole run of a chip.
 */
import path from 'node:path';
import { RigError } from '../../errors.js';
import { formatLabels, loadInventory, matchRigs, parseLabels, type Rig } from '../pool/inventory.js';
import { acquireAny, type HeldLease } from '../pool/lease-keeper.js';
import { currentHolder, describeHolder, type LeaseStore } from '../pool/lease-store.js';
import { openLeaseStore, type PoolSettings } from '../pool/settings.js';
import { loadTrustRoots, verifyChain } from './chain.js';
import { readChipIdentity, type ReadIdentityOptions } from './identity.js';
import { latencyTable } from './latency.js';
import { chipLabels, labelAllureResults, writeRecord, RECORD_VERSION, type QualificationRecord } from './record.js';
import { listSpecs, runSpecs, specOutcomes, summarizeOutcomes } from './run-specs.js';

export interface QualifyOptions {
  settings: PoolSettings;
  /** Only these rigs (by name); otherwise every rig matching the labels. */
  rigNames?: string[];
  /** Playwright --grep for the spec runs (a subset of the suite). */
  grep?: string;
  /** TROPIC_ALLOW_IRREVERSIBLE=1 */
  allowIrreversible: boolean;
  /** --confirm-serial: the irreversible suite runs only on the chip with this serial. */
  confirmSerial?: string;
  outDir: string;
  identity?: ReadIdentityOptions;
  log?: (line: string) => void;
}

export interface QualifyOutcome {
  rig: string;
  record?: QualificationRecord;
  files?: { json: string; html: string };
  /** Set when the chip could not be qualified at all (not leased, not readable). */
  error?: string;
}

/** A --grep that selects only @irreversible specs, within the user's grep when there is one. */
export function irreversibleGrep(userGrep?: string): string {
  return userGrep ? `^(?=[\\s\\S]*@irreversible)(?=[\\s\\S]*(?:${userGrep}))` : '@irreversible';
}

export function selectRigs(rigs: Rig[], labels: Record<string, string>, names: string[] | undefined, file: string): Rig[] {
  const matching = matchRigs(rigs, labels);
  if (names?.length) {
    const unknown = names.filter((n) => !rigs.some((r) => r.name === n));
    if (unknown.length) throw new RigError(`rig${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not in ${file} (it has ${rigs.map((r) => r.name).join(', ')})`, 'TH_RIGS');
    const chosen = matching.filter((r) => names.includes(r.name));
    if (chosen.length < names.length) throw new RigError(`rig(s) ${names.filter((n) => !chosen.some((r) => r.name === n)).join(', ')} do not match labels ${formatLabels(labels)}`, 'TH_RIGS');
    return chosen;
  }
  if (!matching.length) throw new RigError(`no rig in ${file} matches labels ${formatLabels(labels)} (it has ${rigs.map((r) => `${r.name} {${formatLabels(r.labels)}}`).join('; ')})`, 'TH_RIGS');
  return matching;
}

export async function qualify(o: QualifyOptions): Promise<QualifyOutcome[]> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const s = o.settings;
  if (!s.rigsFile) throw new RigError('qualify needs a rig inventory: set TROPIC_RIGS (or --rigs) to a rigs.yaml', 'TH_QUALIFY');
  if (!s.trustRoot) throw new RigError('qualify needs the trusted root certificate(s): set TROPIC_TRUST_ROOT (or --trust-root) to a PEM file', 'TH_QUALIFY');
  loadTrustRoots(s.trustRoot); // an unreadable root fails before any chip is leased
  const labels = parseLabels(s.labels);
  const rigs = selectRigs(loadInventory(s.rigsFile), labels, o.rigNames, s.rigsFile);
  const store = openLeaseStore(s);
  const outcomes: QualifyOutcome[] = [];
  try {
    for (const rig of rigs) {
      let held: HeldLease | undefined;
      try {
        log(`qualify: ${rig.name}: leasing (${store.where})`);
        held = (await acquireAny(store, [rig], currentHolder(s.runId), { ttlMs: s.ttlMs, waitMs: s.waitMs, labels })).held;
        const out = await qualifyChip(o, rig, held, store, log);
        outcomes.push(out);
        log(`qualify: ${rig.name}: ${out.record!.verdict}${out.record!.reasons.length ? ` (${out.record!.reasons.join('; ')})` : ''} → ${out.files!.json}`);
      } catch (e) {
        outcomes.push({ rig: rig.name, error: (e as Error).message });
        log(`qualify: ${rig.name}: not qualified: ${(e as Error).message}`);
      } finally {
        await held?.release().catch(() => undefined);
      }
    }
  } finally {
    await store.close();
  }
  return outcomes;
}

async function qualifyChip(o: QualifyOptions, rig: Rig, held: HeldLease, store: LeaseStore, log: (l: string) => void): Promise<QualifyOutcome> {
  const started = new Date().toISOString();
  const identity = await readChipIdentity(rig.url, o.identity);
  log(`qualify: ${rig.name}: chip ${identity.serial} part ${identity.partNumber || '-'} RISC-V FW ${identity.riscvFw} SPECT FW ${identity.spectFw}`);
  const certificateChain = await verifyChain(identity.certificates, o.settings.trustRoot!);
  log(`qualify: ${rig.name}: certificate chain ${certificateChain.ok ? `verified to "${certificateChain.root}"` : `NOT verified: ${certificateChain.problems.join('; ')}`}`);

  const dir = path.resolve(o.outDir, identity.serial);
  const allureResults = path.join(dir, 'allure-results');
  const runBase = { rigUrl: rig.url, rigName: rig.name, dir };
  log(`qualify: ${rig.name}: reversible specs${o.grep ? ` (--grep ${o.grep})` : ''}`);
  const rev = await runSpecs({ ...runBase, allowIrreversible: false, grep: o.grep, grepInvert: '@irreversible', logName: 'reversible.log' });
  const reversible = { ...summarizeOutcomes(specOutcomes(allureResults), rev.exitCode, rev.log), grep: o.grep };

  let irreversible: QualificationRecord['irreversible'];
  const confirmed = o.confirmSerial !== undefined && o.confirmSerial.toLowerCase() === identity.serial.toLowerCase();
  if (o.allowIrreversible && confirmed) {
    log(`qualify: ${rig.name}: irreversible specs (TROPIC_ALLOW_IRREVERSIBLE=1, serial ${identity.serial} confirmed)`);
    const before = new Set(specOutcomes(allureResults).map((x) => x.title));
    const irr = await runSpecs({ ...runBase, allowIrreversible: true, grep: irreversibleGrep(o.grep), keepResults: true, logName: 'irreversible.log' });
    irreversible = { ran: true, summary: summarizeOutcomes(specOutcomes(allureResults).filter((x) => !before.has(x.title)), irr.exitCode, irr.log) };
  } else {
    const why = !o.allowIrreversible
      ? 'TROPIC_ALLOW_IRREVERSIBLE is not 1'
      : o.confirmSerial === undefined
        ? `--confirm-serial was not given (this chip is ${identity.serial})`
        : `--confirm-serial ${o.confirmSerial} does not match this chip's serial ${identity.serial}`;
    const refusedSpecs = await listSpecs({ ...runBase, grep: irreversibleGrep(o.grep) });
    irreversible = { ran: false, why, refusedSpecs };
    log(`qualify: ${rig.name}: irreversible specs refused (${why}): ${refusedSpecs.length ? refusedSpecs.join('; ') : 'none selected'}`);
  }

  const latency = latencyTable(allureResults);
  const { certificates: _certs, ...identityFields } = identity;
  void _certs; // the certificates are recorded (as PEM) in the chain verdict
  const reasons: string[] = [];
  if (!certificateChain.ok) reasons.push(`certificate chain not verified against ${o.settings.trustRoot}: ${certificateChain.problems.join('; ')}`);
  if (reversible.failed || reversible.exitCode !== 0) reasons.push(`reversible specs: ${reversible.failed} failed (playwright exit ${reversible.exitCode}, log ${reversible.log})`);
  if (irreversible.ran && (irreversible.summary.failed || irreversible.summary.exitCode !== 0)) reasons.push(`irreversible specs: ${irreversible.summary.failed} failed (playwright exit ${irreversible.summary.exitCode})`);
  if (reversible.passed === 0) reasons.push('no reversible spec passed (nothing selected?)');
  if (held.lost) reasons.push(held.lost.message);

  const record: QualificationRecord = {
    recordVersion: RECORD_VERSION,
    verdict: reasons.length ? 'failed' : 'qualified',
    reasons,
    started,
    finished: new Date().toISOString(),
    rig: { name: rig.name, url: rig.url, labels: rig.labels },
    lease: { store: store.where, holder: describeHolder(held.lease.holder) },
    identity: identityFields,
    certificateChain,
    reversible,
    irreversible,
    latency,
    allureResults,
  };
  labelAllureResults(allureResults, { ...chipLabels(record), ...Object.fromEntries(Object.entries(rig.labels).map(([k, v]) => [`rig_${k}`, v])) });
  return { rig: rig.name, record, files: writeRecord(dir, record) };
}
