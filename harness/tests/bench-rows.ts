/** A bench row with one figure (min = median = p99), for tests of the table's notes and plot. */
import type { BenchRow } from '../bench/measure.js';

export const fixedRow = (measure: string, target: string, unit: string, median: number): BenchRow => ({ measure, target, unit, min: median, median, p99: median });
