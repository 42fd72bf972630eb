// The deployed functions (Functions Framework targets). Thin: each builds its context once per
// instance and hands the event to the library that the CLI's local mode also uses.

import * as ff from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { isAppError } from '../schema/errors.js';
import { ENTRY_POINTS } from './entry-points.js';
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

ff.cloudEvent(ENTRY_POINTS.loadSnapshot, async (event: CloudEvent<StorageObjectEvent['data']>) => {
  const result = await handleStorageEvent(ctx(), { id: event.id, type: event.type, data: event.data });
  ctx().log.info('loadSnapshot done', { status: result.status, manifestKey: result.manifestKey });
});

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
ff.cloudEvent(ENTRY_POINTS.rotateSecret, async (event: CloudEvent<PubsubMessagePublished>) => {
  const outcome = await handleRotationEvent(ctx(), { id: event.id, ...(event.data ? { data: event.data } : {}) });
  ctx().log.info('rotateSecret done', { event: 'rotation_done', status: outcome.status });
});
