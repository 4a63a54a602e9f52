/**
 * Delta debugging (Zeller's ddmin) over a sequence: the smallest subsequence (1-minimal: removing
 * any one element loses it) for which `reproduces` still holds. Works on any items; the CLI uses
 * frame-log operations (an L3 command brings its handshake along when run, see OperationRunner).
 */
import { FrameLogError } from '../errors.js';

export interface MinimizeOptions {
  /** Called after every test of a candidate (progress). */
  onTest?: (size: number, reproduced: boolean, tests: number) => void;
  /** Give up after this many tests (the smallest reproducing sequence found so far is returned). */
  maxTests?: number;
}

export interface MinimizeResult<T> {
  items: T[];
  tests: number;
}

export async function minimize<T>(items: T[], reproduces: (candidate: T[]) => Promise<boolean>, opts: MinimizeOptions = {}): Promise<MinimizeResult<T>> {
  let tests = 0;
  const maxTests = opts.maxTests ?? 10_000;
  const test = async (c: T[]): Promise<boolean> => {
    tests++;
    const r = await reproduces(c);
    opts.onTest?.(c.length, r, tests);
    return r;
  };
  if (!(await test(items))) throw new FrameLogError(`the full sequence of ${items.length} operations does not reproduce the condition: nothing to minimize`, 'TH_MINIMIZE');
  let current = items;
  let n = 2;
  while (current.length >= 2 && tests < maxTests) {
    const size = Math.ceil(current.length / n);
    const chunks: T[][] = [];
    for (let i = 0; i < current.length; i += size) chunks.push(current.slice(i, i + size));
    let reduced = false;
    for (const chunk of chunks) {
      if (chunk.length < current.length && (await test(chunk))) {
        current = chunk;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      for (let i = 0; i < chunks.length && !reduced; i++) {
        const complement = chunks.filter((_, j) => j !== i).flat();
        if (complement.length < current.length && (await test(complement))) {
          current = complement;
          n = Math.max(n - 1, 2);
          reduced = true;
        }
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(current.length, n * 2);
    }
  }
  return { items: current, tests };
}
