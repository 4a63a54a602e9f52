/**
 * A chip's qualification record (record.json), its one-page HTML summary (summary.html), and the
 * chip's identity put into the run's Allure results (environment and per-test labels), so a report
 * over many chips groups per chip.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { ChainVerdict } from './chain.js';
import type { ChipIdentityRecord } from './identity.js';
import type { LatencyStats } from './latency.js';
import type { SpecRunSummary } from './run-specs.js';

export const RECORD_VERSION = 1;

export interface QualificationRecord {
  recordVersion: number;
  verdict: 'qualified' | 'failed';
  /** One line per reason the verdict is `failed`. */
  reasons: string[];
  started: string;
  finished: string;
  rig: { name: string; url: string; labels: Record<string, string> };
  lease: { store: string; holder: string };
  identity: Omit<ChipIdentityRecord, 'certificates'>;
  certificateChain: ChainVerdict;
  reversible: SpecRunSummary & { grep?: string };
  irreversible:
    | { ran: true; summary: SpecRunSummary }
    | { ran: false; why: string; refusedSpecs: string[] };
  latency: Record<string, LatencyStats>;
  allureResults: string;
}

/** Labels every test result of the chip gets (Allure groups and filters by them). */
export function chipLabels(r: Pick<QualificationRecord, 'identity' | 'rig'>): Record<string, string> {
  return {
    chip_serial: r.identity.serial,
    part_number: r.identity.partNumber || '-',
    riscv_fw: r.identity.riscvFw,
    spect_fw: r.identity.spectFw,
    rig: r.rig.name,
  };
}

/** Add the chip's labels to every result in the folder and its identity to environment.properties. */
export function labelAllureResults(resultsDir: string, labels: Record<string, string>): number {
  if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true });
  let n = 0;
  for (const f of readdirSync(resultsDir).filter((x) => x.endsWith('-result.json'))) {
    const file = path.join(resultsDir, f);
    const r = JSON.parse(readFileSync(file, 'utf8')) as { labels?: { name: string; value: string }[] };
    const kept = (r.labels ?? []).filter((l) => !(l.name in labels));
    r.labels = [...kept, ...Object.entries(labels).map(([name, value]) => ({ name, value }))];
    writeFileSync(file, JSON.stringify(r));
    n++;
  }
  const envFile = path.join(resultsDir, 'environment.properties');
  const previous = existsSync(envFile) ? readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('=') && !(l.slice(0, l.indexOf('=')) in labels)) : [];
  writeFileSync(envFile, [...previous, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)].join('\n') + '\n');
  return n;
}

export function writeRecord(dir: string, record: QualificationRecord): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'record.json');
  const html = path.join(dir, 'summary.html');
  writeFileSync(json, JSON.stringify(record, null, 2) + '\n');
  writeFileSync(html, summaryHtml(record));
  return { json, html };
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const row = (k: string, v: string) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`;
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

/** One row per bank, or one row when every bank was refused for the same reason (application mode). */
function fwBankRows(banks: QualificationRecord['identity']['fwBanks']): string {
  const entries = Object.entries(banks);
  const reasons = new Set(entries.map(([, v]) => v.unreadable));
  if (entries.length && reasons.size === 1 && entries[0][1].unreadable !== undefined) return row('FW banks', `not readable: ${entries[0][1].unreadable}`);
  return entries.map(([k, v]) => row(`FW bank ${k}`, v.header ? v.header.slice(0, 32) + '…' : `not readable: ${v.unreadable ?? ''}`)).join('');
}

export function summaryHtml(r: QualificationRecord): string {
  const id = r.identity;
  const chain = r.certificateChain;
  const runLine = (s: SpecRunSummary) => `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped (exit ${s.exitCode})`;
  const irr = r.irreversible.ran ? runLine(r.irreversible.summary) : `not run: ${r.irreversible.why}`;
  const failures = [...r.reversible.failures, ...(r.irreversible.ran ? r.irreversible.summary.failures : [])];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Qualification ${esc(id.serial)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:60em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em} h2{font-size:1.1em;margin:1.2em 0 .3em;border-bottom:1px solid #ccc}
table{border-collapse:collapse} th,td{padding:.15em .6em;text-align:left;vertical-align:top} th{font-weight:600;color:#555}
td.n{text-align:right;font-variant-numeric:tabular-nums} .ok{color:#16702e} .bad{color:#b00020} code{font-size:.9em}
</style></head><body>
<h1>TROPIC01 ${esc(id.serial)}: <span class="${r.verdict === 'qualified' ? 'ok' : 'bad'}">${r.verdict.toUpperCase()}</span></h1>
<div>${esc(r.rig.name)} (${esc(r.rig.url)}) · ${esc(r.started)} → ${esc(r.finished)}</div>
${r.reasons.length ? `<ul class="bad">${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
<h2>Identity</h2><table>
${row('serial', id.serial)}${row('part number', id.partNumber || '-')}${row('RISC-V FW', id.riscvFw)}${row('SPECT FW', id.spectFw)}
${row('silicon revision', id.chipId.siliconRev)}${row('package type', id.chipId.packageTypeId)}${row('batch', id.chipId.batchId)}
${row('lot / wafer / x,y', `${id.chipId.serialNumber.lotId} / ${id.chipId.serialNumber.waferId} / ${id.chipId.serialNumber.xCoord},${id.chipId.serialNumber.yCoord}`)}
${fwBankRows(id.fwBanks)}
${Object.entries(r.rig.labels).map(([k, v]) => row(`label ${k}`, v)).join('')}
</table>
<h2>Certificate chain: <span class="${chain.ok ? 'ok' : 'bad'}">${chain.ok ? `verified to ${esc(chain.root ?? '')}` : 'NOT verified'}</span></h2>
<div>trust root: <code>${esc(chain.trustRootFile)}</code></div>
${chain.problems.length ? `<ul class="bad">${chain.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}
<table><tr><th>#</th><th>subject</th><th>issuer</th><th>valid until</th></tr>
${chain.certificates.map((c, i) => `<tr><td>${i}</td><td>${esc(c.subject)}</td><td>${esc(c.issuer)}</td><td>${esc(c.notAfter.slice(0, 10))}</td></tr>`).join('\n')}
</table>
<h2>Spec runs</h2><table>
${row('reversible', runLine(r.reversible) + (r.reversible.grep ? ` · --grep ${r.reversible.grep}` : ''))}${row('irreversible', irr)}
</table>
${failures.length ? `<ul class="bad">${failures.map((f) => `<li>${esc(f.title)}: ${esc(f.message ?? f.status)}</li>`).join('')}</ul>` : ''}
${!r.irreversible.ran && r.irreversible.refusedSpecs.length ? `<details><summary>${r.irreversible.refusedSpecs.length} irreversible specs refused</summary><ul>${r.irreversible.refusedSpecs.map((t) => `<li>${esc(t)}</li>`).join('')}</ul></details>` : ''}
<h2>L3 command latency (ms, host-observed)</h2>
<table><tr><th>command</th><th>n</th><th>min</th><th>median</th><th>p99</th><th>max</th></tr>
${Object.entries(r.latency).map(([k, s]) => `<tr><td>${esc(k)}</td><td class="n">${s.count}</td><td class="n">${ms(s.minMs)}</td><td class="n">${ms(s.medianMs)}</td><td class="n">${ms(s.p99Ms)}</td><td class="n">${ms(s.maxMs)}</td></tr>`).join('\n')}
</table>
<p>Allure results: <code>${esc(r.allureResults)}</code> · record: <code>record.json</code></p>
</body></html>
`;
}
