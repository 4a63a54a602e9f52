import path from 'node:path';
import YAML from 'yaml';
import type { Command } from 'commander';
import { intArg } from './args.js';
import { ModelServer, DEFAULT_MODEL_PORT, DEFAULT_MODEL_ADDRESS } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { generateDefaultConfig } from '../model/generate-config.js';
import { DEFAULT_CONFIG_DIR } from '../paths.js';
import { DEFAULT_LOGGING_CONFIG, LOG_LEVELS, loadLoggingConfig, makeLog, type LogSink } from './logging-config.js';

interface ServeOptions {
  port: number;
  address: string;
  configuration?: string;
  configurationOut?: string;
  loggingConfiguration?: string;
  logLevel?: string;
}

/**
 * The options of ts-tvl's `model_server tcp`, same letters and meanings, so scripts written for it
 * (libtropic's model runner among them) run unchanged; `--log-level` is ours and wins over the file.
 */
export function addServeCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', intArg('--port', 0, 65535), DEFAULT_MODEL_PORT)
    .option('-a, --address <address>', 'address to listen on', DEFAULT_MODEL_ADDRESS)
    .option('-c, --configuration <file>', "model configuration (ts-tvl YAML); the project's default when omitted")
    .option('-o, --configuration-out <file>', "write the chip's state (ts-tvl YAML) on reset and on exit")
    .option('-l, --logging-configuration <file>', 'logging configuration (ts-tvl dictConfig YAML: handlers.default to a stream or a file, loggers.model/server levels); see dump-logging-cfg')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (default info, or the logging configuration's)`)
    .action(async (o: ServeOptions) => {
      const sink: LogSink = o.loggingConfiguration ? loadLoggingConfig(path.resolve(o.loggingConfiguration)) : { level: 'info' };
      if (o.logLevel !== undefined) {
        if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(o.logLevel)}`);
        sink.level = o.logLevel as LogSink['level'];
      }
      const { log, close } = makeLog(sink);
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
        void server
          .close()
          .then(close)
          .then(() => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}

export function addDumpLoggingCommand(parent: Command, name: string): Command {
  return parent
    .command(name)
    .description("print the default logging configuration (YAML, the shape of ts-tvl's); edit it and pass it with -l")
    .action(() => {
      process.stdout.write(YAML.stringify(DEFAULT_LOGGING_CONFIG));
    });
}

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('the embedded TROPIC01 model');
  addServeCommand(model, 'serve', "serve the model over libtropic's tagged TCP protocol (drop-in for ts-tvl's `model_server tcp`)");
  addDumpLoggingCommand(model, 'dump-logging-cfg');
  model
    .command('generate-config')
    .description('generate a fresh default configuration (chip key, pairing key 0, certificate chain)')
    .option('--out <dir>', 'output directory', DEFAULT_CONFIG_DIR)
    .action(async (o: { out: string }) => {
      const r = await generateDefaultConfig(path.resolve(o.out));
      process.stdout.write(`wrote ${r.files.length} files to ${r.dir}: ${r.files.join(', ')}\n`);
    });
}
