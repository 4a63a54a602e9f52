/**
 * Serial ports that may be TROPIC01 USB DevKits. serialport's SerialPort.list() needs udevadm on
 * Linux; without it (containers, minimal systems) the list degrades to a scan of /dev for
 * ttyACM* / ttyUSB* names and says so. `probe` opens each candidate and runs the firmware
 * identification (this writes 5 bytes to the port: do not probe ports of other devices in use).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { SerialLink } from './serial-link.js';
import { detectFirmware } from './devkit.js';

export interface PortCandidate {
  path: string;
  description?: string;
  /** Set when probed: the detected firmware, or why not. */
  firmware?: string;
}

export interface PortListing {
  ports: PortCandidate[];
  /** How the list was made (and why a fallback was used). */
  method: string;
}

const DEVKIT_NAME = /^tty(ACM|USB)\d+$/;

export async function listDevkitPorts(opts: { scanDirs?: string[]; probe?: boolean; probeTimeoutMs?: number } = {}): Promise<PortListing> {
  let listing: PortListing;
  if (opts.scanDirs) listing = scan(opts.scanDirs, 'scanned the given directories');
  else {
    try {
      const found = await SerialPort.list();
      listing = {
        method: 'serialport SerialPort.list()',
        ports: found
          .filter((p) => DEVKIT_NAME.test(path.basename(p.path)) || /tropic/i.test(`${p.manufacturer ?? ''}`))
          .map((p) => ({ path: p.path, description: [p.manufacturer, p.vendorId && `${p.vendorId}:${p.productId}`, p.serialNumber && `serial ${p.serialNumber}`].filter(Boolean).join(', ') })),
      };
    } catch (e) {
      listing = scan(['/dev'], `SerialPort.list() failed (${(e as Error).message}); scanned /dev/ttyACM* and /dev/ttyUSB* instead`);
    }
  }
  if (opts.probe) {
    for (const p of listing.ports) {
      let link: SerialLink | undefined;
      try {
        link = await SerialLink.open(p.path);
        p.firmware = await detectFirmware(link, opts.probeTimeoutMs ?? 1000);
      } catch (e) {
        p.firmware = `not a DevKit: ${(e as Error).message}`;
      } finally {
        await link?.close();
      }
    }
  }
  return listing;
}

function scan(dirs: string[], method: string): PortListing {
  const ports: PortCandidate[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // a directory that is not there has no ports
    }
    for (const n of names.sort()) if (DEVKIT_NAME.test(n)) ports.push({ path: path.join(dir, n) });
  }
  return { ports, method };
}
