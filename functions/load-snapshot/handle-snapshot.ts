// loadSnapshot glue: a Cloud Storage "object finalized" notification → the loader. Deployed, it
// arrives as a Pub/Sub message from the bucket's notification on snapshots/ (JSON_API_V1 payload);
// a direct storage CloudEvent works too. Acts only on snapshot manifests; acknowledges everything
// else (blobs, quarantine copies, stray files). Transient failures are rethrown so the platform
// redelivers; terminal ones were quarantined.

import { isAppError } from '../../schema/errors.js';
import { LOG_EVENTS } from '../entry-points.js';
import { parseManifestKey } from '../../schema/snapshot/object-keys.js';
import { type LoadOutcome, loadSnapshot } from '../loader/load-snapshot.js';
import type { FunctionContext } from '../runtime/function-context.js';

/** The part of a Cloud Storage object resource we read (StorageObjectData / JSON API object). */
export interface StorageObjectData {
  bucket?: string;
  name?: string;
  generation?: string | number;
  size?: string | number;
  /** Set by Cloud Storage when the object was created: a clock the uploader cannot set. */
  timeCreated?: string;
}

/** A Pub/Sub "messagePublished" CloudEvent body, as a bucket notification publishes it. */
export interface PubsubStorageNotification {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string };
  subscription?: string;
}

/** A storage CloudEvent (`data` is the object) or a Pub/Sub one (`data.message` is the notification). */
export interface StorageObjectEvent {
  id?: string;
  type?: string;
  data?: StorageObjectData | PubsubStorageNotification;
}

export type HandleResult = LoadOutcome | { status: 'ignored'; manifestKey: string; reason: string };

/**
 * The object an event is about (pure): the storage event's data, or the JSON_API_V1 payload of a
 * bucket notification (attributes as fallback). A notification for anything but a finalized object
 * is ignored with its reason.
 */
export function storageObjectOf(data: StorageObjectEvent['data']): { object: StorageObjectData } | { ignore: string } {
  if (!data) return { ignore: 'event without data' };
  if (!('message' in data) || !data.message) return { object: data as StorageObjectData };
  const { attributes = {}, data: payload } = data.message;
  const eventType = attributes['eventType'];
  if (eventType && eventType !== 'OBJECT_FINALIZE') return { ignore: `notification ${eventType} (only OBJECT_FINALIZE loads)` };
  let object: StorageObjectData = {};
  if (payload) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) object = parsed as StorageObjectData;
    } catch {
      // NONE payload format, or not JSON: the attributes name the object
    }
  }
  return {
    object: {
      ...object,
      bucket: typeof object.bucket === 'string' ? object.bucket : attributes['bucketId'],
      name: typeof object.name === 'string' ? object.name : attributes['objectId'],
      generation: object.generation ?? attributes['objectGeneration'],
    },
  };
}

export async function handleStorageEvent(ctx: FunctionContext, event: StorageObjectEvent): Promise<HandleResult> {
  const of = storageObjectOf(event.data);
  if ('ignore' in of) {
    ctx.log.debug('notification acknowledged without work', { eventId: event.id, reason: of.ignore });
    return { status: 'ignored', manifestKey: '', reason: of.ignore };
  }
  const name = of.object.name ?? '';
  const bucket = of.object.bucket ?? '';
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
  let outcome: LoadOutcome;
  try {
    outcome = await attempt();
  } catch (err) {
    // after a password rotation the pool's credentials are stale: re-read the secret once
    if (!isAppError(err, 'DB_AUTH')) throw err;
    log.notice('database authentication failed: re-reading the password and retrying once', { event: 'db_auth_retry' });
    await ctx.resetDb();
    outcome = await attempt();
  }
  const created = of.object.timeCreated ? Date.parse(of.object.timeCreated) : Number.NaN;
  if (outcome.status === 'loaded' && Number.isFinite(created)) {
    // the lag alert: manifest written (Cloud Storage's clock) → loaded
    log.info('snapshot load lag', { event: LOG_EVENTS.syncLag, env: outcome.env, lagSeconds: Math.max(0, Math.round((Date.now() - created) / 1000)) });
  }
  return outcome;
}
