/**
 * The DevKit's legacy text firmware (TS1302 "USB/SPI interface"), as libtropic's host port drives it
 * (tropicsquare/libtropic hal/posix/usb_dongle/libtropic_port_posix_usb_dongle.c in /work/ref, and
 * the legacy branch of hal/posix/usb_devkit/libtropic_port_posix_usb_devkit.c at bbf9647) and as the
 * firmware parses it (tropicsquare/tropic01-stm32u5-usb-devkit-fw at 071cef2: app/main.c, app/cmd.c,
 * sdk/hal/tty.c):
 *
 * - An SPI transfer is one line of hex digits (upper case, as libtropic's "%02X") ending in `x\n`:
 *   the firmware drives chip select low before the transfer (unless the line starts with `x`) and
 *   keeps it low when the line ends with `x`. It answers the bytes clocked back as hex, `\r\n`.
 * - `CS=0\n` makes chip select inactive (the firmware maps 0 to SPI_CS_IDLE, i.e. CSN high), answer
 *   `OK\r\n`.
 *   libtropic's csn_low is a no-op: the next data line lowers chip select itself.
 * - `GPO\n` answers `GPO: <0|1>\r\n` then `OK\r\n`; `PWR=<0|1>\n` switches the chip supply (this
 *   firmware has it although libtropic never uses it), answer `OK\r\n`.
 * - Unknown input answers `ERROR: <reason>\r\n`. Lines end at `\r` or `\n`; 115200 baud.
 */
import { RigError } from '../../errors.js';
import type { SerialLink } from './serial-link.js';
import { DEFAULT_DEVKIT_TIMEOUTS, type DevkitProtocol, type DevkitTimeouts } from './protocol.js';

const OK_LINE = 'OK\r\n';
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const shown = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

export class LegacyDevkit implements DevkitProtocol {
  readonly firmware = 'legacy' as const;
  private powerSupported = true;

  constructor(private readonly link: SerialLink, private readonly timeouts: DevkitTimeouts = DEFAULT_DEVKIT_TIMEOUTS) {}

  async csnLow(): Promise<void> {
    // The next data line lowers chip select itself (libtropic's legacy csn_low is a no-op too).
  }

  async csnHigh(): Promise<void> {
    await this.command('CS=0', 'CS=0 (release chip select)');
  }

  async transfer(tx: Uint8Array): Promise<Uint8Array> {
    // An empty line would be parsed as the command "x" and refused; nothing is clocked anyway.
    if (tx.length === 0) return new Uint8Array(0);
    await this.link.write(ascii(`${Buffer.from(tx).toString('hex').toUpperCase()}x\n`));
    const line = text(await this.link.readLine(`the ${tx.length}-byte SPI transfer`, this.timeouts.replyMs, 4 * tx.length + 64));
    this.refuseError(line, `SPI transfer of ${tx.length} bytes`);
    const body = line.replace(/\r?\n$/, '');
    if (!line.endsWith('\r\n') || body.length !== 2 * tx.length || !/^[0-9A-Fa-f]*$/.test(body))
      throw new RigError(`legacy DevKit answered an SPI transfer of ${tx.length} bytes with ${shown(line)}`, 'TH_DEVKIT_PROTOCOL', {
        expected: `${2 * tx.length} hex digits and \\r\\n`,
        frame: ascii(line),
      });
    return Uint8Array.from(Buffer.from(body, 'hex'));
  }

  async power(on: boolean): Promise<boolean> {
    if (!this.powerSupported) return false;
    const line = await this.exchangeLine(`PWR=${on ? 1 : 0}`, 'PWR (chip supply)');
    if (/^ERROR/.test(line)) {
      this.powerSupported = false; // an older firmware without PWR
      return false;
    }
    this.expectOk(line, 'PWR');
    return true;
  }

  async gpo(): Promise<boolean> {
    const line = await this.exchangeLine('GPO', 'GPO');
    this.refuseError(line, 'GPO');
    const m = /^GPO: ([01])\r\n$/.exec(line);
    if (!m) throw new RigError(`legacy DevKit answered GPO with ${shown(line)}`, 'TH_DEVKIT_PROTOCOL', { expected: 'GPO: 0|1' });
    this.expectOk(text(await this.link.readLine('OK after GPO', this.timeouts.replyMs)), 'GPO');
    return m[1] === '1';
  }

  async resync(): Promise<void> {
    await this.link.discardInput();
  }

  private async exchangeLine(command: string, what: string): Promise<string> {
    await this.link.write(ascii(`${command}\n`));
    return text(await this.link.readLine(`${what}`, this.timeouts.replyMs));
  }

  private async command(command: string, what: string): Promise<void> {
    const line = await this.exchangeLine(command, what);
    this.refuseError(line, what);
    this.expectOk(line, what);
  }

  private refuseError(line: string, what: string): void {
    if (line.startsWith('ERROR')) throw new RigError(`legacy DevKit refused ${what}: ${shown(line.trimEnd())}`, 'TH_DEVKIT');
  }

  private expectOk(line: string, what: string): void {
    if (line !== OK_LINE) throw new RigError(`legacy DevKit answered ${what} with ${shown(line)}`, 'TH_DEVKIT_PROTOCOL', { expected: JSON.stringify(OK_LINE), frame: ascii(line) });
  }
}
