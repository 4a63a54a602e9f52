/** A target: something that speaks libtropic's tagged TCP protocol for one worker slot. */
import type { TargetKind } from '../config/env.js';
import type { ModelFaults } from '../model/faults.js';

/**
 * What answers on a target, for known findings and reports: the implementation and its version,
 * and how that was learned (configured, read from a package/image, or a documented behaviour probe).
 */
export interface TargetImplementation {
  name: 'tropic-harness-model' | 'ts-tvl' | 'tropic01' | 'unknown';
  version?: string;
  source: string;
}

export interface TargetHandle {
  /** Filled by the target (or a probe); known findings are matched against it. */
  implementation?: TargetImplementation;
  kind: TargetKind;
  name: string;
  host: string;
  port: number;
  /**
   * How a test gets a fresh chip: 'memory' (rebuild in process), 'reset-target' (RESET_TARGET tag,
   * ts-tvl rebuilds from its configuration) or 'none' (a real chip: specs restore what they change).
   */
  resetMode: 'memory' | 'reset-target' | 'none';
  resetChip?(): void;
  /** Replace the current chip's random source (embedded model: seeded, repeatable runs). */
  seedRandom?(random: (n: number) => Uint8Array): void;
  /** Fault injection inside the model, where the model runs in this process (embedded). */
  faults?: ModelFaults;
  /** The server's process (group) when the target is a local process. */
  pid?: number;
  /** Log lines produced since the last call (model and server logs). */
  drainLogs(): string;
  /** The last lines of the target's log, whether drained or not (for a lost target's error). */
  lastLogLines?(): string;
  /**
   * Is the target still there? Undefined when it is; otherwise why not (process gone, container
   * stopped, port refusing). Asked after a failed test, so a lost target stops the run once.
   */
  health?(): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** Terminal colour codes in server logs (ts-tvl colours its output). */
// eslint-disable-next-line no-control-regex
export const ANSI_COLOURS = /\x1b\[[0-9;]*m/g;

/** Bounded log buffer shared by targets. */
export class LogBuffer {
  private lines: string[] = [];
  constructor(private readonly max = 20_000) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  drain(): string {
    const out = this.lines.join('\n');
    this.lines = [];
    return out ? out + '\n' : '';
  }
}
