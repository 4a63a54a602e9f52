/**
 * The configuration's files and programs, checked before the first test: that they exist, can be
 * read or written, and parse (certificates, private keys). Contents are never shown: a message
 * names the variable, the path and what is wrong with it.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { HarnessError } from '../errors.js';
import { loadPairingKey } from './pairing-key.js';
import { resolveProgram } from './command-line.js';

export interface FileProblem {
  variable: string;
  value: string | undefined;
  check: 'file' | 'file-or-folder' | 'writable-folder' | 'pairing-key' | 'certificate' | 'private-key' | 'program';
  /** For 'program': the program (argv[0]) and the variables the command sets. */
  program?: string;
  env?: Record<string, string>;
}

const errno = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

function checkOne(c: FileProblem, dir: string): string | undefined {
  if (c.value === undefined) return undefined;
  const file = path.resolve(dir, c.value);
  const at = `${c.variable}=${JSON.stringify(c.value)}`;
  switch (c.check) {
    case 'program': {
      const program = c.program ?? c.value;
      if (resolveProgram(program, dir, c.env?.PATH ?? process.env.PATH)) return undefined;
      return program.includes('/')
        ? `${at}: program ${path.resolve(dir, program)} does not exist or is not executable`
        : `${at}: program "${program}" is not on PATH (install it, activate its virtualenv, or give its path)`;
    }
    case 'writable-folder': {
      // The folder may not exist yet: its nearest existing ancestor must be a writable folder.
      let d = file;
      while (!existsSync(d)) d = path.dirname(d);
      try {
        if (!statSync(d).isDirectory()) return `${at}: ${d} is a file, not a folder`;
        accessSync(d, constants.W_OK);
        return undefined;
      } catch {
        return `${at}: ${d} is not writable`;
      }
    }
    case 'pairing-key': {
      if (/^[0-9a-fA-F]{64}$/.test(c.value)) return undefined;
      if (!existsSync(file)) return `${at}: no such file ${file}`;
      try {
        loadPairingKey({ TROPIC_PAIRING_KEY: file });
        return undefined;
      } catch (e) {
        return `${at}: ${e instanceof HarnessError ? e.detail.replace(/^TROPIC_PAIRING_KEY: /, '') : errno(e)}`;
      }
    }
    default: {
      if (!existsSync(file)) return `${at}: no such file${c.check === 'file-or-folder' ? ' or folder' : ''} ${file}`;
      if (c.check === 'file-or-folder') return undefined;
      if (!statSync(file).isFile()) return `${at}: ${file} is a folder, not a file`;
      try {
        const data = readFileSync(file);
        if (c.check === 'certificate') {
          if (!/-----BEGIN CERTIFICATE-----/.test(data.toString('latin1'))) return `${at}: ${file} holds no PEM certificate`;
          new X509Certificate(data);
        } else if (c.check === 'private-key') {
          createPrivateKey(data);
        }
        return undefined;
      } catch (e) {
        // Crypto messages describe the format only, never the key material.
        return `${at}: ${file} does not parse as a ${c.check === 'certificate' ? 'PEM certificate' : 'PEM private key'} (${(e as Error).message.split('\n')[0]})`;
      }
    }
  }
}

/** Every problem with the given files and programs, one line each. */
export function checkFileChecks(checks: FileProblem[], dir: string): string[] {
  return checks.map((c) => checkOne(c, dir)).filter((p): p is string => p !== undefined);
}
