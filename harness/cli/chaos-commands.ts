/** `tropic-harness chaos`: the fault-injecting tagged-protocol proxy, for testing any host driver. */
import type { Command } from 'commander';
import { intArg } from './args.js';
import { ChaosProxy, type ChaosFaults } from '../chaos/chaos-proxy.js';
import { CliError } from '../errors.js';

/** host:port, IPv6 literals in brackets. */
function endpoint(what: string) {
  return (v: string): { host: string; port: number } => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(v);
    const port = Number(m?.[3]);
    if (!m || port < 1 || port > 65535) throw new CliError(`${what} must be host:port (port 1..65535, IPv6 as [::1]:port), got ${JSON.stringify(v)}`);
    return { host: m[1] ?? m[2]!, port };
  };
}

export function registerChaosCommands(program: Command): void {
  program
    .command('chaos')
    .description('a tagged-protocol proxy that injects link faults between a host driver and a target (model, ts-tvl, rig)')
    .requiredOption('--target <host:port>', 'where the real server listens', endpoint('--target'))
    .option('--listen <host:port>', 'where the proxy listens (loopback by default)', endpoint('--listen'), { host: '127.0.0.1', port: 28993 })
    .option('--latency <ms>', 'delay every reply', intArg('--latency', 0, 600_000))
    .option('--jitter <ms>', 'add 0..ms of random delay to every reply', intArg('--jitter', 0, 600_000))
    .option('--split', 'write every reply one byte per TCP segment')
    .option('--merge <n>', 'hold replies and write n at a time in one segment', intArg('--merge', 2, 1000))
    .option('--drop-at <n>', 'close the connection when host message n arrives (counted from 1)', intArg('--drop-at', 1, 2 ** 31))
    .option('--reset-at <n>', 'reset the connection (RST) when host message n arrives', intArg('--reset-at', 1, 2 ** 31))
    .option('--stall-at <n>', 'never deliver the reply to host message n', intArg('--stall-at', 1, 2 ** 31))
    .option('--corrupt-at <n>', 'flip one byte of the reply to host message n', intArg('--corrupt-at', 1, 2 ** 31))
    .option('--corrupt-offset <byte>', 'which byte of that tagged reply (default: the last)', intArg('--corrupt-offset', 0, 65537))
    .option('--trickle <ms>', 'write replies one byte at a time, ms apart', intArg('--trickle', 0, 60_000))
    .addHelpText('after', '\nRuns until SIGINT/SIGTERM; logs every injected fault on stderr. Exit codes: 0 stopped by a signal; 1 cannot listen or bad options.')
    .action(async (o: { target: { host: string; port: number }; listen: { host: string; port: number }; latency?: number; jitter?: number; split?: boolean; merge?: number; dropAt?: number; resetAt?: number; stallAt?: number; corruptAt?: number; corruptOffset?: number; trickle?: number }) => {
      const faults: ChaosFaults = {};
      if (o.latency !== undefined) faults.latencyMs = o.latency;
      if (o.jitter !== undefined) faults.jitterMs = o.jitter;
      if (o.split) faults.splitReplies = true;
      if (o.merge !== undefined) faults.mergeReplies = o.merge;
      if (o.dropAt !== undefined) faults.dropAt = o.dropAt;
      if (o.resetAt !== undefined) faults.resetAt = o.resetAt;
      if (o.stallAt !== undefined) faults.stallAt = o.stallAt;
      if (o.corruptAt !== undefined) faults.corruptAt = o.corruptAt;
      if (o.corruptOffset !== undefined) faults.corruptOffset = o.corruptOffset;
      if (o.trickle !== undefined) faults.trickleMs = o.trickle;
      const proxy = await new ChaosProxy({ target: o.target, listen: o.listen, faults, log: (l) => process.stderr.write(`${l}\n`) }).start();
      process.stderr.write(`chaos proxy on ${proxy.host}:${proxy.port} -> ${o.target.host}:${o.target.port}; faults ${JSON.stringify(faults)}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await proxy.close();
      process.stderr.write(`chaos: ${JSON.stringify(proxy.stats)}\n`);
    });
}
