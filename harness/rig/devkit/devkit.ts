/**
 * Opening a DevKit: the serial port, then which firmware it runs, detected the way libtropic's
 * host port does (hal/posix/usb_devkit at bbf9647, lt_port_init): send AA 55 00 00 '\n' — a framed
 * firmware answers an ErrorResp frame starting 55 AA (DATA_LEN 0 is BAD_DATA_LEN), the legacy
 * firmware answers "ERROR: unknown command" — read two bytes, then drop the rest of the answer.
 */
import { RigError } from '../../errors.js';
import { SerialLink, DEFAULT_BAUD_RATE } from './serial-link.js';
import { LegacyDevkit } from './legacy-devkit.js';
import { ProtoDevkit } from './proto-devkit.js';
import { DEFAULT_DEVKIT_TIMEOUTS, type DevkitFirmware, type DevkitProtocol, type DevkitTimeouts } from './protocol.js';

export const FIRMWARE_ID_MESSAGE = Uint8Array.of(0xaa, 0x55, 0x00, 0x00, 0x0a);

export interface OpenDevkitOptions {
  path: string;
  baudRate?: number;
  /** `auto` (default) detects; a fixed value skips detection. */
  firmware?: DevkitFirmware | 'auto';
  timeouts?: Partial<DevkitTimeouts>;
}

export interface OpenDevkit {
  link: SerialLink;
  devkit: DevkitProtocol;
}

export async function detectFirmware(link: SerialLink, timeoutMs: number): Promise<DevkitFirmware> {
  await link.discardInput(20, 200); // a banner or leftovers from an earlier session
  await link.write(FIRMWARE_ID_MESSAGE);
  const head = await link.readExact(2, 'the firmware identification message', timeoutMs);
  await link.discardInput();
  if (head[0] === 0x55 && head[1] === 0xaa) return 'proto';
  if (head[0] === 0x45 && head[1] === 0x52) return 'legacy'; // "ER"ROR: unknown command
  throw new RigError(`${link.path} is not a TROPIC01 USB DevKit (or runs an unknown firmware): it answered the identification message with these bytes`, 'TH_DEVKIT_PROTOCOL', {
    expected: '55 AA (framed firmware) or "ER" (legacy firmware)',
    frame: head,
  });
}

export async function openDevkit(opts: OpenDevkitOptions): Promise<OpenDevkit> {
  const timeouts = { ...DEFAULT_DEVKIT_TIMEOUTS, ...opts.timeouts };
  const link = await SerialLink.open(opts.path, opts.baudRate ?? DEFAULT_BAUD_RATE);
  try {
    const firmware = !opts.firmware || opts.firmware === 'auto' ? await detectFirmware(link, timeouts.replyMs) : opts.firmware;
    if (firmware === 'legacy') return { link, devkit: new LegacyDevkit(link, timeouts) };
    const devkit = new ProtoDevkit(link, timeouts);
    await devkit.init();
    return { link, devkit };
  } catch (e) {
    await link.close();
    throw e;
  }
}
