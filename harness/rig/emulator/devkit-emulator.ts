/**
 * A TROPIC01 USB DevKit emulator: either firmware's serial protocol (legacy text, or framed
 * protobuf) on one end of a pty pair, in front of the embedded model's SPI state machine. It
 * stands in for a physical DevKit in tests and lets the whole spec suite run through the bridge.
 * Behaviour follows the firmware sources the host side is written from (see legacy-devkit.ts and
 * proto-devkit.ts); faults (stall, delay, garbage, bad CRC) can be switched on for tests.
 */
import { SerialPort } from 'serialport';
import { RigError } from '../../errors.js';
import { TropicModel } from '../../model/chip.js';
import { loadModelConfig } from '../../model/model-config.js';
import type { DevkitFirmware } from '../devkit/protocol.js';
import { DEVKIT_MAGIC, FRAME_DATA_MAX, encodeDevkitFrame, frameCrc } from '../devkit/devkit-frame.js';
import { decodeCmd, encodeResp, type RawResp, type UsbDevkitCmd, type UsbDevkitResp } from '../devkit/devkit-messages.js';

export interface EmulatorFaults {
  /** Never answer (a hung DevKit). */
  stall?: boolean;
  /** Answer this late. */
  delayMs?: number;
  /** Answer the next request with these bytes instead. */
  garbageNext?: Uint8Array;
  /** Flip the CRC of the next framed answer. */
  corruptCrcNext?: boolean;
}

export interface DevkitEmulatorOptions {
  /** The pty end the emulator opens (the DevKit side). */
  path: string;
  firmware: DevkitFirmware;
  /** The chip behind the DevKit; the embedded model with its default configuration when omitted. */
  chip?: TropicModel;
  log?: (line: string) => void;
}

const NL = '\r\n';

export class DevkitEmulator {
  readonly chip: TropicModel;
  faults: EmulatorFaults = {};
  readonly stats = { requests: 0, spiBytes: 0 };
  private port?: SerialPort;
  private csLow = false;
  private powered = true;
  private autoCs = true; // the framed firmware starts in auto chip-select mode
  private input: Buffer = Buffer.alloc(0);
  private lineBuf: number[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly log: (line: string) => void;

  constructor(private readonly opts: DevkitEmulatorOptions) {
    this.chip = opts.chip ?? new TropicModel(loadModelConfig());
    this.log = opts.log ?? (() => {});
  }

  /** Whether the emulated DevKit powers the chip (PWR= / SetTr01Pwr). */
  get supplyOn(): boolean {
    return this.powered;
  }

  get firmware(): DevkitFirmware {
    return this.opts.firmware;
  }

  async start(): Promise<this> {
    const port = new SerialPort({ path: this.opts.path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(new RigError(`emulator cannot open ${this.opts.path}: ${e.message}`, 'TH_SERIAL', { cause: e })) : resolve())));
    this.port = port;
    port.on('data', (d: Buffer) => (this.opts.firmware === 'legacy' ? this.feedText(d) : this.feedFrames(d)));
    port.on('error', (e: Error) => this.log(`emulator: serial error ${e.message}`));
    this.log(`emulator: ${this.opts.firmware} DevKit firmware on ${this.opts.path}`);
    return this;
  }

  async close(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((r) => p.close(() => r()));
  }

  private reply(bytes: Uint8Array): void {
    this.chain = this.chain.then(async () => {
      const f = this.faults;
      if (f.stall) return;
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      let out = bytes;
      if (f.garbageNext) {
        out = f.garbageNext;
        f.garbageNext = undefined;
      }
      if (this.port?.isOpen) await new Promise<void>((r) => this.port!.write(Buffer.from(out), () => r()));
    });
  }

  // chip select edges drive the model's SPI state machine
  private setCs(low: boolean): void {
    if (low && !this.csLow) this.chip.spi.csnFalling();
    if (!low && this.csLow) this.chip.spi.csnRising();
    this.csLow = low;
  }

  private spi(tx: Uint8Array): Uint8Array {
    this.stats.spiBytes += tx.length;
    if (!this.powered) return new Uint8Array(tx.length); // supply off: nothing drives MISO
    return this.chip.spi.transfer(tx);
  }

  private setPower(on: boolean): void {
    if (on && !this.powered) this.chip.powerCycle();
    this.powered = on;
  }

  // ---- legacy text firmware (tty.c: lines end at \r, \n or NUL; main.c / cmd.c: the parsers)
  private feedText(d: Buffer): void {
    for (const b of d) {
      if (b === 0x0d || b === 0x0a || b === 0x00) {
        if (this.lineBuf.length) this.line(Buffer.from(this.lineBuf).toString('latin1'));
        this.lineBuf = [];
      } else if (b === 0x08) this.lineBuf.pop();
      else this.lineBuf.push(b);
    }
  }

  private line(raw: string): void {
    this.stats.requests++;
    const data = raw.replace(/^ +/, '');
    const tx = this.parseHexLine(data);
    if (tx) {
      if (!tx.skipCsStart) this.setCs(true);
      const rx = this.spi(tx.bytes);
      if (!tx.skipCsEnd) this.setCs(false);
      this.reply(Buffer.from(Buffer.from(rx).toString('hex').toUpperCase() + NL));
      return;
    }
    if (data.startsWith('#')) return;
    const m = /^([A-Za-z]+)\s*(.*)$/.exec(data);
    const name = m?.[1].toUpperCase();
    const arg = m?.[2] ?? '';
    const set = arg.startsWith('=') ? arg.slice(1).trim() : undefined;
    const err = (msg: string): void => this.reply(Buffer.from(`ERROR: ${msg}${NL}`));
    const bool = (): boolean | undefined => (set === '0' ? false : set === '1' ? true : undefined);
    if (set === undefined && arg !== '' && arg !== '?') return err('illegal parameter');
    switch (name) {
      case 'CS':
        if (set === undefined) return this.reply(Buffer.from(`CS: ${this.csLow ? 1 : 0}${NL}OK${NL}`));
        if (bool() === undefined) return err('invalid parameter');
        this.setCs(bool()!);
        return this.reply(Buffer.from(`OK${NL}`));
      case 'PWR':
        if (set === undefined) return this.reply(Buffer.from(`PWR: ${this.powered ? 1 : 0}${NL}OK${NL}`));
        if (bool() === undefined) return err('invalid parameter');
        this.setPower(bool()!);
        return this.reply(Buffer.from(`OK${NL}`));
      case 'GPO':
        if (set !== undefined) return err('invalid parameter');
        return this.reply(Buffer.from(`GPO: 0${NL}OK${NL}`));
      case 'ID':
        return this.reply(Buffer.from(`ID: TS1302 emulator${NL}OK${NL}`));
      case 'VER':
        return this.reply(Buffer.from(`VER: FW emulator, HW TS1302 emulator, tropic-harness${NL}OK${NL}`));
      default:
        return err('unknown command');
    }
  }

  /** main.c _parse_hex: optional leading x or \, hex byte pairs (spaces allowed), optional trailing x or \. */
  private parseHexLine(s: string): { bytes: Uint8Array; skipCsStart: boolean; skipCsEnd: boolean } | undefined {
    let i = 0;
    const skip = (c: string | undefined): boolean => c === 'x' || c === '\\';
    const skipCsStart = skip(s[0]);
    if (skipCsStart) i++;
    const isHex = (k: number): boolean => /^[0-9A-Fa-f]{2}$/.test(s.slice(k, k + 2));
    if (!isHex(i)) return undefined;
    const out: number[] = [];
    while (isHex(i)) {
      out.push(parseInt(s.slice(i, i + 2), 16));
      i += 2;
      while (s[i] === ' ') i++;
    }
    return { bytes: Uint8Array.from(out.slice(0, 511)), skipCsStart, skipCsEnd: skip(s[i]) };
  }

  // ---- framed firmware (usb_devkit_protocol.c: the read state machine and process_raw_cmd)
  private feedFrames(d: Buffer): void {
    this.input = Buffer.concat([this.input, d]);
    for (;;) {
      const start = this.input.indexOf(0xaa);
      if (start < 0) {
        this.input = Buffer.alloc(0);
        return;
      }
      if (this.input.length < start + 2) return;
      if (this.input[start + 1] !== 0x55) {
        this.input = this.input.subarray(start + 2); // the firmware drops both bytes and looks again
        continue;
      }
      if (this.input.length < start + 4) return;
      const n = (this.input[start + 2] << 8) | this.input[start + 3];
      if (n === 0 || n > FRAME_DATA_MAX) {
        this.input = this.input.subarray(start + 4);
        this.stats.requests++;
        this.replyFrame({ error: { resCode: 'ERROR_RESP_CODE_BAD_DATA_LEN' } });
        continue;
      }
      if (this.input.length < start + 4 + n + 2) return;
      const lengthAndData = this.input.subarray(start + 2, start + 4 + n);
      const crc = this.input.subarray(start + 4 + n, start + 6 + n);
      const data = Uint8Array.from(this.input.subarray(start + 4, start + 4 + n));
      const want = frameCrc(lengthAndData);
      this.input = this.input.subarray(start + 6 + n);
      this.stats.requests++;
      if (want[0] !== crc[0] || want[1] !== crc[1]) {
        this.replyFrame({ error: { resCode: 'ERROR_RESP_CODE_BAD_CRC' } });
        continue;
      }
      let cmd: UsbDevkitCmd;
      try {
        cmd = decodeCmd(data);
      } catch {
        this.replyFrame({ error: { resCode: 'ERROR_RESP_CODE_PB_DECODE' } });
        continue;
      }
      this.replyFrame(this.process(cmd));
    }
  }

  private process(cmd: UsbDevkitCmd): UsbDevkitResp {
    const raw = cmd.raw;
    if (!raw) return { error: { resCode: 'ERROR_RESP_CODE_UNKNOWN_CMD' } };
    const r: RawResp = {};
    if (raw.sendSpiData) {
      const tx = raw.sendSpiData.txData ?? new Uint8Array(0);
      if (this.autoCs) this.setCs(true);
      const rx = this.spi(tx);
      if (this.autoCs) this.setCs(false);
      r.sendSpiData = { resCode: 'SEND_SPI_DATA_RESP_CODE_OK', rxData: rx };
    } else if (raw.setAutoCsMode) {
      this.autoCs = raw.setAutoCsMode.on ?? false;
      r.setAutoCsMode = { resCode: 'SET_AUTO_CS_MODE_RESP_CODE_OK' };
    } else if (raw.setCs) {
      if (this.autoCs) r.setCs = { resCode: 'SET_CS_RESP_CODE_AUTO_CS_MODE_ON' };
      else {
        this.setCs(!(raw.setCs.high ?? false));
        r.setCs = { resCode: 'SET_CS_RESP_CODE_OK' };
      }
    } else if (raw.setTr01Pwr) {
      this.setPower(raw.setTr01Pwr.on ?? false);
      r.setTr01Pwr = { resCode: 'SET_TR01_PWR_RESP_CODE_OK' };
    } else if (raw.getGpo) {
      r.getGpo = { resCode: 'GET_GPO_RESP_CODE_OK', high: false };
    } else return { error: { resCode: 'ERROR_RESP_CODE_UNKNOWN_CMD' } };
    return { raw: r };
  }

  private replyFrame(resp: UsbDevkitResp): void {
    const frame = encodeDevkitFrame(DEVKIT_MAGIC, encodeResp(resp));
    if (this.faults.corruptCrcNext) {
      frame[frame.length - 1] ^= 0x5a;
      this.faults.corruptCrcNext = false;
    }
    this.reply(frame);
  }
}
