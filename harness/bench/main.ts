#!/usr/bin/env node
/**
 * `npm run bench`: where the time goes, side by side in one run. Prints one table (progress on
 * stderr) and writes `reports/bench/bench.json` ({ machine, node, date, rows: [{ measure, target,
 * unit, min, median, p99, note? }] }) and `reports/bench/bench.svg`.
 *
 * Targets (the `target` column): `loopback` and `loopback, other process` (a raw tagged-message
 * echo server in this process and in a child process: the floors, see floor-rows.ts), `embedded`
 * (the model in this process, pipelined transport), `model process, serial` and
 * `model process, pipelined` (`tropic-harness model serve` in its own process), `model container`
 * (when a Docker engine is configured), `ts-tvl` (when TVL_BENCH_COMMAND names its server command,
 * serial transport). Throughput rows (ops/s) spread over 5 time windows; latency rows (µs) over
 * every call. Each target's L3 Ping 64 B gets its ratio to its floor (annotate.ts). A benchmark
 * reports; it never fails on a figure.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { PRIVATE_ENGINE_ENV } from '../targets/docker-engine.js';
import { WORKSPACE_ROOT } from '../paths.js';
import type { BenchRow } from './measure.js';
import { ECHO_MEASURES, floorRows } from './floor-rows.js';
import { annotate, PING } from './annotate.js';
import { driverRows } from './driver-rows.js';
import { suiteRows } from './suite-rows.js';
import { benchSvg } from './plot.js';
import { benchFrameLog } from '../framelog/bench.js';
import { importThroughput, importThroughputRows } from '../framelog/import/bench.js';
import { exploreThroughput } from '../explore/bench.js';
import { startContainerBench, startEmbeddedBench, startModelProcessBench, startTvlBench, type BenchTarget } from './bench-targets.js';

interface Options {
  seconds: number;
  only?: string;
  json?: boolean;
  suite: boolean;
  out: string;
}

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Number.isInteger(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

export function renderTable(rows: BenchRow[]): string {
  const head = ['measure', 'target', 'unit', 'min', 'median', 'p99', 'note'];
  const body = rows.map((r) => [r.measure, r.target, r.unit, fmt(r.min), fmt(r.median), fmt(r.p99), r.note ?? '']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...body.map(line)].join('\n') + '\n';
}

async function withTarget(start: () => Promise<BenchTarget>, o: Options, key: Uint8Array): Promise<BenchRow[]> {
  const target = await start();
  try {
    return await driverRows(target, { seconds: o.seconds, only: o.only, pairingKey: key, progress });
  } finally {
    await target.stop();
  }
}

async function main(o: Options): Promise<void> {
  const cfg = resolveConfig();
  const key = loadPairingKey(cfg);
  const rows: BenchRow[] = [];
  const wanted = (m: string) => !o.only || m.toLowerCase().includes(o.only.toLowerCase());
  // The floors are measured whenever a Ping is: its note is its ratio to them.
  if ([...ECHO_MEASURES.map((e) => e.measure), PING].some(wanted)) rows.push(...(await floorRows(o.seconds, progress)));
  rows.push(...(await withTarget(startEmbeddedBench, o, key)));
  rows.push(...(await withTarget(() => startModelProcessBench(false), o, key)));
  rows.push(...(await withTarget(() => startModelProcessBench(true), o, key)));
  const engine = !!cfg.DOCKER_HOST || existsSync(PRIVATE_ENGINE_ENV) || existsSync('/var/run/docker.sock');
  if (engine && process.env.TROPIC_BENCH_CONTAINER !== '0') {
    try {
      rows.push(...(await withTarget(() => startContainerBench(cfg), o, key)));
    } catch (e) {
      progress(`model container skipped: ${(e as Error).message.split('\n')[0]}`);
    }
  } else progress('model container skipped: no Docker engine configured');
  const tvl = process.env.TVL_BENCH_COMMAND;
  if (tvl) rows.push(...(await withTarget(() => startTvlBench(tvl), o, key)));
  else progress('ts-tvl skipped: set TVL_BENCH_COMMAND (e.g. "model_server tcp") to measure it in the same run');
  if (wanted('frame log') || wanted('decode') || wanted('replay')) {
    progress('frame logs: decode and exact replay');
    for (const f of await benchFrameLog(o.seconds)) rows.push({ measure: `frame log ${f.name}`, target: 'embedded', unit: 'exchanges/s', min: f.perSecond, median: f.perSecond, p99: f.perSecond, note: `${f.exchanges} exchanges in ${f.seconds.toFixed(1)} s` });
  }
  if (wanted('import')) {
    progress('frame logs: pcap import');
    rows.push(...importThroughputRows(importThroughput({ runs: 3 })));
  }
  if (wanted('explore')) {
    progress('differential exploration');
    const x = await exploreThroughput(o.seconds);
    rows.push({ measure: 'exploration sequences', target: 'embedded vs embedded', unit: 'seq/s', min: x.sequencesPerSecond, median: x.sequencesPerSecond, p99: x.sequencesPerSecond, note: `${x.sequences} sequences` });
    rows.push({ measure: 'exploration commands', target: 'embedded vs embedded', unit: 'cmd/s', min: x.commandsPerSecond, median: x.commandsPerSecond, p99: x.commandsPerSecond, note: `${x.commands} commands` });
  }
  if (o.suite && (wanted('suite') || wanted('fixture') || wanted('RSS'))) rows.push(...(await suiteRows(progress)));
  annotate(rows);

  const machine = `${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
  const report = { machine, node: process.version, date: new Date().toISOString(), rows };
  const out = path.resolve(WORKSPACE_ROOT, o.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'bench.json'), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(path.join(out, 'bench.svg'), await benchSvg(rows, `tropic-harness bench, ${report.date.slice(0, 10)}, ${machine}, node ${process.version}`));
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    process.stdout.write(`${machine}; node ${process.version}; ${report.date}\n`);
    process.stdout.write(renderTable(rows));
  }
  progress(`wrote ${path.join(out, 'bench.json')} and bench.svg`);
}

const program = new Command('bench')
  .description('benchmark the transport, driver, model and suite on every available target; one table, reports/bench/bench.json and bench.svg')
  .addOption(new Option('--seconds <s>', 'time budget per throughput measure').default(2).argParser((v) => {
    const n = Number(v);
    if (!(n > 0 && n <= 120)) throw new InvalidArgumentError(`--seconds must be a number in (0, 120], got ${JSON.stringify(v)}`);
    return n;
  }))
  .option('--only <text>', 'only the measures whose name contains this text (e.g. "Ping", "suite")')
  .option('--json', 'print only the JSON report on stdout')
  .option('--no-suite', 'skip the whole-suite rows (suite wall time, peak RSS, fixture overhead)')
  .option('--out <dir>', 'where bench.json and bench.svg go', 'reports/bench')
  .addHelpText('after', '\nEnvironment: TVL_BENCH_COMMAND (ts-tvl server command), TROPIC_BENCH_CONTAINER=0 (skip the container).\nExit codes: 0 figures written; 1 a target could not be started.');

program.action(async (o: Options) => {
  try {
    await main(o);
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
});
void program.parseAsync(process.argv);
