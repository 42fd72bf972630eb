import { describe, expect, it } from 'vitest';
import { storageObjectOf } from './handle-snapshot.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('storageObjectOf', () => {
  it('reads a storage CloudEvent: the data is the object', () => {
    expect(storageObjectOf({ bucket: 'b', name: 'snapshots/laptop/x/manifest.json', timeCreated: '2026-01-01T00:00:00Z' })).toEqual({
      object: { bucket: 'b', name: 'snapshots/laptop/x/manifest.json', timeCreated: '2026-01-01T00:00:00Z' },
    });
  });

  it('reads a bucket notification (Pub/Sub, JSON_API_V1): the object resource in the message data', () => {
    const of = storageObjectOf({
      message: { data: b64({ kind: 'storage#object', bucket: 'b', name: 'snapshots/ci/y/manifest.json', generation: '17', timeCreated: '2026-01-02T00:00:00Z' }), attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'b', objectId: 'snapshots/ci/y/manifest.json' } },
    });
    expect(of).toEqual({ object: expect.objectContaining({ bucket: 'b', name: 'snapshots/ci/y/manifest.json', generation: '17', timeCreated: '2026-01-02T00:00:00Z' }) });
  });

  it('falls back to the attributes when the payload is not JSON (payload format NONE)', () => {
    expect(storageObjectOf({ message: { attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'b', objectId: 'k', objectGeneration: '3' } } })).toEqual({ object: { bucket: 'b', name: 'k', generation: '3' } });
  });

  it('ignores other notification types and events without data', () => {
    expect(storageObjectOf({ message: { attributes: { eventType: 'OBJECT_DELETE', bucketId: 'b', objectId: 'k' } } })).toEqual({ ignore: 'notification OBJECT_DELETE (only OBJECT_FINALIZE loads)' });
    expect(storageObjectOf(undefined)).toEqual({ ignore: 'event without data' });
  });
});
