/**
 * Stop a process the benchmark started: SIGTERM, then SIGKILL after a grace period. A child spawned
 * `detached` leads its own process group and the whole group is signalled (a server command may
 * have started children of its own); any other child is signalled alone.
 */
import type { ChildProcess } from 'node:child_process';

export function stopChild(child: ChildProcess, opts: { group: boolean; graceMs?: number }): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      if (opts.group) process.kill(-child.pid!, s);
      else child.kill(s);
    } catch {
      /* already gone */
    }
  };
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    signal('SIGTERM');
    setTimeout(() => {
      signal('SIGKILL');
      resolve();
    }, opts.graceMs ?? 3000).unref();
  });
}
