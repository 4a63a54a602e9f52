/**
 * The target a replay talks to, reset first: `embedded` is a fresh in-process model (its random
 * source seeded from the log's header, so a harness-recorded log matches byte for byte);
 * `host:port` gets RESET_TARGET where it supports it (a rig does not: it is replayed as it is).
 */
import { CliError, HarnessError, TargetError } from '../errors.js';
import { ModelServer } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { seededRandom } from './seeds.js';

export interface ReplayTarget {
  transport: TcpTransport;
  /** What was reset and how (for the report). */
  reset: string;
  close(): Promise<void>;
}

export interface ReplayTargetOptions {
  /** The log's model seed (header `seeds.model`), for the embedded model's random source. */
  modelSeed?: string;
  /** Model configuration (ts-tvl YAML) for `embedded`; the default configuration otherwise. */
  modelConfig?: string;
  ioTimeoutMs?: number;
}

export function parseTargetSpec(spec: string): { kind: 'embedded' } | { kind: 'tcp'; host: string; port: number } {
  if (spec === 'embedded') return { kind: 'embedded' };
  const m = /^(?:tcp:\/\/)?([^:\s/]+):(\d{1,5})$/.exec(spec);
  if (!m || Number(m[2]) > 65535) throw new CliError(`--target must be "embedded" or host:port, got ${JSON.stringify(spec)}`, 'TH_CLI');
  return { kind: 'tcp', host: m[1], port: Number(m[2]) };
}

export async function openReplayTarget(spec: string, opts: ReplayTargetOptions = {}): Promise<ReplayTarget> {
  const t = parseTargetSpec(spec);
  // One wait per message: a target that stops answering ends the replay at its first timeout.
  const transportOptions = { ioTimeoutMs: opts.ioTimeoutMs ?? 5000, receiveRetries: 0, reconnect: false, pipeline: false };
  if (t.kind === 'embedded') {
    const server = await new ModelServer({ port: 0, config: loadModelConfig(opts.modelConfig) }).start();
    if (opts.modelSeed) server.chip.random = seededRandom(opts.modelSeed);
    let transport: TcpTransport;
    try {
      transport = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, ...transportOptions });
    } catch (e) {
      await server.close();
      throw e;
    }
    return {
      transport,
      reset: `fresh in-process embedded model${opts.modelSeed ? ' (random source seeded from the log)' : ' (no model seed in the log: its random source is not the recorded one)'}`,
      close: async () => {
        await transport.close();
        await server.close();
      },
    };
  }
  let transport: TcpTransport;
  try {
    transport = await TcpTransport.connect({ host: t.host, port: t.port, ...transportOptions });
  } catch (e) {
    throw new TargetError(`cannot reach replay target ${t.host}:${t.port}: ${(e as Error).message}`, 'TH_TARGET', { cause: e });
  }
  let reset = 'RESET_TARGET answered: target rebuilt from its configuration';
  try {
    await transport.resetTarget();
  } catch (e) {
    const code = e instanceof HarnessError ? e.code : '';
    if (code !== 'TH_TCP_UNSUPPORTED' && code !== 'TH_TCP_INVALID') {
      await transport.close();
      throw new TargetError(`replay target ${t.host}:${t.port} failed RESET_TARGET: ${(e as Error).message}`, 'TH_TARGET', { cause: e });
    }
    reset = `RESET_TARGET not supported (${code}): replayed on the target as it is`;
  }
  return { transport, reset, close: () => transport.close() };
}
