/** `tropic-harness framelog …`: decode, replay (and, as they land, import, serve, codegen, minimize). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { intArg } from './args.js';
import { parseFrameLog } from '../framelog/frame-log.js';
import { decodeFrameLog } from '../framelog/decode.js';
import { replayFrameLog } from '../framelog/replay.js';
import { TcpTransport } from '../transport/tcp-transport.js';

export function registerFrameLogCommands(program: Command): void {
  const fl = program.command('framelog').description('frame logs recorded by the fixtures (frame-log.jsonl attachments)');
  fl.command('decode <file>')
    .description('print a readable L1/L2 trace of a frame log')
    .action((file: string) => {
      process.stdout.write(decodeFrameLog(parseFrameLog(readFileSync(file, 'utf8')).entries));
    });
  fl.command('replay <file>')
    .description("send a frame log's messages to a target and compare every reply")
    .requiredOption('--target <host:port>', 'target address, e.g. 127.0.0.1:28992')
    .option('--io-timeout <ms>', 'reply timeout', intArg('--io-timeout', 1, 600_000), 5000)
    .action(async (file: string, o: { target: string; ioTimeout: number }) => {
      const m = /^([^:]+):(\d+)$/.exec(o.target);
      if (!m) throw new Error(`--target must be host:port, got ${JSON.stringify(o.target)}`);
      const log = parseFrameLog(readFileSync(file, 'utf8'));
      const t = await TcpTransport.connect({ host: m[1], port: Number(m[2]), ioTimeoutMs: o.ioTimeout });
      const r = await replayFrameLog(log.entries, t, (done, total) => process.stderr.write(`\rreplayed ${done}/${total}`));
      await t.close();
      process.stderr.write('\n');
      process.stdout.write(`sent ${r.sent}, matched ${r.matched}, diverged ${r.diverged.length}, errors ${r.errors.length}\n`);
      for (const d of r.diverged.slice(0, 20)) process.stdout.write(`  #${d.seq} ${d.tag}: expected ${d.expected || '(empty)'} got ${d.actual || '(empty)'}\n`);
      for (const e of r.errors.slice(0, 20)) process.stdout.write(`  #${e.seq}: ${e.error}\n`);
      if (r.diverged.length || r.errors.length) process.exitCode = 2;
    });

}
