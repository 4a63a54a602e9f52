/**
 * A pseudo-terminal pair made by Debian's socat: two linked serial-like devices, one for the
 * DevKit emulator and one for the bridge, as a USB DevKit's /dev/ttyACM* would be. Closing the
 * pair (killing socat) is what unplugging the DevKit looks like to the bridge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { RigError } from '../../errors.js';

export interface PtyPair {
  /** The end the bridge (the host) opens. */
  host: string;
  /** The end the emulator (the DevKit) opens. */
  device: string;
  process: ChildProcess;
  close(): Promise<void>;
}

export async function startPtyPair(dir: string, timeoutMs = 5000): Promise<PtyPair> {
  mkdirSync(dir, { recursive: true });
  const host = path.join(dir, 'devkit');
  const device = path.join(dir, 'emulator');
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
  let exited = false;
  proc.once('exit', () => (exited = true));
  const end = Date.now() + timeoutMs;
  while (!(existsSync(host) && existsSync(device))) {
    const e = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20))]);
    if (e) throw new RigError(`cannot start socat for a pty pair (install Debian's socat: apt-get install -y socat): ${e.message}`, 'TH_SERIAL', { cause: e });
    if (exited || Date.now() > end) {
      proc.kill('SIGKILL');
      throw new RigError(`socat did not create the pty pair ${host} / ${device} within ${timeoutMs} ms: ${stderr.trim() || '(no output)'}`, 'TH_SERIAL');
    }
  }
  return {
    host,
    device,
    process: proc,
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}
