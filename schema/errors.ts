// One error type for the whole project: a stable `code`, a message that names the file / field /
// value, what was expected and what to do, and whether a retry can help.

/** Stable error codes, one union per area. */
export type ErrorCode =
  // configuration and usage
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'WORKSPACE_NOT_FOUND'
  // sources and snapshots
  | 'SOURCE_UNREADABLE'
  | 'SOURCE_WRONG_KIND'
  | 'SOURCE_CORRUPT'
  /** a source (or a folder on its path) is a link that resolves outside the workspace */
  | 'SOURCE_OUTSIDE_WORKSPACE'
  | 'SNAPSHOT_FAILED'
  // bucket
  | 'BUCKET_URL_INVALID'
  | 'BUCKET_UNREACHABLE'
  | 'BUCKET_AUTH'
  | 'BUCKET_NOT_FOUND'
  | 'OBJECT_NOT_FOUND'
  | 'PRECONDITION_FAILED'
  | 'DISK_FULL'
  // manifest and load
  | 'MANIFEST_INVALID'
  | 'MANIFEST_ENV_MISMATCH'
  /** the manifest claims a time beyond the store's clock plus the tolerance (the pushing clock runs ahead) */
  | 'MANIFEST_CLOCK_SKEW'
  /** the snapshot declares more bytes or sources than one load may expand (terminal) */
  | 'SNAPSHOT_TOO_LARGE'
  | 'CHECKSUM_MISMATCH'
  | 'BLOB_CORRUPT'
  /** a blob's codec cannot be decoded by this process (no zstd): terminal, not the snapshot's fault */
  | 'CODEC_UNAVAILABLE'
  | 'PARSE_FAILED'
  | 'VALUE_INVALID'
  | 'DB_CONNECTION'
  | 'DB_AUTH'
  | 'DB_CONFLICT'
  | 'DB_RESOURCES'
  | 'DB_DATA'
  | 'DB_SCHEMA'
  /** the database role lacks a privilege (SQLSTATE 42501): terminal, not the snapshot's fault */
  | 'DB_PERMISSION'
  | 'DB_UNKNOWN'
  /** the embedded database folder is in use by another process (after waiting) */
  | 'DB_LOCKED'
  /** the embedded database folder cannot be read back (rebuild it from the bucket) */
  | 'DB_DAMAGED'
  | 'MIGRATION_HISTORY_EDITED'
  | 'MIGRATION_FAILED'
  // embeddings
  | 'MODEL_UNAVAILABLE'
  | 'MODEL_DIMENSION'
  // secrets
  | 'SECRET_UNAVAILABLE'
  | 'ROTATION_FAILED'
  // anything else
  | 'INTERNAL';

export interface AppErrorOptions {
  cause?: unknown;
  /** true when retrying the same operation later can succeed (network, lock, rotation). */
  transient?: boolean;
  /** Extra structured context for logs (never secrets). */
  details?: Record<string, unknown>;
}

/** The project's error. `message` is for humans: what, where, expected, what to do. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.transient = options.transient ?? false;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, transient: this.transient, ...(this.details ? { details: this.details } : {}) };
  }
}

/** True for an AppError (optionally with one of the given codes). */
export function isAppError(err: unknown, ...codes: ErrorCode[]): err is AppError {
  return err instanceof AppError && (codes.length === 0 || codes.includes(err.code));
}

/**
 * The message of anything thrown, without stack. A thrown plain object (WebAssembly runtimes such
 * as PGlite's throw some) is described by its `message`, `code` or JSON, never "[object Object]".
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object') {
    const o = err as Record<string, unknown>;
    const parts = [typeof o['message'] === 'string' ? o['message'] : '', typeof o['code'] === 'string' || typeof o['code'] === 'number' ? `(code ${String(o['code'])})` : ''].filter((p) => p !== '');
    if (parts.length > 0) return parts.join(' ');
    try {
      const json = JSON.stringify(err);
      if (json !== undefined && json !== '{}') return json.length > 300 ? `${json.slice(0, 300)}…` : json;
    } catch {
      // circular: fall through
    }
    const name = (err as { constructor?: { name?: unknown } }).constructor?.name;
    return `a ${typeof name === 'string' && name !== 'Object' ? name : 'plain object'} with no message`;
  }
  return String(err);
}
