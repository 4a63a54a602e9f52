/**
 * The targets a benchmark run measures, each started the way a user starts it, with its start-up
 * time (start to first answered frame) measured on the way:
 * - `embedded`: the model server in the benchmark's own process (as the `embedded` target runs);
 * - `model process`: `tropic-harness model serve` in its own process (client and server no longer
 *   share one event loop), measured with the serial and the pipelined transport;
 * - `model container`: this project's model image through testcontainers, when an engine is
 *   configured (TROPIC_CONTAINER_SPECS=1 or an engine found);
 * - `ts-tvl`: TVL_BENCH_COMMAND (e.g. `model_server tcp`), when set; serial transport only
 *   (ts-tvl 2.2 loses the second of two frames sent together).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ModelServer } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { waitForAnsweredFrame } from '../targets/wait-ready.js';
import { DEFAULT_MODEL_CONFIG } from '../paths.js';
import { stopChild } from './stop-child.js';
import type { HarnessConfig } from '../config/env.js';

export interface BenchTarget {
  name: string;
  host: string;
  port: number;
  /** Pipelined transport (only for servers that frame their input). */
  pipeline: boolean;
  startupMs: number;
  /** In-memory rebuild of the chip, when the target runs in this process. */
  resetInMemory?: () => void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startEmbeddedBench(): Promise<BenchTarget> {
  const t0 = performance.now();
  const server = await new ModelServer({ port: 0, config: loadModelConfig() }).start();
  await waitForAnsweredFrame('127.0.0.1', server.port, 5000);
  return {
    name: 'embedded',
    host: '127.0.0.1',
    port: server.port,
    pipeline: true,
    startupMs: performance.now() - t0,
    resetInMemory: () => server.resetChip('bench'),
    stop: () => server.close(),
  };
}

const stopGroup = (child: ChildProcess) => stopChild(child, { group: true });

async function startProcess(name: string, argv: string[], pipeline: boolean, timeoutMs: number): Promise<BenchTarget> {
  const port = await freePort();
  const t0 = performance.now();
  const [cmd, ...args] = [...argv, '--port', String(port), '--configuration', DEFAULT_MODEL_CONFIG];
  const child = spawn(cmd!, args, { stdio: 'ignore', detached: true });
  try {
    await waitForAnsweredFrame('127.0.0.1', port, timeoutMs, () => child.exitCode === null);
  } catch (e) {
    await stopGroup(child);
    throw e;
  }
  return { name, host: '127.0.0.1', port, pipeline, startupMs: performance.now() - t0, stop: () => stopGroup(child) };
}

export function startModelProcessBench(pipeline: boolean): Promise<BenchTarget> {
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return startProcess(pipeline ? 'model process, pipelined' : 'model process, serial', [process.execPath, cli, 'model', 'serve', '--log-level', 'error'], pipeline, 10_000);
}

/** ts-tvl from TVL_BENCH_COMMAND, split into words (no shell: the pid is the server's own). */
export function startTvlBench(command: string): Promise<BenchTarget> {
  return startProcess('ts-tvl', command.split(/\s+/).filter(Boolean), false, 60_000);
}

export async function startContainerBench(cfg: HarnessConfig): Promise<BenchTarget> {
  const { prepareContainerImage, startContainerTarget, removeContainers } = await import('../targets/container.js');
  const ccfg = { ...cfg, TROPIC_TARGET: 'model-container' as const };
  await prepareContainerImage(ccfg);
  const SLOT = 97; // a slot no test run uses, removed afterwards
  const t0 = performance.now();
  const handle = await startContainerTarget(ccfg, SLOT);
  await waitForAnsweredFrame(handle.host, handle.port, cfg.TVL_STARTUP_TIMEOUT_MS);
  const startupMs = performance.now() - t0;
  return {
    name: 'model container',
    host: handle.host,
    port: handle.port,
    pipeline: true,
    startupMs,
    stop: async () => {
      await handle.stop();
      await removeContainers(ccfg, 'model-container', SLOT);
    },
  };
}
