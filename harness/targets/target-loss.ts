/**
 * A target lost mid-run (its process or container gone, its port refusing) stops the run once,
 * not once per remaining test: the test that found it writes a marker into the run's output
 * folder, every later test of the project (any worker) skips at once with the loss as its reason,
 * and the project's teardown fails naming it. Playwright has no per-worker abort; a file in the
 * output folder (emptied at the start of every run) is what all workers of one run share.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TargetHandle } from './target.js';

export interface TargetLoss {
  target: string;
  reason: string;
  /** The test during which the loss was found. */
  test: string;
  lastLogLines: string;
  at: string;
}

const markerFile = (outputDir: string, project: string) => path.join(outputDir, '.target-lost', `${project.replace(/[^\w.-]+/g, '_')}.json`);

export function recordTargetLoss(outputDir: string, project: string, loss: TargetLoss): void {
  const file = markerFile(outputDir, project);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(loss, null, 2) + '\n');
}

export function readTargetLoss(outputDir: string, project: string): TargetLoss | undefined {
  const file = markerFile(outputDir, project);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TargetLoss;
  } catch {
    return undefined;
  }
}

export function describeLoss(loss: TargetLoss): string {
  return `target ${loss.target} lost during "${loss.test}": ${loss.reason}`;
}

/** Does anything accept a TCP connection on host:port (within timeoutMs)? */
function portAccepts(host: string, port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs); // slow is not gone
    s.once('connect', () => done(undefined));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? `${host}:${port} refuses connections` : undefined));
  });
}

/** Why the target is gone, or undefined when it is still there: its own check, else its port. */
export async function targetGone(target: Pick<TargetHandle, 'health' | 'host' | 'port'>): Promise<string | undefined> {
  if (target.health) return target.health();
  return portAccepts(target.host, target.port);
}
