/** `tropic-harness framelog import …`: captures and console logs from elsewhere → frame logs. */
import { statSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { intArg } from './args.js';
import { CliError } from '../errors.js';
import { DEFAULT_TAGGED_PORT, IMPORT_FORMATS, importFile, importResultToJsonl, listFileConnections, type ImportFormat } from '../framelog/import/index.js';

/** Files above this size get a progress line on stderr. */
const PROGRESS_ABOVE_BYTES = 8 * 1024 * 1024;

interface ImportOptions {
  format: ImportFormat;
  port: number;
  connection?: number;
  list?: boolean;
  out?: string;
  strict?: boolean;
}

const time = (ms: number): string => (ms > 0 && ms <= 8.64e15 ? new Date(ms).toISOString() : '-');

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch (e) {
    throw new CliError(`framelog import: cannot read ${file}: ${(e as Error).message}`);
  }
}

export function registerImportCommands(framelogCommand: Command): void {
  framelogCommand
    .command('import <file>')
    .description('turn a pcap/pcapng capture of the tagged TCP protocol, or libtropic LT_PRINT_SPI_DATA console output, into a frame log')
    .addOption(new Option('--format <format>', 'input format').choices([...IMPORT_FORMATS]).default('auto'))
    .option('--port <n>', 'TCP port of the tagged-protocol server in the capture', intArg('--port', 1, 65535), DEFAULT_TAGGED_PORT)
    .option('--connection <n>', 'which connection to import (numbered as --list shows them)', intArg('--connection', 1, 1_000_000))
    .option('--list', "list the capture's connections on --port and exit")
    .option('--out <file.jsonl>', 'write the frame log here (default: standard output)')
    .option('--strict', 'console logs: stop at the first unparseable record instead of reporting it')
    .action((file: string, o: ImportOptions) => {
      const size = fileSize(file);
      const onProgress =
        size > PROGRESS_ABOVE_BYTES && process.stderr.isTTY !== false
          ? (done: number, total: number) => process.stderr.write(`\rimport: ${Math.floor((done / total) * 100)}% of ${(total / 1e6).toFixed(1)} MB`)
          : undefined;
      const common = { format: o.format, port: o.port, connection: o.connection, strict: o.strict, onProgress };
      if (o.list) {
        const l = listFileConnections(file, common);
        if (onProgress) process.stderr.write('\n');
        for (const w of l.warnings) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(`${file}: ${l.format}, ${l.packets} packets, ${l.connections.length} connection(s) on port ${o.port}\n`);
        for (const c of l.connections) {
          const state = `${c.opened ? 'SYN' : 'no SYN'}, ${c.closed ? 'closed' : 'open at end'}`;
          process.stdout.write(
            `  ${c.index}: ${c.client} → ${c.server}  ${time(c.firstMs)} … ${time(c.lastMs)}  ${c.packets} packets, ${c.requests} requests / ${c.replies} replies, ` +
              `${c.clientBytes}+${c.serverBytes} B, ${c.retransmittedBytes} B retransmitted, ${c.outOfOrderSegments} out of order (${state})\n`,
          );
          for (const p of c.problems) process.stdout.write(`     ! ${p}\n`);
        }
        if (!l.connections.length && l.otherPorts.size) {
          process.stdout.write(`  other TCP ports: ${[...l.otherPorts].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([p, n]) => `${p} (${n})`).join(', ')}\n`);
        }
        return;
      }
      const r = importFile(file, common);
      if (onProgress) process.stderr.write('\n');
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      const jsonl = importResultToJsonl(r);
      if (o.out) writeFileSync(o.out, jsonl);
      else process.stdout.write(jsonl);
      process.stderr.write(`framelog import: ${r.entries.length} records from ${file} (${String(r.meta.source)})${o.out ? ` → ${o.out}` : ''}\n`);
    });
}
