import winston from 'winston';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type Logger = winston.Logger;

const SECRET_KEY = /token|password|secret|authorization|cookie|private[-_]?key/i;
const REDACTED = '[REDACTED]';

function redactValue(value: unknown, depth: number): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) && typeof v !== 'object' ? REDACTED : redactValue(v, depth + 1);
  }
  return out;
}

/** Secrets must never reach logs: any field whose name looks like a credential is masked. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    const value = info[key];
    info[key] = SECRET_KEY.test(key) && typeof value !== 'object' ? REDACTED : redactValue(value, 0);
  }
  return info;
});

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Extra transports, e.g. a stream tests read from. */
  transports?: winston.transport[];
  silent?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format =
    options.format === 'text'
      ? winston.format.combine(
          redact(),
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
            const fields = Object.entries(rest)
              .filter(([k]) => typeof k === 'string')
              .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
              .join(' ');
            const comp = typeof component === 'string' ? ` [${component}]` : '';
            return `${String(timestamp)} ${level.toUpperCase()}${comp} ${String(message)}${fields ? ` ${fields}` : ''}`;
          }),
        )
      : winston.format.combine(redact(), winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: options.level ?? 'info',
    format,
    silent: options.silent ?? false,
    transports: options.transports ?? [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** A logger that drops everything; for tests and library defaults. */
export function nullLogger(): Logger {
  return createLogger({ silent: true });
}
