/** A real TROPIC01 behind a TCP or TLS endpoint (a HIL rig). No reset between tests. */
import type { TargetConfig, TransportConfig } from '../config/env.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TargetError } from '../errors.js';
import type { TargetHandle } from './target.js';

type RigConfig = Extract<TargetConfig, { kind: 'rig' }>;

/** Attach to a rig: it must answer a frame (over TLS when configured) within `timeoutMs`. */
export async function connectRig(rig: RigConfig, transport: TransportConfig = {}, timeoutMs = 10_000): Promise<TargetHandle> {
  const start = performance.now();
  let last: unknown;
  while (performance.now() - start < timeoutMs) {
    try {
      const t = await TcpTransport.connect({ ...transport, host: rig.host, port: rig.port, reconnect: false, pipeline: false, receiveRetries: 0 });
      await t.close();
      last = undefined;
      break;
    } catch (e) {
      last = e;
      // A refused certificate will not change by waiting.
      if ((e as { code?: string }).code === 'TH_TLS') break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (last !== undefined) throw new TargetError(`rig ${rig.url} answered no frame within ${timeoutMs} ms: ${(last as Error).message}`, 'TH_TARGET_START_TIMEOUT', { cause: last });
  const health = async (): Promise<string | undefined> => {
    try {
      const t = await TcpTransport.connect({ ...transport, host: rig.host, port: rig.port, reconnect: false, pipeline: false, receiveRetries: 0 });
      await t.close();
      return undefined;
    } catch (e) {
      return `rig ${rig.url} does not answer: ${(e as Error).message}`;
    }
  };
  return {
    kind: 'rig',
    name: rig.name ?? `rig ${rig.url}`,
    host: rig.host,
    port: rig.port,
    resetMode: 'none',
    implementation: { name: 'tropic01', source: 'rig (firmware versions read from the chip)' },
    drainLogs: () => '',
    health,
    stop: async () => {},
  };
}
