/**
 * `tropic-harness rig serve | list | emulate`: the DevKit bridge, DevKit discovery, and a DevKit
 * emulator (in front of the embedded model) so the spec suite can run through emulator + bridge.
 * `registerRigServeCommands(rigCommand)` adds the sub-commands to an existing `rig` command.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { intArg } from './args.js';
import { CliError } from '../errors.js';
import { BridgeServer, DEFAULT_BRIDGE_ADDRESS, DEFAULT_BRIDGE_PORT, type BridgeLog, type BridgeTls } from '../rig/server/bridge-server.js';
import { loadAllowList } from '../rig/server/allow-list.js';
import { listDevkitPorts } from '../rig/devkit/list-ports.js';
import { DevkitEmulator } from '../rig/emulator/devkit-emulator.js';
import { startPtyPair, type PtyPair } from '../rig/emulator/pty-pair.js';
import type { DevkitFirmware } from '../rig/devkit/protocol.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

function firmwareArg(allowAuto: boolean) {
  return (v: string): DevkitFirmware | 'auto' => {
    const ok = allowAuto ? ['auto', 'legacy', 'proto'] : ['legacy', 'proto'];
    if (!ok.includes(v)) throw new InvalidArgumentError(`must be ${ok.join(' | ')}, got ${JSON.stringify(v)}`);
    return v as DevkitFirmware | 'auto';
  };
}
function levelArg(v: string): Level {
  if (!(LEVELS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be ${LEVELS.join(' | ')}, got ${JSON.stringify(v)}`);
  return v as Level;
}

function stderrLog(min: Level): BridgeLog {
  return (level, message) => {
    if (LEVELS.indexOf(level) >= LEVELS.indexOf(min)) process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`);
  };
}

function readPem(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${option} ${file}: ${(e as Error).message}`);
  }
}

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

interface ServeOptions {
  serial: string;
  firmware: DevkitFirmware | 'auto';
  baud: number;
  address: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  allow?: string;
  replyTimeout: number;
  spiTimeout: number;
  logLevel: Level;
}

export function registerRigServeCommands(rigCommand: Command): void {
  rigCommand
    .command('serve')
    .description("serve libtropic's tagged TCP protocol in front of a TROPIC01 USB DevKit on a serial port (either firmware, detected at start)")
    .requiredOption('-s, --serial <path>', 'the DevKit serial port, e.g. /dev/ttyACM0')
    .option('--firmware <kind>', 'auto | legacy | proto', firmwareArg(true), 'auto')
    .option('--baud <rate>', 'serial baud rate', intArg('--baud', 1200, 4_000_000), 115200)
    .option('-a, --address <address>', 'listen address; anything but loopback requires the TLS options', DEFAULT_BRIDGE_ADDRESS)
    .option('-p, --port <port>', 'listen port (0: any free port)', intArg('--port', 0, 65535), DEFAULT_BRIDGE_PORT)
    .option('--tls-cert <file>', 'server certificate (PEM)')
    .option('--tls-key <file>', 'server private key (PEM)')
    .option('--tls-client-ca <file>', 'CA certificate(s) that sign client certificates (PEM)')
    .option('--allow <file>', 'client allow-list: lines sha256:<fingerprint> or CN=<name>')
    .option('--reply-timeout <ms>', 'bound on each DevKit answer', intArg('--reply-timeout', 10, 600_000), 1000)
    .option('--spi-timeout <ms>', 'SPI timeout passed to the framed firmware', intArg('--spi-timeout', 1, 60_000), 100)
    .option('--log-level <level>', 'debug | info | warn | error', levelArg, 'info')
    .addHelpText('after', '\nDevKit faults answer EXCEPTION (logged with their TH_ code); an unplugged DevKit is reopened at the next message.\nRuns until SIGINT/SIGTERM. Exit codes: 0 stopped by a signal; 1 bad options, DevKit not found or not answering, cannot listen.')
    .action(async (o: ServeOptions) => {
      const tlsFiles = [o.tlsCert, o.tlsKey, o.tlsClientCa, o.allow];
      if (tlsFiles.some(Boolean) && !tlsFiles.every(Boolean)) throw new CliError('TLS needs all of --tls-cert, --tls-key, --tls-client-ca and --allow');
      const tls: BridgeTls | undefined = o.tlsCert
        ? { cert: readPem('--tls-cert', o.tlsCert), key: readPem('--tls-key', o.tlsKey!), ca: readPem('--tls-client-ca', o.tlsClientCa!), allow: loadAllowList(o.allow!) }
        : undefined;
      const log = stderrLog(o.logLevel);
      const bridge = new BridgeServer({
        devkit: { path: o.serial, baudRate: o.baud, firmware: o.firmware, timeouts: { replyMs: o.replyTimeout, spiMs: o.spiTimeout } },
        address: o.address,
        port: o.port,
        tls,
        log,
      });
      await bridge.start();
      // one machine-readable line for scripts and tests: where to connect
      process.stdout.write(`${JSON.stringify({ listening: `${tls ? 'tls' : 'tcp'}://${o.address}:${bridge.port}`, serial: o.serial, firmware: bridge.firmware })}\n`);
      await untilSignal();
      await bridge.close();
      log('info', `stats ${JSON.stringify(bridge.stats)}`);
    });

  rigCommand
    .command('list')
    .description('serial ports that look like TROPIC01 USB DevKits')
    .option('--probe', 'open each port and identify the DevKit firmware (writes 5 bytes to each port)')
    .option('--scan <dirs...>', 'scan these directories for ttyACM*/ttyUSB* instead of asking the system')
    .option('--json', 'print JSON')
    .action(async (o: { probe?: boolean; scan?: string[]; json?: boolean }) => {
      const listing = await listDevkitPorts({ probe: o.probe, scanDirs: o.scan });
      if (o.json) return void process.stdout.write(`${JSON.stringify(listing)}\n`);
      process.stdout.write(`# ${listing.method}\n`);
      if (!listing.ports.length) process.stdout.write('no candidate serial ports found (is the DevKit plugged in? see docs/rigs-devkit.md)\n');
      for (const p of listing.ports) process.stdout.write(`${p.path}${p.firmware ? `\t${p.firmware}` : ''}${p.description ? `\t${p.description}` : ''}\n`);
    });

  rigCommand
    .command('emulate')
    .description('a DevKit emulator (legacy or framed firmware) in front of the embedded model, on a pty: stands in for a physical DevKit')
    .requiredOption('--protocol <kind>', 'legacy | proto', firmwareArg(false))
    .option('--pty <path>', 'open this existing pty end (the DevKit side)')
    .option('--pty-dir <dir>', 'make a pty pair with socat in this directory: <dir>/devkit for the bridge, <dir>/emulator for the emulator')
    .option('--log-level <level>', 'debug | info | warn | error', levelArg, 'info')
    .addHelpText('after', '\nExample: tropic-harness rig emulate --protocol proto --pty-dir /tmp/devkit &\n         tropic-harness rig serve --serial /tmp/devkit/devkit -p 28992 &\n         TROPIC_TARGET=rig TROPIC_RIG=tcp://127.0.0.1:28992 npx playwright test --project=specs')
    .action(async (o: { protocol: DevkitFirmware; pty?: string; ptyDir?: string; logLevel: Level }) => {
      if (!o.pty === !o.ptyDir) throw new CliError('give exactly one of --pty <path> or --pty-dir <dir>');
      const log = stderrLog(o.logLevel);
      let pair: PtyPair | undefined;
      if (o.ptyDir) pair = await startPtyPair(o.ptyDir);
      const emulator = await new DevkitEmulator({ path: o.pty ?? pair!.device, firmware: o.protocol, log: (l) => log('info', l) }).start();
      process.stdout.write(`${JSON.stringify({ protocol: o.protocol, device: o.pty ?? pair!.device, bridgeSerial: pair?.host })}\n`);
      await untilSignal();
      await emulator.close();
      await pair?.close();
    });
}
