/** The model's log: one callback every part of the model and its server writes to, and its line format. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ModelLog = (level: LogLevel, msg: string) => void;

/** One log line as every model log shows it (server CLI, target attachments). */
export const formatLogLine = (level: LogLevel, msg: string): string => `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`;
