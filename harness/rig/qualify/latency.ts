/**
 * Per-command latency of a spec run, from its Allure results: every driver L3 command is a report
 * step named `command(args)` with its start and stop, so min/median/p99 per command come from
 * the run itself (host-observed: framing, encryption, polling and the chip's work together).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The driver's L3 command methods (harness/driver/tropic-square.ts, `this.command('…')`). */
export const L3_DRIVER_COMMANDS = [
  'ping', 'random', 'eccKeyGenerate', 'eccKeyStore', 'eccKeyRead', 'eccKeyErase', 'ecdsaSign', 'eddsaSign', 'memDataWrite', 'memDataRead',
  'memDataErase', 'pairingKeyWrite', 'pairingKeyRead', 'pairingKeyInvalidate', 'rConfigWrite', 'rConfigRead', 'rConfigErase', 'iConfigWrite',
  'iConfigRead', 'mcounterInit', 'mcounterUpdate', 'mcounterGet', 'macAndDestroy',
] as const;
const L3_SET = new Set<string>(L3_DRIVER_COMMANDS);

export interface LatencyStats {
  count: number;
  minMs: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

interface AllureStep {
  name?: string;
  start?: number;
  stop?: number;
  steps?: AllureStep[];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function stats(values: number[]): LatencyStats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { count: s.length, minMs: s[0], medianMs: mid, p99Ms: percentile(s, 99), maxMs: s[s.length - 1] };
}

/** Durations (ms) per L3 command in the `*-result.json` files of one Allure results folder. */
export function collectCommandDurations(resultsDir: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const walk = (steps: AllureStep[] | undefined) => {
    for (const st of steps ?? []) {
      const name = /^(\w+)\(/.exec(st.name ?? '')?.[1];
      if (name && L3_SET.has(name) && typeof st.start === 'number' && typeof st.stop === 'number') {
        const list = out.get(name) ?? [];
        list.push(st.stop - st.start);
        out.set(name, list);
      } else walk(st.steps);
    }
  };
  let files: string[];
  try {
    files = readdirSync(resultsDir).filter((f) => f.endsWith('-result.json'));
  } catch {
    return out;
  }
  for (const f of files) {
    try {
      walk((JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as AllureStep).steps);
    } catch {
      // a result being written by another process: skip it
    }
  }
  return out;
}

export function latencyTable(resultsDir: string): Record<string, LatencyStats> {
  const durations = collectCommandDurations(resultsDir);
  return Object.fromEntries([...durations.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, stats(v)]));
}
