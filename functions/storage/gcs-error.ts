// Cloud Storage client errors → AppErrors, mapped once. The client throws several shapes
// (ApiError with a numeric `code`, GaxiosError with `status`, plain `{ code, message }` objects
// from resumable uploads, Node socket errors); this reads them all and decides transient or not.

import { redactSecrets } from '../../schema/redact.js';
import { AppError, type ErrorCode } from '../../schema/errors.js';

/** Socket / transport error codes after which a retry can succeed. */
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

const CONNECTION_MESSAGES = /socket hang up|premature close|unexpected connection closure|network socket disconnected|connection reset|econnreset|aborted/i;
/** The resumable-upload client gives up with a plain Error whose message names the last status. */
const RETRY_EXHAUSTED = /retry (?:total time )?limit exceeded/i;

/** HTTP status carried by a client error, if any. */
export function gcsStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const v of [e.code, e.status, e.response?.status]) {
    if (typeof v === 'number' && v >= 100 && v < 600) return v;
    if (typeof v === 'string' && /^[1-5]\d\d$/.test(v)) return Number(v);
  }
  return undefined;
}

/** The transport error code (ECONNRESET…) of an error or of its nested causes. */
function connectionCodeOf(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 4) return undefined;
  const e = err as { code?: unknown; errno?: unknown; cause?: unknown; errors?: unknown; message?: unknown };
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code.toUpperCase())) return e.code.toUpperCase();
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const reason = (inner as { reason?: unknown } | null)?.reason;
      if (typeof reason === 'string' && CONNECTION_CODES.has(reason.toUpperCase())) return reason.toUpperCase();
    }
  }
  return connectionCodeOf(e.cause, depth + 1);
}

/** True when the error is a transport failure or a status a retry can fix (408, 429, 5xx). */
export function isRetryableGcsError(err: unknown): boolean {
  const status = gcsStatusOf(err);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  if (connectionCodeOf(err) !== undefined) return true;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && (CONNECTION_MESSAGES.test(message) || RETRY_EXHAUSTED.test(message));
}

/** True when the error is a failed precondition (412), e.g. a create-only put of an existing object. */
export function isPreconditionFailed(err: unknown): boolean {
  return gcsStatusOf(err) === 412;
}

export interface GcsErrorContext {
  /** What was being done, e.g. `put`, `get`, `list`. */
  op: string;
  /** `gs://bucket/prefix` of the store. */
  url: string;
  bucket: string;
  /** Full object name in the bucket, when the operation is on one object. */
  objectName?: string;
  /** The permission the operation needs, for the auth advice. */
  permission?: string;
}

/** Removes anything that looks like a credential from a message before it reaches a human. */

function rawMessageOf(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { message?: unknown; errors?: unknown };
  let message = typeof e.message === 'string' ? e.message : '';
  // Streamed downloads put the raw JSON error body in `message`.
  const trimmed = message.trim();
  if (trimmed.startsWith('{')) {
    try {
      const body = JSON.parse(trimmed) as { error?: { message?: unknown } };
      if (typeof body.error?.message === 'string') message = body.error.message;
    } catch {
      /* not JSON: keep as is */
    }
  }
  if (message === '' && Array.isArray(e.errors)) {
    const inner = e.errors[0] as { message?: unknown; error?: { message?: unknown } } | undefined;
    if (typeof inner?.message === 'string') message = inner.message;
    else if (typeof inner?.error?.message === 'string') message = inner.error.message;
  }
  return message === '' ? 'unknown error' : message;
}

/**
 * Maps a client error to an AppError: 401/403 → BUCKET_AUTH, 404 → BUCKET_NOT_FOUND or
 * OBJECT_NOT_FOUND, 412 → PRECONDITION_FAILED, 408/429/5xx/connection → BUCKET_UNREACHABLE
 * (transient), checksum mismatch → CHECKSUM_MISMATCH (transient: a re-transfer can succeed).
 * AppErrors pass through unchanged. Messages never carry tokens.
 */
export function toGcsAppError(err: unknown, ctx: GcsErrorContext): AppError {
  if (err instanceof AppError) return err;
  const status = gcsStatusOf(err);
  const raw = redactSecrets(rawMessageOf(err));
  const target = ctx.objectName === undefined ? `gs://${ctx.bucket}` : `gs://${ctx.bucket}/${ctx.objectName}`;
  const details = { op: ctx.op, bucket: ctx.bucket, ...(ctx.objectName === undefined ? {} : { object: ctx.objectName }), ...(status === undefined ? {} : { status }) };
  const make = (code: ErrorCode, message: string, transient = false) => new AppError(code, message, { cause: err, transient, details });

  const clientCode = (err as { code?: unknown } | null)?.code;
  if (clientCode === 'CONTENT_DOWNLOAD_MISMATCH' || clientCode === 'FILE_NO_UPLOAD' || clientCode === 'FILE_NO_UPLOAD_DELETE') {
    return make('CHECKSUM_MISMATCH', `${ctx.op} ${target}: the checksum of the bytes transferred does not match the stored object's (${raw}); retry the transfer`, true);
  }
  if (status === 401 || status === 403) {
    const permission = ctx.permission ?? 'storage.objects.get';
    return make(
      'BUCKET_AUTH',
      `${ctx.op} ${target}: access denied (HTTP ${status}: ${raw}). Check Application Default Credentials: ` +
        `run \`gcloud auth application-default login\`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file; ` +
        `the identity needs ${permission} on gs://${ctx.bucket}`,
    );
  }
  if (status === 404) {
    if (ctx.objectName === undefined || /bucket does not exist|no such bucket|bucket .*not found/i.test(raw)) {
      return make('BUCKET_NOT_FOUND', `${ctx.op} ${target}: bucket "${ctx.bucket}" does not exist (${raw}); check the --bucket URL or create the bucket`);
    }
    return make('OBJECT_NOT_FOUND', `${ctx.op} ${target}: object not found`);
  }
  if (status === 412) {
    return make('PRECONDITION_FAILED', `${ctx.op} ${target}: precondition failed (${raw})`);
  }
  if (isRetryableGcsError(err)) {
    const why = status === undefined ? (connectionCodeOf(err) ?? raw) : `HTTP ${status}: ${raw}`;
    return make(
      'BUCKET_UNREACHABLE',
      `${ctx.op} ${target}: Cloud Storage did not answer successfully after retries (${why}); check the network and https://status.cloud.google.com, then retry`,
      true,
    );
  }
  if (status === 400) {
    return make('VALUE_INVALID', `${ctx.op} ${target}: the request was rejected as invalid (HTTP 400: ${raw})`);
  }
  return make('BUCKET_UNREACHABLE', `${ctx.op} ${target}: ${status === undefined ? raw : `HTTP ${status}: ${raw}`}`);
}

export { redactSecrets } from '../../schema/redact.js';
