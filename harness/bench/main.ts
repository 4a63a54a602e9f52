/**
 * `npm run bench`: operations per second through TcpTransport + TropicSquare against the embedded
 * model and, when TVL_BENCH_COMMAND (or TVL_COMMAND) names a ts-tvl server command, against ts-tvl
 * in the same run; a raw loopback TCP echo is the floor. Also the model's ready time and the cost
 * of a fresh chip (in-memory rebuild vs RESET_TARGET). Prints one table.
 */
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { ModelServer } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { TAG, encodeFrame, TaggedFrameParser } from '../protocol/tagged-frame.js';
import { waitForAnsweredFrame } from '../targets/wait-ready.js';
import { DEFAULT_MODEL_CONFIG } from '../paths.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

async function rate(name: string, op: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  while (performance.now() < end) {
    await op();
    n++;
  }
  process.stderr.write(`  ${name}: ${n} ops\n`);
  return n / SECONDS;
}

async function benchTarget(label: string, port: number, pipeline = false): Promise<Record<string, number>> {
  process.stderr.write(`${label}:\n`);
  const t = await TcpTransport.connect({ host: '127.0.0.1', port, ioTimeoutMs: 30_000, pipeline });
  const ts = new TropicSquare(t);
  await ts.startSecureSession(0, loadPairingKey(resolveConfig()));
  const small = new Uint8Array(64).fill(1);
  const big = new Uint8Array(4096).fill(2);
  const out = {
    'L3 Ping 64 B': await rate('ping64', () => ts.ping(small)),
    'L3 Ping 4 KiB': await rate('ping4k', () => ts.ping(big)),
    'L2 Get_Info (CHIP_ID)': await rate('getinfo', () => ts.getInfo(1)),
  };
  await t.close();
  return out;
}

async function echoFloor(): Promise<number> {
  const srv = net.createServer((s) => {
    const p = new TaggedFrameParser();
    s.on('data', (d) => p.push(d).forEach((f) => s.write(encodeFrame(f.tag, f.payload))));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port });
  process.stderr.write('loopback echo:\n');
  const r = await rate('echo', () => t.exchange(TAG.WAIT, new Uint8Array(4)));
  await t.close();
  srv.close();
  return r;
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  const floor = await echoFloor();
  rows.push(['raw loopback TCP echo (tagged message)', floor.toFixed(0), '-', '-', '-']);

  const t0 = performance.now();
  const server = await new ModelServer({ port: 0, config: loadModelConfig() }).start();
  await waitForAnsweredFrame('127.0.0.1', server.port, 5000);
  const readyMs = performance.now() - t0;
  const model = await benchTarget('embedded model', server.port);
  // Pipelined: a chip-select window in one round trip (the embedded server frames its input).
  const piped = await benchTarget('embedded model, pipelined transport', server.port, true);
  // The model in its own process (`tropic-harness model serve`), as ts-tvl runs: client and server
  // no longer share one event loop.
  const procPort = 29700 + Math.floor(Math.random() * 100);
  const proc = spawn(process.execPath, [new URL('../cli/main.js', import.meta.url).pathname, 'model', 'serve', '--port', String(procPort), '--log-level', 'error'], { stdio: 'ignore' });
  let separate: Record<string, number>;
  try {
    await waitForAnsweredFrame('127.0.0.1', procPort, 10_000);
    separate = await benchTarget('embedded model in its own process, pipelined transport', procPort, true);
  } finally {
    proc.kill('SIGTERM');
  }

  const rebuildStart = performance.now();
  for (let i = 0; i < 200; i++) server.resetChip('bench');
  const rebuildMs = (performance.now() - rebuildStart) / 200;
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
  const rtStart = performance.now();
  for (let i = 0; i < 200; i++) await t.resetTarget();
  const resetTargetMs = (performance.now() - rtStart) / 200;
  await t.close();
  await server.close();

  let tvl: Record<string, number> | undefined;
  const cmd = process.env.TVL_BENCH_COMMAND ?? process.env.TVL_COMMAND;
  let child: ChildProcess | undefined;
  if (cmd) {
    const port = 29800 + Math.floor(Math.random() * 100);
    child = spawn(`${cmd} --port ${port} --configuration ${DEFAULT_MODEL_CONFIG}`, { shell: true, stdio: 'ignore', detached: true });
    try {
      await waitForAnsweredFrame('127.0.0.1', port, 60_000);
      tvl = await benchTarget('ts-tvl', port);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  }
  for (const k of Object.keys(model)) rows.push([k, model[k]!.toFixed(0), piped[k]!.toFixed(0), separate[k]!.toFixed(0), tvl ? tvl[k]!.toFixed(1) : 'n/a (set TVL_BENCH_COMMAND)']);
  if (tvl) {
    const up = (r: Record<string, number>) => `${(r['L3 Ping 64 B']! / tvl['L3 Ping 64 B']!).toFixed(1)}x`;
    rows.push(['Ping 64 B speed-up over ts-tvl (goal >= 50x)', up(model), up(piped), up(separate), '']);
  }
  rows.push(['model ready (start + first answered frame), ms (goal < 50)', readyMs.toFixed(1), '', '', '']);
  rows.push(['fresh chip: in-memory rebuild, ms', rebuildMs.toFixed(3), '', '', '']);
  rows.push(['fresh chip: RESET_TARGET round trip, ms', resetTargetMs.toFixed(3), '', '', '']);
  const head = ['measure (ops/s unless noted)', 'embedded', 'embedded, pipelined', 'own process, pipelined', 'ts-tvl (own process)'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  process.stdout.write([line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...rows.map(line)].join('\n') + '\n');
}

void main();
