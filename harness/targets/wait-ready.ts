/**
 * Wait until a model server answers a frame. ts-tvl opens its port before it has loaded its
 * configuration, so an accepted connection proves nothing: a tagged message must be answered.
 */
import { TcpTransport } from '../transport/tcp-transport.js';
import { TargetError } from '../errors.js';

export async function waitForAnsweredFrame(host: string, port: number, timeoutMs: number, isAlive: () => boolean = () => true): Promise<number> {
  const start = performance.now();
  let last = '';
  while (performance.now() - start < timeoutMs) {
    if (!isAlive()) throw new TargetError(`target at ${host}:${port} exited while starting: ${last}`, 'TH_TARGET_EXITED');
    try {
      const t = await TcpTransport.connect({ host, port, connectTimeoutMs: 500, ioTimeoutMs: 2000, receiveRetries: 0 });
      try {
        await t.csnHigh();
        return performance.now() - start;
      } finally {
        await t.close();
      }
    } catch (e) {
      last = (e as Error).message;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new TargetError(`target at ${host}:${port} answered no frame within ${timeoutMs} ms (last: ${last})`, 'TH_TARGET_START_TIMEOUT');
}
