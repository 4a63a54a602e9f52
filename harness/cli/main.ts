#!/usr/bin/env node
/** tropic-harness command line: the model server, default-config generator, configuration, frame logs, reports. */
import { Command } from 'commander';
import { registerModelCommands } from './model-commands.js';
import { registerConfigCommands } from './config-commands.js';
import { registerFrameLogCommands } from './framelog-commands.js';
import { registerReportCommands } from './report-commands.js';
import { registerChaosCommands } from './chaos-commands.js';
import { registerRigServeCommands } from './rig-serve-commands.js';
import { registerRigPoolCommands, registerQualifyCommand } from './rig-pool-commands.js';
import { registerInitCommand } from './init-command.js';
import { registerExploreCommand } from './explore-command.js';
import { packageVersion } from '../paths.js';

const program = new Command('tropic-harness').description('Hardware-in-the-loop test harness for the TROPIC01 secure element').showHelpAfterError();
program.version(packageVersion(), '-V, --version', 'print the tropic-harness version').addHelpText('after', '\nExit codes: 0 success; 1 error (bad option or configuration, a failed command, init refusing to overwrite, a rig not qualified); framelog replay: 1 replies differ, 2 bad input, 3 target error; explore: 1 differences found, 2 usage, 3 target error.');
registerInitCommand(program);
registerModelCommands(program);
registerConfigCommands(program);
registerFrameLogCommands(program);
registerReportCommands(program);
registerChaosCommands(program);
const rig = program.command('rig').description('real chips: the DevKit bridge (serve, list, emulate) and the rig pool (leases, release)');
registerRigServeCommands(rig);
registerRigPoolCommands(rig);
registerQualifyCommand(program);
registerExploreCommand(program);
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`tropic-harness: ${e.message}\n`);
  process.exit(1);
});
