/** A real TROPIC01 behind a TCP endpoint (a HIL rig). No reset between tests. */
import { TargetError } from '../errors.js';
import { waitForAnsweredFrame } from './wait-ready.js';
import type { TargetHandle } from './target.js';

export async function connectRig(url: string, name?: string, timeoutMs = 10_000): Promise<TargetHandle> {
  const m = /^tcp:\/\/([^:/\s]+):(\d{1,5})$/.exec(url);
  if (!m) throw new TargetError(`TROPIC_RIG=${JSON.stringify(url)} is not tcp://host:port`, 'TH_TARGET_URL');
  const host = m[1];
  const port = Number(m[2]);
  await waitForAnsweredFrame(host, port, timeoutMs);
  return { kind: 'rig', name: name ?? `rig ${host}:${port}`, host, port, resetMode: 'none', drainLogs: () => '', stop: async () => {} };
}
