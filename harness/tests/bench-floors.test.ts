/**
 * `npm run bench` floors: the echo server in a child process, each target's L3 Ping 64 B against
 * the floor of where its server runs (in this process or another) divided by the round trips a
 * Ping takes there, and the plot with the floor rows. Figures are never judged: only that they
 * exist, are finite and say what they are compared with. Needs `npm run build` (dist/).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';
import { TAG, TaggedFrameParser, encodeFrame, type TaggedFrame } from '../protocol/tagged-frame.js';
import { annotate, floorTargetOf, MESSAGES_PER_PING, PING, ROUND_TRIPS_PER_PING } from '../bench/annotate.js';
import { ECHO_MEASURES, FLOOR_IN_PROCESS, FLOOR_OTHER_PROCESS } from '../bench/floor-rows.js';
import { benchSvg } from '../bench/plot.js';
import type { BenchRow } from '../bench/measure.js';
import { runChild } from './run-child.js';
import { fixedRow as row } from './bench-rows.js';

const BENCH = path.join(PROJECT_ROOT, 'dist', 'harness', 'bench', 'main.js');
const ECHO_SERVER = path.join(PROJECT_ROOT, 'dist', 'harness', 'bench', 'echo-server.js');
const OTHER_PROCESS_TARGETS = ['model process, serial', 'model process, pipelined', 'model container', 'ts-tvl'];

let dir: string;
test.beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-bench-floors-'))));
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));


test('echo server process: prints its port, answers a chip-select window written at once with the three messages, exits when its stdin closes', async () => {
  const child = spawn(process.execPath, [ECHO_SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
      });
      child.once('exit', (code) => reject(new Error(`echo server exited with ${code} before printing its port`)));
    });
    expect(Number.isInteger(port) && port > 0).toBe(true);
    const spi = Uint8Array.from({ length: 257 }, (_, i) => i & 0xff);
    const sock = net.connect(port, '127.0.0.1');
    const parser = new TaggedFrameParser();
    const frames: TaggedFrame[] = [];
    const three = new Promise<void>((resolve) =>
      sock.on('data', (d: Buffer) => {
        frames.push(...parser.push(d));
        if (frames.length >= 3) resolve();
      }),
    );
    sock.write(Buffer.concat([encodeFrame(TAG.CSN_LOW), encodeFrame(TAG.SPI_SEND, spi), encodeFrame(TAG.CSN_HIGH)]));
    await three;
    sock.destroy();
    expect(frames.map((f) => f.tag)).toEqual([TAG.CSN_LOW, TAG.SPI_SEND, TAG.CSN_HIGH]);
    expect(Buffer.from(frames[1]!.payload).equals(Buffer.from(spi))).toBe(true);
    child.stdin.end();
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('annotate: each L3 Ping 64 B is compared with the floor of where its server runs, divided by its measured round trips, with the echo that carries as many messages per round trip', () => {
  const rows: BenchRow[] = [
    row('loopback echo', FLOOR_IN_PROCESS, 'ops/s', 40_000),
    row('loopback echo, 3 messages per write', FLOOR_IN_PROCESS, 'ops/s', 30_000),
    row('loopback echo, 9 messages per write', FLOOR_IN_PROCESS, 'ops/s', 20_000),
    row('loopback echo', FLOOR_OTHER_PROCESS, 'ops/s', 27_000),
    row('loopback echo, 3 messages per write', FLOOR_OTHER_PROCESS, 'ops/s', 24_000),
    row('loopback echo, 9 messages per write', FLOOR_OTHER_PROCESS, 'ops/s', 18_000),
    // embedded: the whole Ping in one round trip; serial: one message per round trip; pipelined: one window per round trip.
    row(PING, 'embedded', 'ops/s', 5_000),
    row(MESSAGES_PER_PING, 'embedded', 'messages', 9),
    row(ROUND_TRIPS_PER_PING, 'embedded', 'round trips', 1),
    row(PING, 'model process, serial', 'ops/s', 1_500),
    row(MESSAGES_PER_PING, 'model process, serial', 'messages', 9),
    row(ROUND_TRIPS_PER_PING, 'model process, serial', 'round trips', 9),
    row(PING, 'model process, pipelined', 'ops/s', 4_000),
    row(MESSAGES_PER_PING, 'model process, pipelined', 'messages', 9),
    row(ROUND_TRIPS_PER_PING, 'model process, pipelined', 'round trips', 3),
    // ts-tvl without the messages row: one message per round trip is assumed, the one-message echo used.
    row(PING, 'ts-tvl', 'ops/s', 300),
    row(ROUND_TRIPS_PER_PING, 'ts-tvl', 'round trips', 9),
    // A target whose round trips were not measured gets no ratio, and says why.
    row(PING, 'model container', 'ops/s', 2_000),
  ];
  annotate(rows);
  const note = (target: string) => rows.find((r) => r.measure === PING && r.target === target && r.unit === 'ops/s')!.note;
  expect(note('embedded')).toBe('25% of floor (loopback: "loopback echo, 9 messages per write" 20000/s / 1 round trip = 20000/s); 16.7x ts-tvl');
  expect(note('model process, serial')).toBe('50% of floor (loopback, other process: "loopback echo" 27000/s / 9 round trips = 3000/s); 5.0x ts-tvl');
  expect(note('model process, pipelined')).toBe('50% of floor (loopback, other process: "loopback echo, 3 messages per write" 24000/s / 3 round trips = 8000/s); 13.3x ts-tvl');
  expect(note('ts-tvl')).toBe('10% of floor (loopback, other process: "loopback echo" 27000/s / 9 round trips = 3000/s)');
  expect(note('model container')).toBe(`no floor: ${ROUND_TRIPS_PER_PING} not measured; 6.7x ts-tvl`);
  expect(floorTargetOf('embedded')).toBe(FLOOR_IN_PROCESS);
  for (const t of OTHER_PROCESS_TARGETS) expect(floorTargetOf(t)).toBe(FLOOR_OTHER_PROCESS);
});

test('plot: bench.svg draws the floor rows of both processes next to the targets, and leaves out a row that was not measured', async () => {
  const rows: BenchRow[] = [
    row('loopback echo', FLOOR_IN_PROCESS, 'ops/s', 40_000),
    row('loopback echo', FLOOR_OTHER_PROCESS, 'ops/s', 27_000),
    row('loopback echo, 9 messages per write', FLOOR_OTHER_PROCESS, 'ops/s', 18_000),
    row(PING, 'embedded', 'ops/s', 5_000),
    row(PING, 'model process, pipelined', 'ops/s', 4_000),
    row(PING, 'embedded', 'µs', 200),
    row(PING, 'model process, pipelined', 'µs', 250),
    { ...row('R-mem write 475 B', 'ts-tvl', 'ops/s', NaN), note: 'not measured: refused' },
  ];
  const svg = await benchSvg(rows, 'floors');
  expect(svg.startsWith('<svg')).toBe(true);
  // Whole labels (axis and legend texts), not parts of longer ones.
  for (const name of [FLOOR_IN_PROCESS, FLOOR_OTHER_PROCESS, 'embedded', 'model process, pipelined', 'loopback echo', 'loopback echo, 9 messages per write', PING]) expect(svg).toContain(`>${name}</text>`);
  expect(svg).not.toContain('R-mem write 475 B');
});

test('bench --only Ping --json: both floors with finite medians, every target\'s L3 Ping 64 B names its floor, round trips per Ping measured per target', async () => {
  const out = path.join(dir, 'ping');
  const env: NodeJS.ProcessEnv = { ...process.env, TROPIC_BENCH_CONTAINER: '0' };
  delete env.TVL_BENCH_COMMAND;
  const child = await runChild(process.execPath, [BENCH, '--only', 'Ping', '--no-suite', '--seconds', '0.2', '--json', '--out', out], env);
  expect(child.code, child.out).toBe(0);
  const report = JSON.parse(readFileSync(path.join(out, 'bench.json'), 'utf8')) as { rows: BenchRow[] };
  const rows = report.rows;

  for (const floor of [FLOOR_IN_PROCESS, FLOOR_OTHER_PROCESS]) {
    for (const { measure } of ECHO_MEASURES) {
      for (const unit of ['ops/s', 'µs']) {
        const r = rows.find((x) => x.measure === measure && x.target === floor && x.unit === unit);
        expect(r, `${measure} on ${floor} (${unit})`).toBeDefined();
        expect(Number.isFinite(r!.median) && r!.median > 0, `${measure} on ${floor} (${unit}) median ${r!.median}`).toBe(true);
      }
    }
  }

  const pings = rows.filter((r) => r.measure === PING && r.unit === 'ops/s');
  expect(pings.map((r) => r.target).sort()).toEqual(['embedded', 'model process, pipelined', 'model process, serial']);
  for (const p of pings) {
    const floor = floorTargetOf(p.target);
    expect(p.note, p.target).toMatch(new RegExp(`^\\d+% of floor \\(${floor}: "loopback echo[^"]*" \\d+/s / \\d+ round trips? = \\d+/s\\)`));
    const trips = rows.find((r) => r.measure === ROUND_TRIPS_PER_PING && r.target === p.target);
    expect(trips, `${ROUND_TRIPS_PER_PING} on ${p.target}`).toBeDefined();
    expect(Number.isInteger(trips!.median) && trips!.median > 0, `${p.target}: ${trips!.median} round trips`).toBe(true);
    // The note divides by the round trips measured, not by an assumed count.
    expect(p.note).toContain(`/ ${trips!.median} round trip`);
  }
  // Serial: every message is its own round trip.
  const serialTrips = rows.find((r) => r.measure === ROUND_TRIPS_PER_PING && r.target === 'model process, serial')!.median;
  const serialMessages = rows.find((r) => r.measure === MESSAGES_PER_PING && r.target === 'model process, serial')!.median;
  expect(serialTrips).toBe(serialMessages);
  expect(readFileSync(path.join(out, 'bench.svg'), 'utf8')).toContain(FLOOR_OTHER_PROCESS);
});
