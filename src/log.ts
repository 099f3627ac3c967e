import { describeError, scrubText } from './log-errors.js';

/**
 * A small structured logger: one JSON object per line, data first (STYLE.md §9).
 * Fields whose names look secret are replaced before anything is written; errors are described
 * by `describeError` (a database error by its SQLSTATE and constraint, never its parameters), and
 * text quoting a failed query is cut before the quote, wherever it appears.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  child(bindings: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_FIELD = /secret|password|token|signature|authorization|api[-_]?key|cookie/i;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return describeError(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_FIELD.test(key) ? '[redacted]' : redact(inner, depth + 1);
  }
  return out;
}

export function createLogger(
  options: { level?: LogLevel; bindings?: LogFields; write?: (line: string) => void } = {},
): Logger {
  const threshold = RANK[options.level ?? 'info'];
  const bindings = options.bindings ?? {};
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const emit = (level: Exclude<LogLevel, 'silent'>, fields: LogFields, message: string) => {
    if (RANK[level] < threshold) return;
    const record = { level, time: new Date().toISOString(), msg: scrubText(message), ...bindings, ...(redact(fields) as LogFields) };
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (fields, message) => emit('debug', fields, message),
    info: (fields, message) => emit('info', fields, message),
    warn: (fields, message) => emit('warn', fields, message),
    error: (fields, message) => emit('error', fields, message),
    child: (more) => createLogger({ ...options, bindings: { ...bindings, ...more } }),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
