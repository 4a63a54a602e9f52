/**
 * Measuring primitives for `npm run bench`: an operation is run for a time budget; every call's
 * latency is kept, and the calls are split into equal time windows so throughput has a spread too.
 * A benchmark reports figures; it never passes or fails on them.
 */

/** One row of the benchmark: a figure's min, median and p99 for one measure on one target. */
export interface BenchRow {
  measure: string;
  target: string;
  unit: string;
  min: number;
  median: number;
  p99: number;
  /** Extra context for the table (e.g. the ratio to the loopback floor). */
  note?: string;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(values: number[]): { min: number; median: number; p99: number } {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: quantile(s, 0.5), p99: quantile(s, 0.99) };
}

export interface OpMeasurement {
  /** Operations per second in each window. */
  rates: number[];
  /** Latency of every call, µs. */
  latenciesUs: number[];
  count: number;
}

/** Run `op` back to back for `seconds` (after a short warm-up), in `windows` equal windows. */
export async function measureOp(op: () => Promise<unknown>, seconds: number, windows = 5): Promise<OpMeasurement> {
  const warmEnd = performance.now() + Math.min(200, seconds * 100);
  while (performance.now() < warmEnd) await op();
  const latenciesUs: number[] = [];
  const rates: number[] = [];
  const windowMs = (seconds * 1000) / windows;
  for (let w = 0; w < windows; w++) {
    const start = performance.now();
    const end = start + windowMs;
    let n = 0;
    let now = start;
    while (now < end) {
      await op();
      const t = performance.now();
      latenciesUs.push((t - now) * 1000);
      now = t;
      n++;
    }
    rates.push((n * 1000) / (now - start));
  }
  return { rates, latenciesUs, count: latenciesUs.length };
}

/** The two rows of an operation: throughput (ops/s over windows) and latency (µs per call). */
export function opRows(measure: string, target: string, m: OpMeasurement, note?: string): BenchRow[] {
  return [
    { measure, target, unit: 'ops/s', ...summarize(m.rates), note },
    { measure, target, unit: 'µs', ...summarize(m.latenciesUs) },
  ];
}

/** Time `fn` `n` times; each call's duration in ms. */
export async function timeEach(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}
