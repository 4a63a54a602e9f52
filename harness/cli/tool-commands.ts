import type { Command } from 'commander';
export function registerToolCommands(_program: Command): void {}
