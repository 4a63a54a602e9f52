/**
 * The DevKit bridge (`rig serve`) end to end: the bridge runs as a real child process on a real
 * pty pair (Debian's socat); the DevKit emulator stands in for a physical TROPIC01 USB DevKit
 * (either firmware) in front of the embedded model; TcpTransport + TropicSquare talk to the bridge
 * over loopback TCP, or TLS with client certificates made by openssl for the test.
 * Needs `npm run build` (the child process runs dist/).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { test, expect } from '@playwright/test';
import { startPtyPair, type PtyPair } from '../rig/emulator/pty-pair.js';
import { DevkitEmulator } from '../rig/emulator/devkit-emulator.js';
import { BridgeServer } from '../rig/server/bridge-server.js';
import { parseAllowList } from '../rig/server/allow-list.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { TAG, TaggedFrameParser, encodeFrame, type TaggedFrame } from '../protocol/tagged-frame.js';
import { HarnessError, TransportTagError } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';
import type { DevkitFirmware } from '../rig/devkit/protocol.js';

const RIG_CLI = path.join(PROJECT_ROOT, 'dist', 'harness', 'rig', 'rig-cli.js');

let dir: string;
const cleanups: (() => Promise<void>)[] = [];
test.beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'h5a-bridge-'));
});
test.afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function emulatedDevkit(firmware: DevkitFirmware, name: string = firmware): Promise<{ pty: PtyPair; emu: DevkitEmulator }> {
  const pty = await startPtyPair(path.join(dir, name));
  const emu = await new DevkitEmulator({ path: pty.device, firmware }).start();
  cleanups.push(() => pty.close(), () => emu.close());
  return { pty, emu };
}

interface Served {
  proc: ChildProcess;
  port: number;
  firmware: string;
  stderr: () => string;
}

/** `rig serve` as a child process; resolves with the port it printed. */
async function serve(args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [RIG_CLI, 'rig', 'serve', '-p', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((r) => proc.once('exit', (c) => r(c ?? -1)));
  cleanups.push(async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  });
  const line = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    void exited.then((c) => reject(new Error(`rig serve exited ${c}: ${err}`)));
  });
  const info = JSON.parse(line) as { listening: string; firmware: string };
  return { proc, port: Number(info.listening.split(':').pop()), firmware: info.firmware, stderr: () => err };
}

for (const firmware of ['legacy', 'proto'] as const) {
  test(`rig serve (child process) over an emulated ${firmware}-firmware DevKit: getInfo, chip ID, secure session and ping`, async () => {
    // The emulator stands in for a physical DevKit on the pty's other end.
    const { pty } = await emulatedDevkit(firmware);
    const bridge = await serve(['--serial', pty.host]);
    expect(bridge.firmware).toBe(firmware);
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: bridge.port });
    cleanups.push(() => t.close());
    const ts = new TropicSquare(t);
    expect((await ts.riscvFwVersion()).major).toBeGreaterThanOrEqual(1);
    expect((await ts.chipId()).serial).toMatch(/^[0-9a-f]{32}$/);
    await ts.startSecureSession(0, loadPairingKey(resolveConfig({})));
    expect(Array.from(await ts.ping(Uint8Array.of(5, 4, 3, 2, 1)))).toEqual([5, 4, 3, 2, 1]);
  });

  test(`${firmware}: RESET_TARGET answers UNSUPPORTED; POWER_OFF/POWER_ON switch the emulated DevKit's chip supply`, async () => {
    const { pty, emu } = await emulatedDevkit(firmware);
    const bridge = await serve(['--serial', pty.host]);
    const c = await RawClient.open(bridge.port);
    cleanups.push(async () => c.close());
    expect((await c.ask(TAG.RESET_TARGET)).tag).toBe(TAG.UNSUPPORTED);
    expect((await c.ask(TAG.POWER_OFF)).tag).toBe(TAG.POWER_OFF);
    expect(emu.supplyOn).toBe(false);
    expect((await c.ask(TAG.POWER_ON)).tag).toBe(TAG.POWER_ON);
    expect(emu.supplyOn).toBe(true);
    expect((await c.ask(0x42)).tag).toBe(TAG.INVALID);
    // SPI_SEND while chip select is high clocks nothing, as on the model
    expect((await c.ask(TAG.SPI_SEND, Uint8Array.of(1, 2))).payload.length).toBe(0);
  });
}

test('an unplugged DevKit answers EXCEPTION (bridge stays up), and the bridge serves again once it is plugged back in', async () => {
  // Emulator stands in for a physical DevKit; closing the pty pair is the unplug.
  const first = await emulatedDevkit('proto', 'kit');
  const bridge = await serve(['--serial', first.pty.host, '--reply-timeout', '500']);
  // The first message after the unplug may cost the bridge a failed write, a reopen and a firmware
  // detection, each bounded by the 500 ms reply timeout: the client waits longer than all of them
  // (a loaded CI machine once needed more than 3 s).
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: bridge.port, ioTimeoutMs: 15_000 });
  cleanups.push(() => t.close());
  const ts = new TropicSquare(t);
  await ts.chipId();
  await first.emu.close();
  await first.pty.close();
  const e = await ts.chipId().catch((x: unknown) => x);
  expect(e, `after the unplug: ${String(e)}; bridge log:\n${bridge.stderr().slice(-1500)}`).toBeInstanceOf(TransportTagError);
  expect((e as TransportTagError).code).toBe('TH_TCP_EXCEPTION');
  await expect.poll(() => bridge.stderr()).toMatch(/TH_SERIAL|serial port (closed|error)/);
  // plugged back in: same path, a new DevKit behind it
  await emulatedDevkit('legacy', 'kit');
  expect((await ts.chipId()).serial).toMatch(/^[0-9a-f]{32}$/);
  expect(bridge.proc.exitCode).toBeNull();
});

test('a DevKit that answers too slowly makes the bridge answer EXCEPTION and log TH_DEVKIT; the next message is served', async () => {
  const { pty, emu } = await emulatedDevkit('legacy');
  const bridge = await serve(['--serial', pty.host, '--reply-timeout', '200']);
  const c = await RawClient.open(bridge.port);
  cleanups.push(async () => c.close());
  emu.faults.delayMs = 1000;
  expect((await c.ask(TAG.CSN_HIGH, undefined, 5000)).tag).toBe(TAG.EXCEPTION);
  expect(bridge.stderr()).toContain('TH_DEVKIT');
  emu.faults.delayMs = 0;
  await new Promise((r) => setTimeout(r, 1000)); // the late answer arrives and is drained by the next resync
  expect([TAG.CSN_HIGH, TAG.EXCEPTION]).toContain((await c.ask(TAG.CSN_HIGH)).tag);
  expect((await c.ask(TAG.CSN_HIGH)).tag).toBe(TAG.CSN_HIGH);
});

test('rig serve refuses a non-loopback address without TLS (TH_TLS), before touching any serial port', async () => {
  const r = await run(['rig', 'serve', '--serial', path.join(dir, 'nothing'), '-a', '0.0.0.0']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('TH_TLS');
  expect(r.stderr).toContain('0.0.0.0');
});

test('rig list --scan --probe finds an emulated DevKit behind a ttyACM name and identifies its firmware', async () => {
  const { pty } = await emulatedDevkit('proto');
  const devDir = path.join(dir, 'dev');
  mkdirSync(devDir);
  symlinkSync(pty.host, path.join(devDir, 'ttyACM7'));
  writeFileSync(path.join(devDir, 'ttyS0'), ''); // not a USB CDC name: not a candidate
  const r = await run(['rig', 'list', '--scan', devDir, '--probe', '--json']);
  expect(r.code).toBe(0);
  const listing = JSON.parse(r.stdout) as { ports: { path: string; firmware?: string }[] };
  expect(listing.ports).toEqual([{ path: path.join(devDir, 'ttyACM7'), firmware: 'proto' }]);
});

test('rig list without udevadm degrades to a /dev scan and says so (or lists through serialport)', async () => {
  const r = await run(['rig', 'list']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^# (serialport SerialPort\.list\(\)|SerialPort\.list\(\) failed .*scanned \/dev\/ttyACM\* and \/dev\/ttyUSB\* instead)/);
});

test.describe('TLS', () => {
  test('only clients with an allowed certificate get through; others get no byte of the DevKit', async () => {
    const pki = makePki(dir);
    const { pty } = await emulatedDevkit('proto');
    const bridge = await new BridgeServer({
      devkit: { path: pty.host },
      address: '127.0.0.1',
      port: 0,
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, allow: parseAllowList(`# allowed\nCN=allowed-client\n`, 'test allow-list') },
    }).start();
    cleanups.push(() => bridge.close());

    // allowed: the driver works through TLS (TcpTransport's tls option)
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: bridge.port, tls: { ca: pki.caCert, cert: pki.allowedCert, key: pki.allowedKey } });
    expect((await new TropicSquare(t).chipId()).serial).toMatch(/^[0-9a-f]{32}$/);
    await t.close();

    // signed by the CA but not on the allow-list: closed without an answer
    const other = await tlsExchange(bridge.port, pki.caCert, pki.otherCert, pki.otherKey);
    expect(other.received).toBe(0);
    expect(other.closed).toBe(true);
    // no client certificate: the handshake fails
    const none = await tlsExchange(bridge.port, pki.caCert);
    expect(none.received).toBe(0);
    expect(bridge.stats.refused).toBe(1);
  });

  test('an allow-list line that is neither a fingerprint nor a CN is TH_TLS naming the line', () => {
    const e = (() => {
      try {
        parseAllowList('CN=ok\nsha256:1234\n', 'allow.txt');
      } catch (x) {
        return x as HarnessError;
      }
    })();
    expect(e?.code).toBe('TH_TLS');
    expect(e?.message).toContain('allow.txt line 2');
  });
});

// ---------- helpers

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [RIG_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((r) => proc.once('exit', (c) => r(c ?? -1)));
  return { code, stdout, stderr };
}

/** A raw tagged-protocol client. */
class RawClient {
  private parser = new TaggedFrameParser();
  private frames: TaggedFrame[] = [];
  constructor(private readonly sock: tls.TLSSocket | import('node:net').Socket) {
    sock.on('data', (d: Buffer) => this.frames.push(...this.parser.push(d)));
  }
  static async open(port: number): Promise<RawClient> {
    const net = await import('node:net');
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    return new RawClient(sock);
  }
  async ask(tag: number, payload = new Uint8Array(0), timeoutMs = 3000): Promise<TaggedFrame> {
    this.sock.write(encodeFrame(tag, payload));
    const end = Date.now() + timeoutMs;
    while (!this.frames.length) {
      if (Date.now() > end) throw new Error(`no reply to tag 0x${tag.toString(16)} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.frames.shift()!;
  }
  close(): void {
    this.sock.destroy();
  }
}

/** Connect with node:tls, send CSN_HIGH, report how many bytes came back before the close. */
async function tlsExchange(port: number, ca: string, cert?: string, key?: string): Promise<{ received: number; closed: boolean }> {
  return new Promise((resolve) => {
    let received = 0;
    const s = tls.connect({ host: '127.0.0.1', port, ca, cert, key, servername: 'localhost' }, () => s.write(encodeFrame(TAG.CSN_HIGH)));
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('error', () => {});
    s.on('close', () => resolve({ received, closed: true }));
    setTimeout(() => {
      s.destroy();
      resolve({ received, closed: false });
    }, 3000);
  });
}

/** A throw-away CA, a server certificate for 127.0.0.1 and two client certificates, by openssl. */
function makePki(base: string) {
  const d = path.join(base, 'pki');
  mkdirSync(d);
  const ssl = (...a: string[]): void => void execFileSync('openssl', a, { cwd: d, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=h5a test CA', '-days', '2');
  const leaf = (name: string, ext: string): void => {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(path.join(d, `${name}.ext`), ext);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  leaf('localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('allowed-client', 'extendedKeyUsage=clientAuth\n');
  leaf('other-client', 'extendedKeyUsage=clientAuth\n');
  const r = (f: string): string => readFileSync(path.join(d, f), 'utf8');
  return {
    caCert: r('ca.pem'),
    serverCert: r('localhost.pem'),
    serverKey: r('localhost.key'),
    allowedCert: r('allowed-client.pem'),
    allowedKey: r('allowed-client.key'),
    otherCert: r('other-client.pem'),
    otherKey: r('other-client.key'),
  };
}
