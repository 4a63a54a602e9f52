/** Argument parsers shared by the command-line entry points. */
import { InvalidArgumentError } from 'commander';

export function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
    return n;
  };
}
