/** The end-of-run summary table: sequences, commands, differences by kind, known findings by name. */
import type { ExploreReport } from './engine.js';
import type { Side } from './sides.js';
import { describeImplementation } from '../findings/registry.js';

const row = (cells: string[], widths: number[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${row(r, widths)}`);
}

export function summaryTable(report: ExploreReport, sides: { reference: Side; target: Side }): string {
  const out: string[] = [];
  const who = (s: Side) => `${s.label} (${describeImplementation(s.implementation)}, ${s.resetMode === 'memory' ? 'in-memory rebuild' : s.resetMode === 'reset-target' ? 'RESET_TARGET' : 'restore after each sequence'})`;
  out.push(`reference: ${who(sides.reference)}`);
  out.push(`target:    ${who(sides.target)}`);
  out.push(
    ...table([
      ['seed', String(report.seed)],
      ['sequences', `${report.sequences} (of ${report.runs} asked, up to ${report.maxCommands} commands each)`],
      ['commands', String(report.commands)],
      ['shrink runs', String(report.shrinkRuns)],
      ['irreversible steps skipped', String(report.skippedSteps)],
      ['time', `${(report.durationMs / 1000).toFixed(1)} s`],
    ]),
  );
  const kinds = Object.entries(report.differencesByKind);
  out.push(`new differences: ${report.differences.length}`);
  if (kinds.length) out.push(...table([['kind', 'count'], ...kinds.map(([k, n]) => [k, String(n)])]));
  for (const d of report.differences) out.push(`  - ${d.signature}: ${d.steps.length} commands (from ${d.originalLength})${d.seenAgain ? `, seen again ${d.seenAgain}x` : ''}`);
  const known = Object.entries(report.knownFiltered);
  out.push(`known findings filtered: ${known.reduce((n, [, k]) => n + k.count, 0)}`);
  if (known.length) out.push(...table([['finding', 'sequences', 'title'], ...known.map(([id, k]) => [id, String(k.count), k.title])]));
  return out.join('\n') + '\n';
}
