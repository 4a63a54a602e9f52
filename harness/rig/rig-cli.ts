#!/usr/bin/env node
/**
 * Stand-alone entry for the `rig` commands (serve, list, emulate) until the main command line
 * wires registerRigServeCommands in; tests start it as a real child process.
 */
import { Command } from 'commander';
import { registerRigServeCommands } from '../cli/rig-serve-commands.js';

const program = new Command('tropic-harness').showHelpAfterError();
registerRigServeCommands(program.command('rig').description('real chips: the DevKit bridge, DevKit discovery, the DevKit emulator'));
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`tropic-harness: ${e.message}\n`);
  process.exit(1);
});
