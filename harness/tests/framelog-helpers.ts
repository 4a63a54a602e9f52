/** Shared by the frame-log tests: record operations on a seeded embedded model; run the framelog CLI. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPairingKey } from '../config/pairing-key.js';
import { parseFrameLog, type ParsedFrameLog } from '../framelog/frame-log.js';
import { runOnFreshTarget } from '../framelog/reproduce.js';
import { deriveSeeds } from '../framelog/seeds.js';
import type { Operation, Outcome } from '../framelog/operations.js';

export const PAIRING_KEY = loadPairingKey({ TROPIC_PAIRING_KEY: undefined });
export const tmpDir = (prefix: string): string => mkdtempSync(path.join(os.tmpdir(), `tropic-${prefix}-`));

export const op = (layer: 'l2' | 'l3', method: string, args: Record<string, unknown> = {}): Operation => ({ layer, method, args }) as Operation;

/** The operations most tests record: identity, a session, an L3 error, L3 successes. */
export const SAMPLE_OPS: Operation[] = [
  op('l2', 'chipId'),
  op('l2', 'startSecureSession', { slot: 0 }),
  op('l3', 'ping', { length: 16 }),
  op('l3', 'eccKeyGenerate', { slot: 1, curve: 'P256' }),
  op('l3', 'eccKeyRead', { slot: 3 }),
  op('l3', 'random', { count: 8 }),
  op('l3', 'eccKeyRead', { slot: 1 }),
];

/** Records `ops` on a fresh embedded model with seeds derived from `name`; returns the log and outcomes. */
export async function record(name: string, ops: Operation[] = SAMPLE_OPS, dir = tmpDir('framelog')): Promise<{ file: string; log: ParsedFrameLog; outcomes: Outcome[] }> {
  const file = path.join(dir, `${name}.frame-log.jsonl`);
  const outcomes = await runOnFreshTarget(ops, 'embedded', { pairingKey: PAIRING_KEY, seeds: deriveSeeds(name), recordTo: file, header: { test: name } });
  return { file, log: parseFrameLog(readFileSync(file, 'utf8'), { file }), outcomes };
}

const COMMANDS = path.resolve('dist/harness/cli/framelog-commands.js');
/** `tropic-harness framelog …` on the built code, with a program of its own (as main.ts registers it). */
const CLI_RUNNER = `
import { Command } from 'commander';
import { registerFrameLogCommands } from ${JSON.stringify(COMMANDS)};
const program = new Command('tropic-harness');
registerFrameLogCommands(program);
program.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { process.stderr.write('tropic-harness: ' + e.message + '\\n'); process.exit(1); });
`;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CLI_RUNNER, '--', 'framelog', ...args], { cwd: process.cwd(), env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
