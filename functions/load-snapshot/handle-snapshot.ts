// loadSnapshot glue: a Cloud Storage "object finalized" CloudEvent → the loader. Acts only on
// snapshot manifests; acknowledges everything else (blobs, quarantine copies, stray files).
// Transient failures are rethrown so Eventarc redelivers; terminal ones were quarantined.

import { isAppError } from '../../schema/errors.js';
import { parseManifestKey } from '../../schema/snapshot/object-keys.js';
import { type LoadOutcome, loadSnapshot } from '../loader/load-snapshot.js';
import type { FunctionContext } from '../runtime/function-context.js';

/** The part of a storage CloudEvent we read (StorageObjectData). */
export interface StorageObjectEvent {
  id?: string;
  type?: string;
  data?: { bucket?: string; name?: string; generation?: string | number; size?: string | number };
}

export type HandleResult = LoadOutcome | { status: 'ignored'; manifestKey: string; reason: string };

export async function handleStorageEvent(ctx: FunctionContext, event: StorageObjectEvent): Promise<HandleResult> {
  const name = event.data?.name ?? '';
  const bucket = event.data?.bucket ?? '';
  const log = ctx.log.child({ eventId: event.id, object: name });
  const expected = ctx.config.bucket;
  if (!expected || bucket !== expected.name) {
    log.warn('event for another bucket ignored', { bucket });
    return { status: 'ignored', manifestKey: name, reason: `bucket ${bucket} is not ${expected?.name ?? '(unset)'}` };
  }
  const prefix = expected.prefix ? `${expected.prefix.replace(/\/+$/, '')}/` : '';
  if (prefix && !name.startsWith(prefix)) return { status: 'ignored', manifestKey: name, reason: 'outside the configured prefix' };
  const key = name.slice(prefix.length);
  const parts = parseManifestKey(key);
  if (!parts || parts.prefix !== '') {
    log.debug('not a manifest: acknowledged');
    return { status: 'ignored', manifestKey: key, reason: 'not a snapshot manifest' };
  }
  const attempt = async (): Promise<LoadOutcome> => {
    const embedding = await ctx.embedder();
    return loadSnapshot(
      {
        store: ctx.store(),
        db: await ctx.db(),
        log,
        embedding: { embedder: embedding.embedder, budgetMs: ctx.config.embedBudgetMs, ...(embedding.reason ? { unavailableReason: embedding.reason } : {}) },
      },
      key,
    );
  };
  try {
    return await attempt();
  } catch (err) {
    // after a password rotation the pool's credentials are stale: re-read the secret once
    if (isAppError(err, 'DB_AUTH')) {
      log.notice('database authentication failed: re-reading the password and retrying once', { event: 'db_auth_retry' });
      await ctx.resetDb();
      return attempt();
    }
    throw err;
  }
}
