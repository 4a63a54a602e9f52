import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Command } from 'commander';
import { intArg } from './args.js';
import { ModelServer, DEFAULT_MODEL_PORT, DEFAULT_MODEL_ADDRESS, DEFAULT_IDLE_TIMEOUT_MS } from '../model/server.js';
import { CliError } from '../errors.js';
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
  idleTimeout: number;
}

/**
 * `-o` is written on reset and on exit; a path that cannot be written is refused at start, naming
 * the option, instead of the chip's state being lost at the end.
 */
function checkConfigurationOut(file: string): string {
  const out = path.resolve(file);
  const dir = path.dirname(out);
  const problem = !existsSync(dir)
    ? `its folder ${dir} does not exist`
    : !statSync(dir).isDirectory()
      ? `${dir} is not a folder`
      : existsSync(out) && statSync(out).isDirectory()
        ? 'it is a folder'
        : (() => {
            try {
              accessSync(existsSync(out) ? out : dir, constants.W_OK);
              return undefined;
            } catch {
              return `${existsSync(out) ? out : dir} is not writable`;
            }
          })();
  if (problem) throw new CliError(`-o/--configuration-out ${file}: cannot write the chip's state there: ${problem}`);
  return out;
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
    .option('--idle-timeout <ms>', 'disconnect a client that sends nothing for this long, so a waiting client is served (0: never)', intArg('--idle-timeout', 0, 2 ** 31 - 1), DEFAULT_IDLE_TIMEOUT_MS)
    .action(async (o: ServeOptions) => {
      // Everything that can be refused is checked before the server listens.
      const sink: LogSink = o.loggingConfiguration ? loadLoggingConfig(path.resolve(o.loggingConfiguration)) : { level: 'info' };
      if (o.logLevel !== undefined) {
        if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(o.logLevel)}`);
        sink.level = o.logLevel as LogSink['level'];
      }
      const configOut = o.configurationOut === undefined ? undefined : checkConfigurationOut(o.configurationOut);
      const config = o.configuration ? loadModelConfig(path.resolve(o.configuration)) : undefined;
      const { log, close } = makeLog(sink);
      const server = new ModelServer({
        port: o.port,
        address: o.address,
        config,
        configOut,
        idleTimeoutMs: o.idleTimeout,
        log,
      });
      await server.start();
      process.stdout.write(`listening on ${server.address}:${server.port}\n`);
      const stop = (sig: string) => {
        log('info', `${sig} received, shutting down`);
        void server
          .close()
          .then(close)
          .then(() => process.exit(server.stateSaveFailed ? 1 : 0));
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
    .option('--out <dir>', "output directory (default: the project's shipped default configuration, which needs --force)")
    .option('--force', "allow replacing the project's shipped default configuration")
    .action(async (o: { out?: string; force?: boolean }) => {
      const out = path.resolve(o.out ?? DEFAULT_CONFIG_DIR);
      // The shipped default is what every test and user relies on: replacing it must be deliberate.
      if (out === path.resolve(DEFAULT_CONFIG_DIR) && existsSync(path.join(out, 'tropic01-model.yml')) && !o.force) {
        throw new CliError(`generate-config would overwrite the shipped default configuration in ${out}; pass --out <dir> for a new one, or --force to replace it`);
      }
      const r = await generateDefaultConfig(out);
      process.stdout.write(`wrote ${r.files.length} files to ${r.dir}: ${r.files.join(', ')}\n`);
    });
}
