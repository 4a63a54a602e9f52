/**
 * A serial port as a byte stream with bounded reads: the DevKit protocols read exact byte counts
 * or lines, each within a timeout, and every failure is typed (TH_SERIAL for the port itself:
 * cannot open, write failure, unplugged; TH_DEVKIT for a DevKit that does not answer in time).
 * The port is `serialport`'s SerialPort (the same raw 8N1 set-up libtropic's POSIX port makes);
 * a pseudo-terminal works the same way, which is how the emulator tests run.
 */
import { SerialPort } from 'serialport';
import { RigError, TimeoutError } from '../../errors.js';

export const DEFAULT_BAUD_RATE = 115200;

interface Waiter {
  check: () => boolean;
  fail: (e: Error) => void;
}

export class SerialLink {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter?: Waiter;
  private closedReason?: string;
  /** Settles a write in flight; the port's loss fails them all. */
  private readonly pendingWrites = new Set<(e?: Error) => void>();
  /** Called once when the port closes or fails (unplugged, closed by us). */
  onClose?: (reason: string) => void;

  private constructor(
    readonly path: string,
    private readonly port: SerialPort,
    private readonly baudRate: number,
  ) {
    port.on('data', (d: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
      this.waiter?.check();
    });
    port.on('error', (e: Error) => this.lost(`serial port error: ${e.message}`));
    port.on('close', () => this.lost('serial port closed (DevKit unplugged or the device went away)'));
  }

  static async open(path: string, baudRate = DEFAULT_BAUD_RATE): Promise<SerialLink> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((e) => (e ? reject(new RigError(`cannot open serial port ${path} at ${baudRate} baud: ${e.message}`, 'TH_SERIAL', { cause: e })) : resolve())),
    );
    return new SerialLink(path, port, baudRate);
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  private lost(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.failPending(reason);
    this.onClose?.(reason);
  }

  private failPending(reason: string): void {
    this.waiter?.fail(new RigError(`${this.path}: ${reason}`, 'TH_SERIAL'));
    for (const fail of [...this.pendingWrites]) fail(new RigError(`${this.path}: write interrupted: ${reason}`, 'TH_SERIAL'));
  }

  private assertOpen(what: string): void {
    if (this.closedReason !== undefined) throw new RigError(`${this.path}: cannot ${what}: ${this.closedReason}`, 'TH_SERIAL');
  }

  /**
   * Write and drain, bounded: by `timeoutMs`, 1 s plus the bytes' time on the line by default.
   * serialport never calls a write's or drain's callback once the port has closed under it (a
   * DevKit unplugged mid-write), so a lost port fails every pending write here, as it fails a
   * pending read; a DevKit that stops taking input fails the write at the bound.
   */
  async write(bytes: Uint8Array, timeoutMs = 1000 + Math.ceil((bytes.length * 10_000) / this.baudRate)): Promise<void> {
    this.assertOpen('write');
    await new Promise<void>((resolve, reject) => {
      const finish = (e?: Error): void => {
        if (!this.pendingWrites.delete(finish)) return; // settled already
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new TimeoutError('rig', `${this.path}: write of ${bytes.length} bytes was not taken by the DevKit within ${timeoutMs} ms`, timeoutMs, { frame: bytes }, 'TH_DEVKIT')),
        timeoutMs,
      );
      this.pendingWrites.add(finish);
      this.port.write(Buffer.from(bytes), (e) => {
        if (e) return finish(new RigError(`${this.path}: write of ${bytes.length} bytes failed: ${e.message}`, 'TH_SERIAL', { cause: e }));
        this.port.drain((d) => finish(d ? new RigError(`${this.path}: drain failed: ${d.message}`, 'TH_SERIAL', { cause: d }) : undefined));
      });
    });
  }

  /** Wait until `ready(buffer)` returns how many bytes to take (or undefined to keep waiting). */
  private read(what: string, timeoutMs: number, ready: (buf: Buffer) => number | undefined): Promise<Uint8Array> {
    this.assertOpen(`read ${what}`);
    if (this.waiter) throw new RigError(`${this.path}: a second read (${what}) started while one is pending`, 'TH_DEVKIT');
    return new Promise<Uint8Array>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
      };
      const timer = setTimeout(() => {
        done();
        const got = Uint8Array.from(this.buffer);
        reject(new TimeoutError('rig', `${this.path}: DevKit did not answer ${what} within ${timeoutMs} ms (${got.length} bytes received)`, timeoutMs, { frame: got }, 'TH_DEVKIT'));
      }, timeoutMs);
      this.waiter = {
        check: () => {
          const n = ready(this.buffer);
          if (n === undefined) return false;
          const out = Uint8Array.from(this.buffer.subarray(0, n));
          this.buffer = this.buffer.subarray(n);
          done();
          resolve(out);
          return true;
        },
        fail: (e) => {
          done();
          reject(e);
        },
      };
      this.waiter.check();
    });
  }

  readExact(n: number, what: string, timeoutMs: number): Promise<Uint8Array> {
    return this.read(what, timeoutMs, (b) => (b.length >= n ? n : undefined));
  }

  /** Bytes up to and including the first `\n`; a line longer than `maxLength` is a protocol error. */
  readLine(what: string, timeoutMs: number, maxLength = 4096): Promise<Uint8Array> {
    return this.read(what, timeoutMs, (b) => {
      const i = b.indexOf(0x0a);
      if (i >= 0) return i + 1;
      if (b.length > maxLength) return b.length; // hand it over: the caller reports the garbage
      return undefined;
    });
  }

  /**
   * Drop what is buffered and whatever else arrives until the line has been quiet for `quietMs`
   * (at most `maxMs`): re-synchronises after a fault, like libtropic's tcflush(TCIFLUSH).
   */
  async discardInput(quietMs = 30, maxMs = 500): Promise<number> {
    let dropped = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    const end = Date.now() + maxMs;
    let last = Date.now();
    let seen = 0;
    while (Date.now() < end && Date.now() - last < quietMs && this.isOpen) {
      await new Promise((r) => setTimeout(r, 5));
      if (this.buffer.length !== seen) {
        seen = this.buffer.length;
        last = Date.now();
      }
    }
    dropped += this.buffer.length;
    this.buffer = Buffer.alloc(0);
    return dropped;
  }

  async close(): Promise<void> {
    if (!this.port.isOpen) {
      this.closedReason ??= 'closed';
      return;
    }
    this.closedReason ??= 'closed by the bridge';
    this.failPending(this.closedReason);
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
