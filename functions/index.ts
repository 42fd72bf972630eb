// The deployed functions (Functions Framework targets). Thin: each builds its context once per
// instance and hands the event to the library that the CLI's local mode also uses.

import * as ff from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { isAppError } from '../schema/errors.js';
import { handleBootstrap } from './bootstrap-db/handle-bootstrap.js';
import { ENTRY_POINTS, MANAGED_DB_ENTRY_POINTS } from './entry-points.js';
import { handleStorageEvent, type StorageObjectEvent } from './load-snapshot/handle-snapshot.js';
import { parseReconcileRequest, runReconcile } from './reconcile/index.js';
import { handleRotationEvent } from './rotate-secret/handle-rotation.js';
import type { PubsubMessagePublished } from './rotate-secret/rotation-event.js';
import { createFunctionContext, type FunctionRuntime } from './runtime/function-context.js';

let context: FunctionRuntime | undefined;
const ctx = (): FunctionRuntime => (context ??= createFunctionContext());

/**
 * Replaces the per-instance runtime (tests: an in-memory secret source, a captured logger).
 * `undefined` goes back to one built from process.env on next use.
 */
export function setFunctionRuntime(runtime: FunctionRuntime | undefined): void {
  context = runtime;
}

/**
 * Runs an event handler; a failure is logged as one structured entry and rethrown (the platform
 * redelivers) as an error whose `stack` is a one-line JSON entry too: the Functions Framework
 * prints a thrown error's stack to stderr, which would otherwise be the only unstructured line.
 */
async function structured<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = isAppError(err) ? err.code : 'INTERNAL';
    const transient = isAppError(err) ? err.transient : true;
    ctx().log.error(`${name} failed`, { event: 'function_failed', function: name, error: err });
    const rethrown = new Error(`${name} failed (${code})`);
    rethrown.stack = JSON.stringify({ severity: 'ERROR', message: `${name} failed (${code}); the event is redelivered`, event: 'function_failed_redelivery', function: name, code, transient });
    throw rethrown;
  }
}

ff.cloudEvent(ENTRY_POINTS.loadSnapshot, (event: CloudEvent<StorageObjectEvent['data']>) =>
  structured(ENTRY_POINTS.loadSnapshot, async () => {
    const result = await handleStorageEvent(ctx(), { id: event.id, type: event.type, data: event.data });
    ctx().log.info('loadSnapshot done', { status: result.status, manifestKey: result.manifestKey });
  }),
);

// Scheduler → POST with an OIDC token (verified by the platform) and an optional JSON body.
ff.http(ENTRY_POINTS.reconcile, async (req, res) => {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').json({ error: 'use POST (Cloud Scheduler sends POST with an optional JSON body {"dryRun"?, "only"?})' });
    return;
  }
  const request = parseReconcileRequest(req.body);
  if (!request.ok) {
    res.status(400).json({ error: 'invalid request body', issues: request.issues });
    return;
  }
  try {
    const report = await runReconcile(ctx(), request);
    // a transient item failure answers 500 so Scheduler retries (every step is idempotent)
    res.status(report.errors.some((e) => e.transient) ? 500 : 200).json(report);
  } catch (err) {
    const transient = isAppError(err) && err.transient;
    ctx().log.error('reconcile failed', { event: 'reconcile_failed', error: err });
    res.status(transient ? 503 : 500).json({ error: isAppError(err) ? err.toJSON() : { code: 'INTERNAL', message: 'reconcile failed; see the function logs' } });
  }
});

// Secret Manager rotation topic → Pub/Sub messagePublished CloudEvent. Throwing makes Pub/Sub redeliver.
ff.cloudEvent(ENTRY_POINTS.rotateSecret, (event: CloudEvent<PubsubMessagePublished>) =>
  structured(ENTRY_POINTS.rotateSecret, async () => {
    const outcome = await handleRotationEvent(ctx(), { id: event.id, ...(event.data ? { data: event.data } : {}) });
    ctx().log.info('rotateSecret done', { event: 'rotation_done', status: outcome.status });
  }),
);

// Managed database only: Cloud Scheduler (daily, and by hand after a deploy or a restore) → POST.
// Idempotent: the roles, schema and grants as the admin role (functions/bootstrap-db/).
ff.http(MANAGED_DB_ENTRY_POINTS.bootstrapDatabase, async (req, res) => {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').json({ error: 'use POST (Cloud Scheduler sends POST)' });
    return;
  }
  try {
    res.status(200).json(await handleBootstrap(ctx()));
  } catch (err) {
    const transient = !isAppError(err) || err.transient;
    ctx().log.error('bootstrapDatabase failed', { event: 'bootstrap_failed', error: err });
    res.status(transient ? 503 : 500).json({ error: isAppError(err) ? err.toJSON() : { code: 'INTERNAL', message: 'bootstrap failed; see the function logs' } });
  }
});
