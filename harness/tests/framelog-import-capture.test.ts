/**
 * Captures made in the test: the project's model server on loopback, tcpdump writing what the
 * driver's traffic looks like on the wire (Ethernet on lo, Linux cooked v1 and v2 on "any",
 * micro- and nanosecond files, IPv4 and IPv6), then the importer must give back exactly the
 * exchanges the transport recorded. tcpdump writes pcap only; the pcapng cases re-wrap a real
 * capture in both byte orders. Also the CLI on a real capture.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { ModelServer } from '../model/server.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { hex } from '../bytes.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';
import { importCapture, listCaptureConnections } from '../framelog/import/index.js';
import { PcapReader } from '../framelog/import/pcap.js';
import { pcapToPcapng } from '../framelog/import/capture-writer.js';
import { LINK } from '../framelog/import/packet.js';
import { FRAME_LOG_VERSION, parseFrameLog, type FrameLogEntry } from '../framelog/frame-log.js';
import { decodeFrameLog } from '../framelog/decode.js';
import { FrameLogError } from '../errors.js';
import { TAG } from '../protocol/tagged-frame.js';

const TCPDUMP = process.env.TCPDUMP ?? 'tcpdump';
const IMPORT_COMMANDS = path.resolve('dist/harness/cli/import-commands.js');
/**
 * The `framelog import` command as the CLI registers it, in a child process on the built code
 * (the integrator wires registerImportCommands into `tropic-harness framelog`; this runner does
 * the same with a program of its own, and reports errors as main.ts does).
 */
const CLI_RUNNER = `
import { Command } from 'commander';
import { registerImportCommands } from ${JSON.stringify(IMPORT_COMMANDS)};
const program = new Command('tropic-harness');
registerImportCommands(program.command('framelog'));
program.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { process.stderr.write('tropic-harness: ' + e.message + '\\n'); process.exit(1); });
`;
const cli = (args: string[], opts: { encoding?: 'utf8'; stdio?: 'pipe' } = {}) =>
  execFileSync(process.execPath, ['--input-type=module', '-e', CLI_RUNNER, '--', ...args], { ...opts, cwd: process.cwd() });

interface Tcpdump {
  file: string;
  proc: ChildProcess;
  /** Stops tcpdump; resolves with its closing statistics (captured / dropped by kernel). */
  stop: () => Promise<string>;
}

/** Starts tcpdump and resolves once it says it is listening (so no packet of the test is missed). */
async function startTcpdump(file: string, iface: string, port: number, extra: string[] = []): Promise<Tcpdump> {
  // A small snap length (every tagged frame fits in 4 KiB) and a 16 MiB buffer: with the default
  // 256 KiB snap length the kernel ring holds only a few frames and drops packets on a busy machine.
  const args = ['-i', iface, '-U', '--immediate-mode', '-s', '4096', '-B', '16384', '-w', file, ...extra, `tcp port ${port}`];
  const proc = spawn(TCPDUMP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    proc.on('error', (e) => reject(new Error(`cannot run ${TCPDUMP} (apt-get install tcpdump; .ci/setup installs it): ${e.message}`)));
    proc.on('exit', (code) => reject(new Error(`tcpdump exited with ${code} before listening: ${stderr}`)));
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) resolve();
    });
  });
  proc.removeAllListeners('exit');
  return {
    file,
    proc,
    stop: () =>
      new Promise<string>((resolve) => {
        if (proc.exitCode !== null) return resolve(stderr);
        proc.once('exit', () => resolve(stderr));
        proc.kill('SIGINT');
      }),
  };
}

/** Waits until the capture holds the whole connection (its close included), bounded. */
async function waitForCapture(file: string, port: number, requests: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (existsSync(file)) {
      try {
        const l = listCaptureConnections(readFileSync(file), { port });
        const c = l.connections[0];
        if (c && c.requests === requests && c.replies === requests && c.closed) return;
      } catch {
        // tcpdump may not have written the file header yet
      }
    }
    if (Date.now() > deadline) return; // the import assertions then say what is missing
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Drives real traffic (Get_Info, CHIP_ID, a secure session and two Pings) and returns what the transport recorded. */
async function driveTraffic(host: string, port: number): Promise<ExchangeRecord[]> {
  const records: ExchangeRecord[] = [];
  const t = await TcpTransport.connect({ host, port });
  t.on('exchange', (r: ExchangeRecord) => records.push(r));
  const chip = new TropicSquare(t);
  await chip.getInfo(1, 0);
  await chip.chipId();
  await chip.startSecureSession(0, loadPairingKey({ TROPIC_PAIRING_KEY: undefined }));
  expect(await chip.ping(Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(1, 2, 3));
  expect(await chip.ping(new Uint8Array(300).fill(0x5a))).toEqual(new Uint8Array(300).fill(0x5a));
  await t.close();
  return records;
}

/**
 * The wire carries one message the transport does not report as an exchange: the CSN_HIGH it
 * sends on connect (`resyncOnConnect`, reported as a `resync` event). After it, every imported
 * entry is the recorded exchange, in order.
 */
function expectSameExchanges(entries: FrameLogEntry[], records: ExchangeRecord[]): void {
  expect(records.length).toBeGreaterThan(20);
  const view = (e: FrameLogEntry) => ({ seq: e.seq, tag: e.tag, tx: e.tx, rtag: e.rtag, rx: e.rx, err: e.err });
  expect(view(entries[0])).toEqual({ seq: 0, tag: TAG.CSN_HIGH, tx: '', rtag: TAG.CSN_HIGH, rx: '', err: undefined });
  expect(entries.slice(1).map(view)).toEqual(
    records.map((r, i) => ({ seq: i + 1, tag: r.tag, tx: hex(r.request), rtag: r.replyTag, rx: r.reply ? hex(r.reply) : undefined, err: undefined })),
  );
  // Capture times are in order and durations are not negative.
  for (let i = 1; i < entries.length; i++) expect(entries[i].t).toBeGreaterThanOrEqual(entries[i - 1].t);
  expect(entries.every((e) => e.ms >= 0)).toBe(true);
}

let dir: string;
test.beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'h4b-capture-'));
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.describe.configure({ mode: 'serial' });

let ethernetCapture: Uint8Array;
let ethernetRecords: ExchangeRecord[];
let ethernetPort: number;

test('real tcpdump captures (Ethernet on lo, Linux cooked v1 and v2 with nanosecond times) import as exactly the exchanges the transport recorded', async () => {
  const server = await new ModelServer({ port: 0 }).start();
  const port = server.port;
  const dumps = await Promise.all([
    startTcpdump(path.join(dir, 'lo.pcap'), 'lo', port),
    startTcpdump(path.join(dir, 'sll.pcap'), 'any', port, ['-y', 'LINUX_SLL']),
    startTcpdump(path.join(dir, 'sll2-nano.pcap'), 'any', port, ['-y', 'LINUX_SLL2', '--nano']),
  ]);
  let records: ExchangeRecord[];
  let stats: string[];
  try {
    records = await driveTraffic('127.0.0.1', port);
    for (const d of dumps) await waitForCapture(d.file, port, records.length + 1);
  } finally {
    stats = await Promise.all(dumps.map((d) => d.stop()));
    await server.close();
  }
  // A packet tcpdump lost is the capture's fault, not the importer's: say so first.
  for (const s of stats) expect(s, 'tcpdump dropped packets').toMatch(/^0 packets dropped by kernel/m);
  const expected = [
    { file: 'lo.pcap', linkType: LINK.ETHERNET, nano: false },
    { file: 'sll.pcap', linkType: LINK.LINUX_SLL, nano: false },
    { file: 'sll2-nano.pcap', linkType: LINK.LINUX_SLL2, nano: true },
  ];
  for (const x of expected) {
    const data = readFileSync(path.join(dir, x.file));
    const reader = new PcapReader(data);
    expect(reader.linkType, x.file).toBe(x.linkType);
    expect(reader.nanosecond, x.file).toBe(x.nano);
    const r = importCapture(data, { port, file: x.file });
    expect(r.warnings, x.file).toEqual([]);
    expect(r.meta).toMatchObject({ source: 'pcap', file: x.file, port, connection: { index: 1, of: 1, server: `127.0.0.1:${port}` } });
    expectSameExchanges(r.entries, records);
  }
  ethernetCapture = readFileSync(path.join(dir, 'lo.pcap'));
  ethernetRecords = records;
  ethernetPort = port;
});

test('a real capture re-wrapped as pcapng (little- and big-endian, nanosecond resolution) imports the same exchanges', () => {
  expect(ethernetCapture, 'needs the capture of the test before').toBeDefined();
  for (const littleEndian of [true, false]) {
    const ng = pcapToPcapng(ethernetCapture, { littleEndian, tsresol: 9 });
    const r = importCapture(ng, { port: ethernetPort, file: 'lo.pcapng' });
    expect(r.meta.source).toBe('pcapng');
    expect(r.warnings).toEqual([]);
    expectSameExchanges(r.entries, ethernetRecords);
    // The same times as the pcap import, to the microsecond.
    const fromPcap = importCapture(ethernetCapture, { port: ethernetPort });
    expect(r.entries.map((e) => e.t)).toEqual(fromPcap.entries.map((e) => e.t));
  }
});

test('a real IPv6 capture (server on ::1) imports the same exchanges as the transport recorded', async () => {
  const server = await new ModelServer({ port: 0, address: '::1' }).start();
  const port = server.port;
  const dump = await startTcpdump(path.join(dir, 'v6.pcap'), 'lo', port);
  let records: ExchangeRecord[];
  let stats: string;
  try {
    records = await driveTraffic('::1', port);
    await waitForCapture(dump.file, port, records.length + 1);
  } finally {
    stats = await dump.stop();
    await server.close();
  }
  expect(stats, 'tcpdump dropped packets').toMatch(/^0 packets dropped by kernel/m);
  const r = importCapture(readFileSync(dump.file), { port });
  expect(r.meta).toMatchObject({ connection: { server: `[::1]:${port}` } });
  expectSameExchanges(r.entries, records);
});

test('the CLI imports a real capture to a frame log that parses and decodes, lists its connection, and names the file on a wrong port', async () => {
  expect(ethernetCapture, 'needs the capture of the first test').toBeDefined();
  expect(existsSync(IMPORT_COMMANDS), 'run `npm run build` first').toBe(true);
  const file = path.join(dir, 'lo.pcap');
  const out = path.join(dir, 'lo.jsonl');
  cli(['framelog', 'import', file, '--port', String(ethernetPort), '--out', out], { stdio: 'pipe' });
  const log = parseFrameLog(readFileSync(out, 'utf8'));
  expect(log.meta).toMatchObject({ frameLog: FRAME_LOG_VERSION, source: 'pcap', file: 'lo.pcap' });
  expect(log.entries.length).toBe(ethernetRecords.length + 1);
  expect(decodeFrameLog(log.entries)).toContain('L2 response');

  const list = cli(['framelog', 'import', file, '--port', String(ethernetPort), '--list'], { encoding: 'utf8' }).toString();
  expect(list).toContain(`1 connection(s) on port ${ethernetPort}`);
  expect(list).toMatch(new RegExp(`1: 127\\.0\\.0\\.1:\\d+ → 127\\.0\\.0\\.1:${ethernetPort}`));

  let stderr = '';
  try {
    cli(['framelog', 'import', file, '--port', '1'], { stdio: 'pipe' });
  } catch (e) {
    stderr = String((e as { stderr: Buffer }).stderr);
  }
  expect(stderr).toContain('TH_PCAP');
  expect(stderr).toContain('lo.pcap: no TCP connection on port 1');
  expect(stderr).toContain(`${ethernetPort} (`);
});

test('a capture without the server port is a TH_PCAP FrameLogError naming the ports it does hold', () => {
  expect(ethernetCapture).toBeDefined();
  let err: unknown;
  try {
    importCapture(ethernetCapture, { port: 7, file: 'lo.pcap' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FrameLogError);
  expect((err as FrameLogError).code).toBe('TH_PCAP');
  expect((err as FrameLogError).message).toContain(`TCP ports seen: ${ethernetPort}`);
});
