/** The embedded model on an ephemeral loopback port, in the worker's own process; each test gets a fresh chip with only the configured faults. */
import { ModelServer } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { formatLogLine } from '../model/log.js';
import { LogBuffer, type TargetHandle } from './target.js';

export async function startEmbedded(configFile?: string): Promise<TargetHandle> {
  const logs = new LogBuffer();
  const server = await new ModelServer({
    port: 0,
    config: loadModelConfig(configFile),
    log: (level, msg) => logs.push(formatLogLine(level, msg)),
  }).start();
  return {
    kind: 'embedded',
    name: `embedded model @127.0.0.1:${server.port}`,
    host: '127.0.0.1',
    port: server.port,
    resetMode: 'memory',
    resetChip: () => server.freshChip('fresh chip for a test'),
    // Repeatable runs: the fixtures give each test's chip a seeded random source (frame-log seeds).
    seedRandom: (random) => {
      server.chip.random = random;
    },
    faults: server.faults,
    drainLogs: () => logs.drain(),
    stop: () => server.close(),
  };
}
