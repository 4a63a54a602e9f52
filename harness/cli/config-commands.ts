/** `tropic-harness config`: the resolved configuration (exit 1 with every problem when invalid), or a documented .env.example. */
import type { Command } from 'commander';
import { resolveConfig, redactedConfig, envExample } from '../config/env.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('config')
    .description('print the resolved configuration (environment + .env files), secrets redacted')
    .option('--example', 'print a documented .env.example instead')
    .action((o: { example?: boolean }) => {
      if (o.example) return void process.stdout.write(envExample());
      const cfg = redactedConfig(resolveConfig());
      const w = Math.max(...Object.keys(cfg).map((k) => k.length));
      // A reader that stops early (`| head`) is not an error.
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') throw e;
      });
      process.stdout.write(Object.entries(cfg).map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join(''));
    });

}
