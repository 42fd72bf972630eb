// Structured JSON logs for Cloud Logging: one JSON object per line on stdout with `severity`,
// `message` and fields. Keys that look like secrets are redacted, whatever the caller passes.

import { redactSecrets } from '../../schema/redact.js';

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

const ORDER: Record<Severity, number> = { DEBUG: 100, INFO: 200, NOTICE: 300, WARNING: 400, ERROR: 500, CRITICAL: 600 };
const SECRET_KEY = /pass(word)?|secret|token|credential|authorization|api[_-]?key|private[_-]?key/i;

export interface Logger {
  log(severity: Severity, message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  notice(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  critical(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  minSeverity?: Severity;
  /** Where lines go (default: stdout). */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

/** Removes passwords embedded in URLs (postgres://user:pw@host → postgres://user:[redacted]@host). */
export function redactText(text: string): string {
  return redactSecrets(text);
}

/** Deep copy with secret-looking keys replaced by "[redacted]" and URL passwords removed. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[truncated]';
  if (typeof value === 'string') return redactText(value);
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: redactText(value.message), ...(code !== undefined ? { code } : {}) };
  }
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function' && !(value instanceof Date)) {
      return redact((value as { toJSON(): unknown }).toJSON(), depth + 1);
    }
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

/** A logger writing Cloud Logging structured JSON lines. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[options.minSeverity ?? 'INFO'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.fields ?? {};
  const log = (severity: Severity, message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[severity] < min) return;
    const entry = { severity, message: redactText(message), time: new Date().toISOString(), ...(redact({ ...base, ...fields }) as object) };
    write(JSON.stringify(entry));
  };
  return {
    log,
    debug: (m, f) => log('DEBUG', m, f),
    info: (m, f) => log('INFO', m, f),
    notice: (m, f) => log('NOTICE', m, f),
    warn: (m, f) => log('WARNING', m, f),
    error: (m, f) => log('ERROR', m, f),
    critical: (m, f) => log('CRITICAL', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (library calls from the CLI when not verbose). */
export const silentLogger: Logger = createLogger({ write: () => {} });
