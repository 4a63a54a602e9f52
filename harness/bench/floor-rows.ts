/**
 * The floors: what a round trip costs on this machine when the server does nothing but echo.
 * - `loopback`: the echo server in the benchmark's own process (the floor of `embedded`, which
 *   shares the client's event loop);
 * - `loopback, other process`: the same server in a child Node process (the floor of the model
 *   process, the model container and ts-tvl: every round trip crosses processes).
 * Each is measured with one message per round trip (`loopback echo`, serial transport) and with
 * one and three chip-select windows per round trip (`loopback echo, 3 messages per write`,
 * `loopback echo, 9 messages per write`: CSN_LOW, a 257-byte SPI_SEND and CSN_HIGH per window,
 * written together, every reply awaited; pipelined transport). Nine messages in one write is a
 * whole L3 Ping 64 B (three windows) when the driver sends it in one round trip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TAG } from '../protocol/tagged-frame.js';
import { TargetError } from '../errors.js';
import { measureOp, opRows, type BenchRow } from './measure.js';
import { createEchoServer } from './echo-server.js';
import { stopChild } from './stop-child.js';

export const FLOOR_IN_PROCESS = 'loopback';
export const FLOOR_OTHER_PROCESS = 'loopback, other process';
export const ECHO_ONE = 'loopback echo';

/** The echo measures, by the tagged messages each round trip carries. */
export const ECHO_MEASURES: readonly { measure: string; messagesPerWrite: number }[] = [
  { measure: ECHO_ONE, messagesPerWrite: 1 },
  { measure: 'loopback echo, 3 messages per write', messagesPerWrite: 3 },
  { measure: 'loopback echo, 9 messages per write', messagesPerWrite: 9 },
];

const ECHO_START_TIMEOUT_MS = 10_000;

interface EchoEndpoint {
  port: number;
  stop(): Promise<void>;
}

async function startInProcessEcho(): Promise<EchoEndpoint> {
  const server = createEchoServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// Not detached: the echo server also exits when its stdin (this process) goes away.
const stopEcho = (child: ChildProcess) => stopChild(child, { group: false });

/** The echo server as a child Node process; its port is the first line it prints. */
export async function startChildEcho(): Promise<EchoEndpoint> {
  const script = fileURLToPath(new URL('./echo-server.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new TargetError(`echo server ${script} printed no port within ${ECHO_START_TIMEOUT_MS} ms`, 'TH_TARGET_START_TIMEOUT')), ECHO_START_TIMEOUT_MS);
      child.once('error', (e) => reject(new TargetError(`cannot start the echo server ${process.execPath} ${script}: ${e.message}`, 'TH_TARGET_SPAWN', { cause: e })));
      child.once('exit', (code, signal) => reject(new TargetError(`echo server ${script} exited (${signal ?? `code ${code}`}) before printing its port: ${stderr.trim() || 'no output'}`, 'TH_TARGET_EXITED')));
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n');
        if (line.length < 2) return;
        clearTimeout(timer);
        const port = Number(line[0]);
        if (Number.isInteger(port) && port > 0) resolve(port);
        else reject(new TargetError(`echo server ${script} printed ${JSON.stringify(line[0])}, not a port`, 'TH_TARGET'));
      });
    });
    return { port, stop: () => stopEcho(child) };
  } catch (e) {
    await stopEcho(child);
    throw e;
  }
}

async function echoRows(target: string, endpoint: EchoEndpoint, seconds: number, progress: (line: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const serial = await TcpTransport.connect({ host: '127.0.0.1', port: endpoint.port });
  try {
    progress(`${target}: ${ECHO_ONE}`);
    rows.push(...opRows(ECHO_ONE, target, await measureOp(() => serial.exchange(TAG.WAIT, new Uint8Array(4)), seconds)));
  } finally {
    await serial.close();
  }
  const pipelined = await TcpTransport.connect({ host: '127.0.0.1', port: endpoint.port, pipeline: true });
  const spiFrame = new Uint8Array(257).fill(0xaa);
  const chipSelectWindow = () => [pipelined.exchange(TAG.CSN_LOW), pipelined.exchange(TAG.SPI_SEND, spiFrame), pipelined.exchange(TAG.CSN_HIGH)];
  try {
    for (const { measure, messagesPerWrite } of ECHO_MEASURES.filter((e) => e.messagesPerWrite > 1)) {
      const windows = messagesPerWrite / 3;
      progress(`${target}: ${measure}`);
      // Issued in one tick, the messages leave in one socket write (see TcpTransport).
      const write = () => Promise.all(Array.from({ length: windows }, chipSelectWindow).flat());
      const note = `${windows} chip-select window${windows === 1 ? '' : 's'} (CSN_LOW, SPI_SEND 257 B, CSN_HIGH) per round trip`;
      rows.push(...opRows(measure, target, await measureOp(write, seconds), note));
    }
  } finally {
    await pipelined.close();
  }
  return rows;
}

/** Both floors, each with one message, one window and three windows per round trip. */
export async function floorRows(seconds: number, progress: (line: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [target, start] of [
    [FLOOR_IN_PROCESS, startInProcessEcho],
    [FLOOR_OTHER_PROCESS, startChildEcho],
  ] as const) {
    const endpoint = await start();
    try {
      rows.push(...(await echoRows(target, endpoint, seconds, progress)));
    } finally {
      await endpoint.stop();
    }
  }
  return rows;
}
