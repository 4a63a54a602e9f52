#!/usr/bin/env node
/** tropic-harness command line: the model server, default-config generator, configuration, frame logs, reports. */
import { Command } from 'commander';
import { registerModelCommands } from './model-commands.js';
import { registerToolCommands } from './tool-commands.js';

const program = new Command('tropic-harness').description('Hardware-in-the-loop test harness for the TROPIC01 secure element').showHelpAfterError();
registerModelCommands(program);
registerToolCommands(program);
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`tropic-harness: ${e.message}\n`);
  process.exit(1);
});
