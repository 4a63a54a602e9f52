/**
 * ts-tvl's logging configuration (a Python `logging.config.dictConfig` YAML, `model_server -l`),
 * as far as the model server's log goes: where the `default` handler writes (stream or file) and
 * the levels of the `model` and `server` loggers. libtropic's test runner dumps the default with
 * `dump-logging-cfg`, points the handler at a file and raises the levels to DEBUG, so the dump has
 * the same shape as ts-tvl's. Python-only entries (formatter factories, filters) are accepted and
 * have no effect here.
 */
import { createWriteStream, openSync, readFileSync } from 'node:fs';
import { CliError } from '../errors.js';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { formatLogLine, type ModelLog } from '../model/log.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const PY_LEVELS: Record<string, LogLevel> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', WARN: 'warn', ERROR: 'error', CRITICAL: 'error' };

/** The default, in the shape of ts-tvl's `model_server dump-logging-cfg`. */
export const DEFAULT_LOGGING_CONFIG = {
  version: 1,
  formatters: { default: { format: '%(asctime)s %(levelname)s %(message)s', use_colors: false } },
  handlers: { default: { class: 'logging.StreamHandler', formatter: 'default' } },
  loggers: {
    model: { level: 'INFO', handlers: ['default'] },
    server: { level: 'INFO', handlers: ['default'] },
  },
};

const level = z.string().refine((v) => v.toUpperCase() in PY_LEVELS, { message: `a level: ${Object.keys(PY_LEVELS).join(', ')}` });
const schema = z.looseObject({
  version: z.literal(1, { message: 'version must be 1 (dictConfig schema version)' }),
  handlers: z.looseObject({
    default: z.looseObject({
      class: z.enum(['logging.StreamHandler', 'logging.FileHandler'], { message: 'handlers.default.class: logging.StreamHandler or logging.FileHandler' }),
      filename: z.string().min(1).optional(),
      mode: z.enum(['w', 'a']).optional(),
    }),
  }),
  loggers: z.looseObject({ model: z.looseObject({ level }).optional(), server: z.looseObject({ level }).optional() }),
});

export interface LogSink {
  level: LogLevel;
  file?: { path: string; mode: 'w' | 'a' };
}

/** Read a logging configuration; errors name the file and the key. */
export function loadLoggingConfig(file: string): LogSink {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`-l/--logging-configuration ${file}: ${(e as Error).message}`, 'TH_CLI', { cause: e });
  }
  const r = schema.safeParse(doc);
  if (!r.success) throw new CliError(`-l/--logging-configuration ${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const h = r.data.handlers.default;
  if (h.class === 'logging.FileHandler' && !h.filename) throw new CliError(`-l/--logging-configuration ${file}: handlers.default.filename is required for logging.FileHandler`);
  const levels = [r.data.loggers.model?.level, r.data.loggers.server?.level].filter((x): x is string => !!x).map((x) => PY_LEVELS[x.toUpperCase()]!);
  const min = levels.length ? LOG_LEVELS[Math.min(...levels.map((l) => LOG_LEVELS.indexOf(l)))]! : 'info';
  return { level: min, file: h.class === 'logging.FileHandler' ? { path: path.resolve(path.dirname(file), h.filename!), mode: h.mode ?? 'a' } : undefined };
}

/**
 * Open the sink's log file now, so a file that cannot be written (a missing folder, no permission)
 * fails the start with the option named, instead of the server dying after it said it listens.
 */
function openLogFile(file: NonNullable<LogSink['file']>): number {
  try {
    return openSync(file.path, file.mode);
  } catch (e) {
    throw new CliError(`-l/--logging-configuration: handlers.default.filename ${file.path} cannot be opened for writing: ${(e as Error).message}`, 'TH_CLI', { cause: e });
  }
}

/** A ModelLog writing timestamped lines at or above `sink.level` to stderr or the sink's file. */
export function makeLog(sink: LogSink): { log: ModelLog; close: () => Promise<void> } {
  const min = LOG_LEVELS.indexOf(sink.level);
  const out = sink.file ? createWriteStream('', { fd: openLogFile(sink.file) }) : undefined;
  const write = (s: string) => (out ? out.write(s) : process.stderr.write(s));
  return {
    log: (l, msg) => {
      if (LOG_LEVELS.indexOf(l) >= min) write(`${formatLogLine(l, msg)}\n`);
    },
    close: () => new Promise((resolve) => (out ? out.end(resolve) : resolve())),
  };
}
