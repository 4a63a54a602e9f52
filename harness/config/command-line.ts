/**
 * A command given as one string (TVL_COMMAND), split the way a POSIX shell splits words: blanks
 * separate words, single quotes keep everything, double quotes keep everything but `\"` and `\\`,
 * a backslash outside quotes keeps the next character. Leading `NAME=value` words set variables
 * for the command, as in a shell. No expansion of `$`, `~` or globs, and no operators: the command
 * is started without a shell, so what it runs is exactly what was written.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';

export interface CommandLine {
  /** Program and arguments; argv[0] is resolved by resolveProgram, not here. */
  argv: string[];
  /** Variables from leading NAME=value words. */
  env: Record<string, string>;
}

export function splitShellWords(text: string, what: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < text.length) word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      if (/[|&;<>()`$]/.test(c)) throw new ConfigError(`${what} ${JSON.stringify(text)} uses the shell operator "${c}"; it is started without a shell: give one program and its arguments (put a pipeline in a script)`);
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new ConfigError(`${what} ${JSON.stringify(text)} has an unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

export function parseCommandLine(text: string, what: string): CommandLine {
  const words = splitShellWords(text, what);
  const env: Record<string, string> = {};
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    const w = words.shift()!;
    env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  if (!words.length) throw new ConfigError(`${what} ${JSON.stringify(text)} names no program`);
  return { argv: words, env };
}

const isExecutableFile = (file: string): boolean => {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Where the program runs from: a name with a slash is a path (relative ones against `base`, the
 * project, not wherever the process happens to start), a bare name is looked up on PATH.
 * Undefined when there is no such executable.
 */
export function resolveProgram(program: string, base: string, envPath = process.env.PATH ?? ''): string | undefined {
  if (program.includes('/')) {
    const file = path.resolve(base, program);
    return isExecutableFile(file) ? file : undefined;
  }
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, program);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}
