/** A child process from the project root, its stdout and stderr gathered in order (for tests). */
import { spawn } from 'node:child_process';
import { PACKAGE_ROOT } from '../paths.js';

export function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: PACKAGE_ROOT, env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}
