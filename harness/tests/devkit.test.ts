/**
 * The DevKit serial protocols on real pseudo-terminals (Debian's socat). The DevKit emulator
 * (harness/rig/emulator) stands in for a physical TROPIC01 USB DevKit: it speaks either firmware's
 * protocol in front of the embedded model's SPI state machine. Where the test plays the DevKit
 * itself (raw serial port), it checks the exact bytes libtropic's host port would put on the wire.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { SerialPort } from 'serialport';
import { startPtyPair, type PtyPair } from '../rig/emulator/pty-pair.js';
import { DevkitEmulator } from '../rig/emulator/devkit-emulator.js';
import { openDevkit, type OpenDevkit } from '../rig/devkit/devkit.js';
import { DEVKIT_MAGIC, HOST_MAGIC, encodeDevkitFrame } from '../rig/devkit/devkit-frame.js';
import { decodeCmd, encodeCmd } from '../rig/devkit/devkit-messages.js';
import { SerialLink } from '../rig/devkit/serial-link.js';
import { LegacyDevkit } from '../rig/devkit/legacy-devkit.js';
import { HarnessError } from '../errors.js';
import type { DevkitFirmware } from '../rig/devkit/protocol.js';

let dir: string;
const pairs: PtyPair[] = [];
const closers: (() => Promise<void>)[] = [];
test.beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'h5a-devkit-'));
});
test.afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  for (const p of pairs.splice(0)) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

async function pair(name = 'p'): Promise<PtyPair> {
  const p = await startPtyPair(path.join(dir, name));
  pairs.push(p);
  return p;
}

/** Emulated DevKit (standing in for the physical one) + the host side opened on the other pty end. */
async function emulated(firmware: DevkitFirmware, replyMs = 1000): Promise<{ emu: DevkitEmulator; kit: OpenDevkit; pty: PtyPair }> {
  const pty = await pair(firmware);
  const emu = await new DevkitEmulator({ path: pty.device, firmware }).start();
  closers.push(() => emu.close());
  const kit = await openDevkit({ path: pty.host, timeouts: { replyMs } });
  closers.push(() => kit.link.close());
  return { emu, kit, pty };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, 'expected a failure').toBeInstanceOf(HarnessError);
  return (e as HarnessError).code;
}

/** libtropic's crc16(): bit by bit, poly 0x8005, init 0; written independently of harness/protocol/crc16.ts. */
function libtropicCrc(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

test('framed DevKit frames: AA 55, big-endian DATA_LEN, data, big-endian CRC-16 over DATA_LEN and data', () => {
  const data = encodeCmd({ raw: { setAutoCsMode: { on: false } } });
  const f = encodeDevkitFrame(HOST_MAGIC, data);
  expect(Array.from(f.subarray(0, 2))).toEqual([0xaa, 0x55]);
  expect((f[2] << 8) | f[3]).toBe(data.length);
  expect(Array.from(f.subarray(4, 4 + data.length))).toEqual(Array.from(data));
  const crc = libtropicCrc(f.subarray(2, 4 + data.length));
  expect(Array.from(f.subarray(4 + data.length))).toEqual([crc >>> 8, crc & 0xff]);
  expect(Array.from(encodeDevkitFrame(DEVKIT_MAGIC, data).subarray(0, 2))).toEqual([0x55, 0xaa]);
  // protobufjs from devkit.proto: RawCmd (field 2) { set_auto_cs_mode (field 2) {} }
  expect(Buffer.from(data).toString('hex')).toBe('12021200');
  expect(decodeCmd(encodeCmd({ raw: { sendSpiData: { txData: Uint8Array.of(1, 2), timeoutMs: 70 } } }))).toEqual({ raw: { sendSpiData: { txData: Uint8Array.of(1, 2), timeoutMs: 70 } } });
});

for (const firmware of ['legacy', 'proto'] as const) {
  test(`the ${firmware} firmware is detected and clocks SPI data through the emulated DevKit (stand-in for a physical one)`, async () => {
    const { emu, kit } = await emulated(firmware);
    expect(kit.devkit.firmware).toBe(firmware);
    // L1 Get_Response poll: CHIP_STATUS byte back, then the chip's response header
    await kit.devkit.csnLow();
    const rx = await kit.devkit.transfer(Uint8Array.of(0xaa, 0, 0, 0));
    await kit.devkit.csnHigh();
    expect(rx.length).toBe(4);
    expect(rx[0] & 0x01).toBe(1); // CHIP_STATUS READY
    expect(emu.stats.spiBytes).toBe(4);
    expect(await kit.devkit.gpo()).toBe(false);
    expect(await kit.devkit.power(false)).toBe(true); // both firmwares' sources have a supply switch
    expect(await kit.devkit.power(true)).toBe(true);
  });

  test(`${firmware}: a slow DevKit answer ends in TH_DEVKIT within the reply timeout`, async () => {
    const { emu, kit } = await emulated(firmware, 200);
    await kit.devkit.csnLow();
    emu.faults.delayMs = 800;
    expect(await codeOf(kit.devkit.transfer(Uint8Array.of(0xaa, 0)))).toBe('TH_DEVKIT');
  });

  test(`${firmware}: garbage bytes end in TH_DEVKIT_PROTOCOL and the link recovers after a resync`, async () => {
    const { emu, kit } = await emulated(firmware);
    await kit.devkit.csnLow();
    emu.faults.garbageNext = Uint8Array.from(Buffer.from('\x13\x37garbage!!\r\n', 'latin1'));
    expect(await codeOf(kit.devkit.transfer(Uint8Array.of(0xaa, 0)))).toBe('TH_DEVKIT_PROTOCOL');
    await kit.devkit.resync();
    expect((await kit.devkit.transfer(Uint8Array.of(0xaa, 0))).length).toBe(2);
    await kit.devkit.csnHigh();
  });

  test(`${firmware}: a DevKit unplugged mid-transfer (pty closed) ends in TH_SERIAL`, async () => {
    const { emu, kit, pty } = await emulated(firmware, 5000);
    emu.faults.stall = true;
    await kit.devkit.csnLow().catch(() => {}); // the framed firmware's SetCs is already stalled
    const code = codeOf(kit.devkit.transfer(Uint8Array.of(0xaa, 0, 0)));
    await new Promise((r) => setTimeout(r, 100));
    await pty.close(); // socat gone: both pty ends vanish, as on unplugging
    expect(await code).toBe('TH_SERIAL');
    expect(kit.link.isOpen).toBe(false);
  });
}

test('proto: a frame with a bad CRC ends in TH_DEVKIT_CRC', async () => {
  const { emu, kit } = await emulated('proto');
  emu.faults.corruptCrcNext = true;
  expect(await codeOf(kit.devkit.csnLow())).toBe('TH_DEVKIT_CRC');
});

test('proto: the emulated firmware answers a host frame with a bad CRC with ErrorResp BAD_CRC (TH_DEVKIT)', async () => {
  const { kit } = await emulated('proto');
  const bad = encodeDevkitFrame(HOST_MAGIC, encodeCmd({ raw: { getGpo: {} } }));
  bad[bad.length - 1] ^= 0xff;
  await kit.link.write(bad);
  const proto = kit.devkit as unknown as { receive(what: string): Promise<{ error?: { resCode?: string } }> };
  expect((await proto.receive('a corrupted frame')).error?.resCode).toBe('ERROR_RESP_CODE_BAD_CRC');
});

test('legacy wire format, as libtropic writes it: upper-case hex + "x\\n", hex answer + "\\r\\n", "CS=0\\n" answered "OK\\r\\n"', async () => {
  const pty = await pair();
  const device = new SerialPort({ path: pty.device, baudRate: 115200 });
  closers.push(() => new Promise<void>((r) => (device.isOpen ? device.close(() => r()) : r())));
  const seen: string[] = [];
  let buf = '';
  device.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i + 1);
      buf = buf.slice(i + 1);
      seen.push(line);
      device.write(line === 'CS=0\n' ? 'OK\r\n' : 'C0FFEE\r\n');
    }
  });
  const link = await SerialLink.open(pty.host);
  closers.push(() => link.close());
  const kit = new LegacyDevkit(link);
  await kit.csnLow(); // no bytes: the firmware lowers chip select with the next data line
  expect(Array.from(await kit.transfer(Uint8Array.of(0xab, 0x01, 0xff)))).toEqual([0xc0, 0xff, 0xee]);
  await kit.csnHigh();
  expect(seen).toEqual(['AB01FFx\n', 'CS=0\n']);
});

test('a serial port that answers neither firmware is refused with TH_DEVKIT_PROTOCOL', async () => {
  const pty = await pair();
  const device = new SerialPort({ path: pty.device, baudRate: 115200 });
  closers.push(() => new Promise<void>((r) => (device.isOpen ? device.close(() => r()) : r())));
  device.on('data', () => device.write('hello, I am a modem\r\n'));
  expect(await codeOf(openDevkit({ path: pty.host, timeouts: { replyMs: 500 } }))).toBe('TH_DEVKIT_PROTOCOL');
});

test('a serial port that does not exist is TH_SERIAL naming the path', async () => {
  const e = await openDevkit({ path: path.join(dir, 'ttyACM99') }).catch((x: HarnessError) => x);
  expect((e as HarnessError).code).toBe('TH_SERIAL');
  expect((e as HarnessError).message).toContain('ttyACM99');
});

// A write issued while serialport is closing a lost port waits for an "open" that never comes:
// writes go out back to back while the pty vanishes, and every one of them must settle.
test('writes racing an unplug all settle: the write that meets the closing port fails with TH_SERIAL instead of hanging', async () => {
  const pty = await pair();
  const link = await SerialLink.open(pty.host);
  closers.push(() => link.close());
  let written = 0;
  const writer = (async () => {
    for (;;) {
      const settled = await Promise.race([
        link.write(Uint8Array.of(0x55)).then(() => 'ok', (e: HarnessError) => e.code),
        new Promise<string>((r) => setTimeout(() => r('still pending after 5 s'), 5000)),
      ]);
      if (settled !== 'ok') return settled;
      written++;
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  await pty.close();
  expect(await writer).toBe('TH_SERIAL');
  expect(written).toBeGreaterThan(0);
  // a failed write can come back before serialport's close event
  await expect.poll(() => link.isOpen).toBe(false);
});

// Nobody reads the device end (socat stops relaying once it is full), so a large write stays pending.
test('a write the DevKit does not take within its bound fails with TH_DEVKIT naming the bound', async () => {
  const pty = await pair();
  const link = await SerialLink.open(pty.host);
  closers.push(() => link.close());
  const e = await link.write(new Uint8Array(4 << 20), 300).catch((x: HarnessError) => x);
  expect((e as HarnessError).code).toBe('TH_DEVKIT');
  expect((e as HarnessError).message).toMatch(/write of 4194304 bytes was not taken by the DevKit within 300 ms/);
});

test('closing the link fails a pending write with TH_SERIAL', async () => {
  const pty = await pair();
  const link = await SerialLink.open(pty.host);
  const write = codeOf(link.write(new Uint8Array(4 << 20), 60_000));
  await new Promise((r) => setTimeout(r, 100));
  await link.close();
  expect(await write).toBe('TH_SERIAL');
});
