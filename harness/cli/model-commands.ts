import path from 'node:path';
import type { Command } from 'commander';
import { intArg } from './main.js';
import { ModelServer, DEFAULT_MODEL_PORT, DEFAULT_MODEL_ADDRESS } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { generateDefaultConfig } from '../model/generate-config.js';
import { DEFAULT_CONFIG_DIR } from '../paths.js';
import type { ModelLog } from '../model/chip.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export function consoleLog(level: (typeof LEVELS)[number]): ModelLog {
  const min = LEVELS.indexOf(level);
  return (l, msg) => {
    if (LEVELS.indexOf(l) >= min) process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} ${msg}\n`);
  };
}

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('the embedded TROPIC01 model');
  model
    .command('serve')
    .description("serve the model over libtropic's tagged TCP protocol (drop-in for ts-tvl's `model_server tcp`)")
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', intArg('--port', 0, 65535), DEFAULT_MODEL_PORT)
    .option('-a, --address <address>', 'address to listen on', DEFAULT_MODEL_ADDRESS)
    .option('-c, --configuration <file>', "model configuration (ts-tvl YAML); the project's default when omitted")
    .option('-o, --configuration-out <file>', "write the chip's state (ts-tvl YAML) on reset and on exit")
    .option('-l, --log-level <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .action(async (o: { port: number; address: string; configuration?: string; configurationOut?: string; logLevel: string }) => {
      if (!(LEVELS as readonly string[]).includes(o.logLevel)) throw new Error(`--log-level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(o.logLevel)}`);
      const log = consoleLog(o.logLevel as (typeof LEVELS)[number]);
      const server = new ModelServer({
        port: o.port,
        address: o.address,
        config: o.configuration ? loadModelConfig(path.resolve(o.configuration)) : undefined,
        configOut: o.configurationOut,
        log,
      });
      await server.start();
      process.stdout.write(`listening on ${server.address}:${server.port}\n`);
      const stop = (sig: string) => {
        log('info', `${sig} received, shutting down`);
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  model
    .command('generate-config')
    .description("generate a fresh default configuration (chip key, pairing key 0, certificate chain)")
    .option('--out <dir>', 'output directory', DEFAULT_CONFIG_DIR)
    .action(async (o: { out: string }) => {
      const r = await generateDefaultConfig(path.resolve(o.out));
      process.stdout.write(`wrote ${r.files.length} files to ${r.dir}: ${r.files.join(', ')}\n`);
    });
}
