#!/usr/bin/env node
/** tropic-harness command line: the model server, default-config generator, configuration, frame logs, reports. */
import { Command } from 'commander';
import { registerModelCommands } from './model-commands.js';
import { registerConfigCommands } from './config-commands.js';
import { registerFrameLogCommands } from './framelog-commands.js';
import { registerReportCommands } from './report-commands.js';
import { registerChaosCommands } from './chaos-commands.js';

const program = new Command('tropic-harness').description('Hardware-in-the-loop test harness for the TROPIC01 secure element').showHelpAfterError();
registerModelCommands(program);
registerConfigCommands(program);
registerFrameLogCommands(program);
registerReportCommands(program);
registerChaosCommands(program);
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`tropic-harness: ${e.message}\n`);
  process.exit(1);
});
