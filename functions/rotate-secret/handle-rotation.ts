// rotateSecret glue: a Pub/Sub notification from Secret Manager → rotate the password of the role
// that secret belongs to (the functions' role, or the read-only role) on SECRET_ROTATE, or only
// disable expired versions (any other event of the secret). Each role rotates its own password
// (a role may always change its own): no role here can change another's. Transient failures are
// rethrown so Pub/Sub redelivers; a redelivery of a finished rotation is skipped.

import { AppError } from '../../schema/errors.js';
import type { FunctionRuntime } from '../runtime/function-context.js';
import { parseRotationEvent, type PubsubMessagePublished } from './rotation-event.js';
import { disableExpiredVersions, type RotateOptions, type RotationResult, rotateSecret } from './rotate-secret.js';

export type RotationOutcome = RotationResult | { status: 'ignored'; reason: string } | { status: 'expired'; disabled: string[]; disableErrors: string[] };

export interface HandleRotationOptions {
  /** Failure injection (tests). */
  beforeStep?: RotateOptions['beforeStep'];
}

/** Handles one rotation notification with the runtime's config, secrets and logger. */
export async function handleRotationEvent(
  rt: FunctionRuntime,
  event: { id?: string; data?: PubsubMessagePublished },
  options: HandleRotationOptions = {},
): Promise<RotationOutcome> {
  const db = rt.config.database;
  if (db.kind !== 'secret') {
    throw new AppError('CONFIG_INVALID', 'rotateSecret needs AQE_DB_HOST, AQE_DB_USER and AQE_DB_PASSWORD_SECRET (a password in AQE_DATABASE_URL cannot be rotated)');
  }
  const roles = [{ user: db.user, passwordSecret: db.passwordSecret }, ...rt.config.rotatedRoles];
  const request = parseRotationEvent(
    event.data,
    roles.map((r) => r.passwordSecret),
  );
  const log = rt.log.child({ eventId: event.id, messageId: request.messageId, eventType: request.eventType });
  if (request.action === 'ignore') {
    log.info('notification ignored', { event: 'rotation_ignored', reason: request.reason });
    return { status: 'ignored', reason: request.reason };
  }
  const secrets = await rt.secrets();
  const graceMs = rt.config.rotationGraceHours * 3600_000;
  const role = roles.find((r) => r.passwordSecret === request.secret)!;
  if (request.action === 'expire') {
    const r = await disableExpiredVersions(secrets, role.passwordSecret, rt.now(), graceMs, log);
    return { status: 'expired', ...r };
  }
  const result = await rotateSecret({
    secrets,
    target: { host: db.host, port: db.port, database: db.database, user: role.user, secret: role.passwordSecret, ...(db.ssl ? { ssl: db.ssl } : {}) },
    graceMs,
    minIntervalMs: rt.config.rotationMinIntervalMinutes * 60_000,
    log,
    messageId: request.messageId,
    now: () => rt.now(),
    ...(options.beforeStep ? { beforeStep: options.beforeStep } : {}),
  });
  if (result.status === 'skipped') log.info('rotation skipped', { event: 'rotation_skipped', reason: result.reason });
  if (result.disableErrors.length > 0) {
    log.warn('some expired secret versions could not be disabled (the next notification retries)', { event: 'secret_disable_failed', errors: result.disableErrors });
  }
  return result;
}
