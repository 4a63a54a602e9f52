/**
 * The benchmark's picture, made with Vega-Lite (compiled to Vega, rendered to SVG without a
 * browser): median ops/s per target for each operation (the floors, `loopback echo` in this and in
 * another process, as bars of their own), and latency percentiles (min, median, p99) per target
 * for L3 Ping 64 B.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchRow } from './measure.js';

export async function benchSvg(rows: BenchRow[], title: string): Promise<string> {
  // A row that could not be measured (NaN) has no bar; on a log scale it would break the axis.
  const throughput = rows.filter((r) => r.unit === 'ops/s' && Number.isFinite(r.median) && r.median > 0);
  const ping = rows.filter((r) => r.unit === 'µs' && r.measure === 'L3 Ping 64 B').flatMap((r) => [
    { target: r.target, percentile: 'min', us: r.min },
    { target: r.target, percentile: 'median', us: r.median },
    { target: r.target, percentile: 'p99', us: r.p99 },
  ]);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    vconcat: [
      {
        title: 'median operations per second (log scale)',
        data: { values: throughput.map((r) => ({ measure: r.measure, target: r.target, ops: r.median })) },
        mark: 'bar',
        width: 640,
        height: { step: 14 },
        encoding: {
          y: { field: 'measure', type: 'nominal', title: null, axis: { labelLimit: 400 } },
          yOffset: { field: 'target', type: 'nominal' },
          // Bars on a log scale need an explicit base (log 0 is undefined): 10 ops/s.
          x: { field: 'ops', type: 'quantitative', scale: { type: 'log', domainMin: 10 }, title: 'ops/s' },
          x2: { datum: 10 },
          color: { field: 'target', type: 'nominal', legend: { labelLimit: 260 } },
        },
      },
      {
        title: 'L3 Ping 64 B latency (µs)',
        data: { values: ping },
        mark: 'bar',
        width: 640,
        height: { step: 14 },
        encoding: {
          y: { field: 'target', type: 'nominal', title: null, axis: { labelLimit: 400 } },
          yOffset: { field: 'percentile', type: 'nominal', sort: ['min', 'median', 'p99'] },
          x: { field: 'us', type: 'quantitative', title: 'µs' },
          color: { field: 'percentile', type: 'nominal', sort: ['min', 'median', 'p99'] },
        },
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
