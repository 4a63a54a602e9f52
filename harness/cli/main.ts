#!/usr/bin/env node
/** tropic-harness command line: the model server, default-config generator, configuration, frame logs, reports. */
import { Command, InvalidArgumentError } from 'commander';
import { registerModelCommands } from './model-commands.js';
import { registerToolCommands } from './tool-commands.js';

export function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}

const program = new Command('tropic-harness').description('Hardware-in-the-loop test harness for the TROPIC01 secure element').showHelpAfterError();
registerModelCommands(program);
registerToolCommands(program);
program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`tropic-harness: ${e.message}\n`);
  process.exit(1);
});
