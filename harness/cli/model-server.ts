#!/usr/bin/env node
/**
 * `tropic-model-server`: the embedded model with ts-tvl's `model_server` command line exactly
 * (`tcp [-p] [-a] [-c] [-o] [-l]`, `dump-logging-cfg`), for tools that run `model_server` by name:
 * link or alias it as `model_server` (e.g. for libtropic's CTest model runner).
 */
import { Command } from 'commander';
import { addServeCommand, addDumpLoggingCommand } from './model-commands.js';

const program = new Command('tropic-model-server').description("TROPIC01 model server (tropic-harness), command line of ts-tvl's model_server").showHelpAfterError();
addServeCommand(program, 'tcp', "serve the model over libtropic's tagged TCP protocol");
addDumpLoggingCommand(program, 'dump-logging-cfg');
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`tropic-model-server: ${e.message}\n`);
  process.exit(1);
});
