// The one mapping from database driver errors (SQLSTATE, node socket errors) to AppErrors that
// say whether a retry can help. Used by both Database implementations; messages never carry
// passwords or connection strings with passwords.
import { redactSecrets } from '../../schema/redact.js';
import { AppError, type ErrorCode, errorMessage } from '../../schema/errors.js';

interface Kind {
  code: ErrorCode;
  transient: boolean;
  what: string;
}

const BY_SQLSTATE: Record<string, Kind> = {
  '40001': { code: 'DB_CONFLICT', transient: true, what: 'serialization failure' },
  '40P01': { code: 'DB_CONFLICT', transient: true, what: 'deadlock detected' },
  '55P03': { code: 'DB_CONFLICT', transient: true, what: 'lock not available' },
  '57014': { code: 'DB_RESOURCES', transient: true, what: 'query canceled (statement timeout)' },
  '57P01': { code: 'DB_CONNECTION', transient: true, what: 'server terminated the connection (admin shutdown)' },
  '57P02': { code: 'DB_CONNECTION', transient: true, what: 'server crash shutdown' },
  '57P03': { code: 'DB_CONNECTION', transient: true, what: 'server cannot accept connections now' },
  // after a secret rotation the old password fails until the new version is picked up
  '28P01': { code: 'DB_AUTH', transient: true, what: 'password authentication failed' },
  '28000': { code: 'DB_AUTH', transient: false, what: 'invalid authorization (role or pg_hba)' },
  '3D000': { code: 'DB_CONNECTION', transient: false, what: 'database does not exist' },
  // class 42 holds both syntax errors and access rule violations: name the one it is
  '42501': { code: 'DB_PERMISSION', transient: false, what: 'permission denied (the database role lacks a privilege)' },
  '42P01': { code: 'DB_SCHEMA', transient: false, what: 'undefined table (the aqe schema is missing a table)' },
  '42703': { code: 'DB_SCHEMA', transient: false, what: 'undefined column (the aqe schema is missing a column)' },
  '42704': { code: 'DB_SCHEMA', transient: false, what: 'undefined object' },
  '42883': { code: 'DB_SCHEMA', transient: false, what: 'undefined function' },
  '42601': { code: 'DB_SCHEMA', transient: false, what: 'syntax error' },
};

/** What to do about a code, appended to the message. */
const ADVICE: Partial<Record<string, string>> = {
  '42501': 'grant the role the rights it needs on schema aqe (USAGE, and SELECT/INSERT/UPDATE/DELETE on its tables and sequences), or run `aqe-upload migrate` as the schema owner when a migration is pending',
  '42P01': 'the schema was changed by hand: run `aqe-upload migrate` to see what differs from the migrations',
  '42703': 'the schema was changed by hand: run `aqe-upload migrate` to see what differs from the migrations',
};

const BY_CLASS: Record<string, Kind> = {
  '08': { code: 'DB_CONNECTION', transient: true, what: 'connection exception' },
  '53': { code: 'DB_RESOURCES', transient: true, what: 'insufficient resources' },
  '22': { code: 'DB_DATA', transient: false, what: 'data exception' },
  '23': { code: 'DB_DATA', transient: false, what: 'integrity constraint violation' },
  '42': { code: 'DB_SCHEMA', transient: false, what: 'syntax error, undefined object or access rule violation' },
  '3F': { code: 'DB_SCHEMA', transient: false, what: 'invalid schema name' },
  '0A': { code: 'DB_SCHEMA', transient: false, what: 'feature not supported' },
  XX: { code: 'DB_UNKNOWN', transient: false, what: 'internal server error' },
};

const NODE_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

// pg reports a dropped socket without a code.
const CONNECTION_MESSAGES = [/connection terminated/i, /terminating connection/i, /connection.*(closed|ended)/i, /timeout exceeded when trying to connect/i, /client has encountered a connection error/i, /Client was closed/i, /cannot use a pool after calling end/i];

/** Classifies a driver error: `{ code, transient }` (AppErrors keep theirs). */
export function classifyDbError(err: unknown): { code: ErrorCode; transient: boolean; sqlstate?: string; what: string } {
  if (err instanceof AppError) return { code: err.code, transient: err.transient, what: err.code };
  const e = (err ?? {}) as { code?: unknown; message?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    const kind = BY_SQLSTATE[code] ?? BY_CLASS[code.slice(0, 2)] ?? { code: 'DB_UNKNOWN' as const, transient: false, what: 'database error' };
    return { ...kind, sqlstate: code };
  }
  if (code && NODE_TRANSIENT.has(code)) return { code: 'DB_CONNECTION', transient: true, what: `network error ${code}` };
  // AggregateError (dual-stack connect) carries the socket errors inside
  if (Array.isArray(e.errors) && e.errors.some((x) => NODE_TRANSIENT.has(String((x as { code?: unknown }).code)))) {
    return { code: 'DB_CONNECTION', transient: true, what: 'network error' };
  }
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (CONNECTION_MESSAGES.some((re) => re.test(message))) return { code: 'DB_CONNECTION', transient: true, what: 'connection lost' };
  return { code: 'DB_UNKNOWN', transient: false, what: 'database error' };
}

/** Removes passwords from anything that looks like a URL or a `password=` setting. */

/**
 * The AppError for a driver error, with `context` (what we were doing) in the message.
 * AppErrors pass through unchanged.
 *
 * @example throw toDbError(err, 'merge into aqe.patterns')
 */
export function toDbError(err: unknown, context?: string): AppError {
  if (err instanceof AppError) return err;
  const kind = classifyDbError(err);
  const e = (err ?? {}) as Record<string, unknown>;
  const raw = errorMessage(err);
  const parts = [`${context ? `${context}: ` : ''}${kind.what}${kind.sqlstate ? ` (SQLSTATE ${kind.sqlstate})` : ''}: ${raw}`];
  if (typeof e['detail'] === 'string' && e['detail']) parts.push(`detail: ${e['detail']}`);
  if (typeof e['hint'] === 'string' && e['hint']) parts.push(`hint: ${e['hint']}`);
  const advice = kind.sqlstate ? ADVICE[kind.sqlstate] : undefined;
  if (advice) parts.push(`what to do: ${advice}`);
  if (kind.transient) parts.push('(transient: retrying later can succeed)');
  const details: Record<string, unknown> = {};
  for (const k of ['constraint', 'table', 'column', 'schema'] as const) if (typeof e[k] === 'string') details[k] = e[k];
  if (kind.sqlstate) details['sqlstate'] = kind.sqlstate;
  return new AppError(kind.code, redactSecrets(parts.join('; ')), { cause: err, transient: kind.transient, details });
}

/** Re-exported for callers that format database errors. */
export { redactSecrets } from '../../schema/redact.js';
