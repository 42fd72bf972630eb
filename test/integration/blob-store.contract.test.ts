// One BlobStore contract, run against every implementation: the local directory store on a temp
// folder, and the Cloud Storage store through the real @google-cloud/storage client talking to the
// JSON-API test server. Then what only one backend can show (retries, faults, filesystem failures).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { GcsBlobStore } from '../../functions/storage/gcs-blob-store.js';
import { LocalDirBlobStore } from '../../functions/storage/local-dir-blob-store.js';
import { openBlobStore, parseBucketUrl } from '../../functions/storage/open-blob-store.js';
import { AppError, isAppError } from '../../schema/errors.js';
import { blobKey, manifestKey } from '../../schema/snapshot/object-keys.js';
import { type GcsServer, startGcsServer } from '../support/gcs-server.js';

const MiB = 1024 * 1024;

interface Harness {
  store: BlobStore;
  /** Bytes of the current upload the backend has received so far (to prove streaming). */
  bytesPersisted(): Promise<number>;
  /** Largest lag between bytes read from a source and bytes the backend holds that streaming allows. */
  maxReadAhead: number;
}

interface Backend {
  name: string;
  open(): Promise<Harness>;
  close(): Promise<void>;
}

async function sizeOfFilesIn(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let total = 0;
  for (const n of names) total += (await stat(join(dir, n)).catch(() => null))?.size ?? 0;
  return total;
}

const localBackend = (): Backend => {
  let dir = '';
  return {
    name: 'LocalDirBlobStore',
    async open() {
      dir = await mkdtemp(join(tmpdir(), 'aqe-blob-contract-'));
      const store = new LocalDirBlobStore(join(dir, 'bucket'));
      return { store, bytesPersisted: () => sizeOfFilesIn(join(dir, 'bucket', '.aqe-store', 'tmp')), maxReadAhead: 1 * MiB };
    },
    async close() {
      await rm(dir, { recursive: true, force: true });
    },
  };
};

let gcsServer: GcsServer;
let bucketSeq = 0;
const gcsStorageOptions = () => ({ apiEndpoint: gcsServer.endpoint, projectId: 'test-project' });

const gcsBackend = (): Backend => ({
  name: 'GcsBlobStore',
  async open() {
    const bucket = `contract-${++bucketSeq}`;
    gcsServer.createBucket(bucket);
    // 1 MiB chunks (default 8 MiB) so the read-ahead bound is small against the 40 MiB body.
    const chunk = MiB;
    const store = new GcsBlobStore({ bucket, prefix: 'aqe/test', storageOptions: gcsStorageOptions(), retry: { maxDelayMs: 50 }, resumableChunkBytes: chunk });
    const base = gcsServer.bytesReceived;
    // The resumable client keeps the chunk in flight (to re-send it on failure) while it fills the
    // next one, plus stream buffers: a few chunks at most (measured ~4.5 MiB), never the whole body.
    return { store, bytesPersisted: async () => gcsServer.bytesReceived - base, maxReadAhead: 3 * chunk + 2 * MiB };
  },
  async close() {},
});

beforeAll(async () => {
  gcsServer = await startGcsServer();
});
afterAll(async () => {
  await gcsServer.close();
});

async function expectAppError(promise: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(code);
    return err as AppError;
  }
  throw new Error(`expected an AppError ${code}, but the call succeeded`);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function keysOf(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
}

/** A pseudo-random, non-repeating body of `size` bytes, produced lazily in 64 KiB pieces (like fs streams). */
function generatedStream(size: number, onRead?: (produced: number) => Promise<void> | void): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let produced = 0;
  let counter = 0;
  const piece = 64 * 1024;
  const stream = new Readable({
    highWaterMark: piece,
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(piece, size - produced);
      const chunk = Buffer.alloc(n);
      for (let i = 0; i < n; i += 4) chunk.writeUInt32LE((counter++ * 2654435761) >>> 0, i);
      produced += n;
      hash.update(chunk);
      void Promise.resolve(onRead?.(produced)).then(() => this.push(chunk));
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const makeBackend of [localBackend, gcsBackend]) {
  const backend = makeBackend();

  describe(`BlobStore contract: ${backend.name}`, () => {
    let h: Harness;
    let store: BlobStore;
    beforeEach(async () => {
      h = await backend.open();
      store = h.store;
    });
    afterEach(async () => {
      await backend.close();
    });

    it('passes check() on a reachable, writable store', async () => {
      await expect(store.check()).resolves.toBeUndefined();
      // with a probe key (an uploader may read blobs/ but not list): a missing object is fine
      await expect(store.check('blobs/sha256/00/none.gz')).resolves.toBeUndefined();
    });

    it('stores a Buffer and returns the same bytes from get and getStream', async () => {
      const body = Buffer.from('{"format":1,"hello":"wörld"}');
      const key = manifestKey('laptop', '01J9Z8X7W6V5T4S3R2Q1P0NMKJ');
      await expect(store.put(key, body, { contentType: 'application/json' })).resolves.toEqual({ created: true, bytes: body.length });
      expect((await store.get(key)).equals(body)).toBe(true);
      expect((await collect(await store.getStream(key))).equals(body)).toBe(true);
    });

    it('stores a stream of unknown size and reports the bytes written', async () => {
      const parts = [Buffer.from('abc'), Buffer.alloc(70_000, 7), Buffer.from('xyz')];
      const result = await store.put('streams/one.bin', Readable.from(parts));
      expect(result).toEqual({ created: true, bytes: 70_006 });
      expect((await store.get('streams/one.bin')).equals(Buffer.concat(parts))).toBe(true);
    });

    it('round-trips an empty object', async () => {
      await store.put('empty/buffer', Buffer.alloc(0));
      await store.put('empty/stream', Readable.from([]));
      expect((await store.get('empty/buffer')).length).toBe(0);
      expect((await store.get('empty/stream')).length).toBe(0);
      expect((await store.stat('empty/stream'))?.size).toBe(0);
    });

    it('reports exists and stat (size, time, generation, metadata), and null for a missing object', async () => {
      const before = Date.now();
      await store.put('meta/obj.gz', Buffer.alloc(1234, 1), { metadata: { sha256: 'ab'.repeat(32), source: 'v3-memory' } });
      expect(await store.exists('meta/obj.gz')).toBe(true);
      const info = await store.stat('meta/obj.gz');
      expect(info).not.toBeNull();
      expect(info!.key).toBe('meta/obj.gz');
      expect(info!.size).toBe(1234);
      expect(info!.updated.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(info!.updated.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
      expect(info!.generation).toMatch(/^\d+$/);
      expect(info!.metadata).toEqual({ sha256: 'ab'.repeat(32), source: 'v3-memory' });
      expect(await store.exists('meta/missing.gz')).toBe(false);
      expect(await store.stat('meta/missing.gz')).toBeNull();
      // A "folder" of other keys is not an object.
      expect(await store.stat('meta')).toBeNull();
    });

    it('overwrites an existing object when not create-only', async () => {
      await store.put('quarantine/laptop/x/error.json', Buffer.from('first'));
      const second = await store.put('quarantine/laptop/x/error.json', Buffer.from('second, longer'));
      expect(second).toEqual({ created: true, bytes: 14 });
      expect((await store.get('quarantine/laptop/x/error.json')).toString()).toBe('second, longer');
    });

    it('lists every object under a prefix, nested keys included, in byte order of keys', async () => {
      const keys = ['b/2', 'a/b/c', 'a-c', 'a/a', 'a/b/a', 'z', 'a/b/c/d', 'A', 'a0'];
      // "a/b/c" as both object and folder is impossible on a filesystem: keep the sets disjoint.
      const stored = keys.filter((k) => k !== 'a/b/c');
      for (const k of stored) await store.put(k, Buffer.from(k));
      const sorted = [...stored].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(await keysOf(store, '')).toEqual(sorted);
      expect(await keysOf(store, 'a/')).toEqual(['a/a', 'a/b/a', 'a/b/c/d']);
      expect(await keysOf(store, 'a')).toEqual(['a-c', 'a/a', 'a/b/a', 'a/b/c/d', 'a0']);
      expect(await keysOf(store, 'a/b')).toEqual(['a/b/a', 'a/b/c/d']);
      expect(await keysOf(store, 'nothing/')).toEqual([]);
      const infos: Array<{ key: string; size: number }> = [];
      for await (const o of store.list('b/')) infos.push({ key: o.key, size: o.size });
      expect(infos).toEqual([{ key: 'b/2', size: 3 }]);
    });

    it('lists the project layout: blobs and manifests apart', async () => {
      const shas = ['00', 'ab', 'ff'].map((p) => p + 'e'.repeat(62));
      for (const s of shas) await store.put(blobKey(s), Buffer.from(s), { ifAbsent: true });
      const m = manifestKey('ci', '01J9Z8X7W6V5T4S3R2Q1P0NMKJ');
      await store.put(m, Buffer.from('{}'));
      expect(await keysOf(store, 'blobs/sha256/')).toEqual(shas.map((sha) => blobKey(sha)));
      expect(await keysOf(store, 'snapshots/ci/')).toEqual([m]);
    });

    it('deletes an object, and deleting a missing one is not an error', async () => {
      await store.put('del/me', Buffer.from('x'));
      await store.delete('del/me');
      expect(await store.exists('del/me')).toBe(false);
      expect(await keysOf(store, 'del/')).toEqual([]);
      await expect(store.delete('del/me')).resolves.toBe(true);
      await expect(store.delete('never/was')).resolves.toBe(true);
    });

    it('touch moves updated and keeps the content; null for a missing object', async () => {
      await store.put('touch/me', Buffer.from('same bytes'), { metadata: { sha256: 'abc' } });
      const before = (await store.stat('touch/me'))!;
      await new Promise((r) => setTimeout(r, 20));
      const touched = await store.touch('touch/me');
      expect(touched).not.toBeNull();
      expect(touched!.updated.getTime()).toBeGreaterThan(before.updated.getTime());
      const after = (await store.stat('touch/me'))!;
      expect(after.updated.getTime()).toBe(touched!.updated.getTime());
      expect(after.metadata?.['sha256']).toBe('abc');
      expect((await store.get('touch/me')).toString()).toBe('same bytes');
      expect(await store.touch('never/was')).toBeNull();
    });

    it("reports the store's creation time of an object, which a touch or a listing never moves", async () => {
      const before = Date.now();
      await store.put('born/here', Buffer.from('x'), { ifAbsent: true });
      const after = Date.now();
      const info = (await store.stat('born/here'))!;
      // the store's clock: within the put (a second of slack for filesystem timestamp granularity)
      expect(info.created).toBeInstanceOf(Date);
      expect(info.created!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(info.created!.getTime()).toBeLessThanOrEqual(after + 1_000);
      await new Promise((r) => setTimeout(r, 20));
      await store.touch('born/here');
      expect((await store.stat('born/here'))!.created!.getTime()).toBe(info.created!.getTime());
      const listed = [];
      for await (const o of store.list('born/')) listed.push(o);
      expect(listed.map((o) => o.created?.getTime())).toEqual([info.created!.getTime()]);
    });

    it('deletes ifUnchanged only when nothing touched or rewrote the object since the stat', async () => {
      await store.put('cond/touched', Buffer.from('a'));
      const seenTouched = (await store.stat('cond/touched'))!;
      await new Promise((r) => setTimeout(r, 20));
      await store.touch('cond/touched');
      await expect(store.delete('cond/touched', { ifUnchanged: seenTouched })).resolves.toBe(false);
      expect(await store.exists('cond/touched')).toBe(true);

      await store.put('cond/rewritten', Buffer.from('a'));
      const seenRewritten = (await store.stat('cond/rewritten'))!;
      await new Promise((r) => setTimeout(r, 20));
      await store.put('cond/rewritten', Buffer.from('b'));
      await expect(store.delete('cond/rewritten', { ifUnchanged: seenRewritten })).resolves.toBe(false);
      expect(await store.exists('cond/rewritten')).toBe(true);

      const current = (await store.stat('cond/rewritten'))!;
      await expect(store.delete('cond/rewritten', { ifUnchanged: current })).resolves.toBe(true);
      expect(await store.exists('cond/rewritten')).toBe(false);
      await expect(store.delete('cond/rewritten', { ifUnchanged: current })).resolves.toBe(true);
    });

    it('fails with OBJECT_NOT_FOUND for a missing object on get and getStream', async () => {
      const e1 = await expectAppError(store.get('missing/key.gz'), 'OBJECT_NOT_FOUND');
      expect(e1.message).toContain('missing/key.gz');
      expect(e1.transient).toBe(false);
      await expectAppError(store.getStream('missing/key.gz'), 'OBJECT_NOT_FOUND');
    });

    it('create-only: a second put keeps the first content and says created: false', async () => {
      const key = blobKey('c'.repeat(64));
      expect(await store.put(key, Buffer.from('original'), { ifAbsent: true })).toEqual({ created: true, bytes: 8 });
      expect(await store.put(key, Buffer.from('replacement!'), { ifAbsent: true })).toEqual({ created: false, bytes: 0 });
      expect(await store.put(key, Readable.from([Buffer.from('streamed replacement')]), { ifAbsent: true })).toEqual({ created: false, bytes: 0 });
      expect((await store.get(key)).toString()).toBe('original');
    });

    it('create-only: of two concurrent puts of the same key exactly one creates it', async () => {
      for (let round = 0; round < 5; round++) {
        const key = `race/${round}`;
        const bodies = [Buffer.from(`writer-A-${round}`), Buffer.from(`writer-B-${round}-longer`)];
        const results = await Promise.all(bodies.map((b) => store.put(key, b, { ifAbsent: true })));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const winner = results.findIndex((r) => r.created);
        expect((await store.get(key)).equals(bodies[winner]!)).toBe(true);
      }
    });

    it('streams a large body (40 MiB) without reading far ahead of what is stored', async () => {
      const size = 40 * MiB;
      let maxLag = 0;
      const body = generatedStream(size, async (produced) => {
        maxLag = Math.max(maxLag, produced - (await h.bytesPersisted()));
      });
      const result = await store.put('large/blob.gz', body.stream, { ifAbsent: true });
      expect(result).toEqual({ created: true, bytes: size });
      expect(maxLag).toBeLessThanOrEqual(h.maxReadAhead);
      const back = createHash('sha256');
      let n = 0;
      for await (const chunk of await store.getStream('large/blob.gz')) {
        back.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      expect(n).toBe(size);
      expect(back.digest('hex')).toBe(body.sha256());
      expect((await store.stat('large/blob.gz'))?.size).toBe(size);
    });

    it('a body stream that fails mid-way rejects with its error and leaves no object visible', async () => {
      let sent = 0;
      const failing = new Readable({
        read() {
          if (sent >= 3) {
            this.destroy(new Error('disk read failed while snapshotting'));
            return;
          }
          sent++;
          this.push(Buffer.alloc(64 * 1024, sent));
        },
      });
      await expect(store.put('half/written.gz', failing, { ifAbsent: true })).rejects.toThrow('disk read failed while snapshotting');
      expect(await store.exists('half/written.gz')).toBe(false);
      expect(await keysOf(store, '')).toEqual([]);
      // And the key is still free for a good upload.
      expect(await store.put('half/written.gz', Buffer.from('ok'), { ifAbsent: true })).toEqual({ created: true, bytes: 2 });
    });

    it('rejects invalid keys before any I/O', async () => {
      const bad = ['', '/abs/key', 'a//b', 'a/../b', '..', './a', 'a/', 'nul\0byte', 'back\\slash', 'x'.repeat(1025)];
      for (const key of bad) {
        await expectAppError(store.put(key, Buffer.from('x')), 'VALUE_INVALID');
        await expectAppError(store.get(key), 'VALUE_INVALID');
        await expectAppError(store.stat(key), 'VALUE_INVALID');
        await expectAppError(store.delete(key), 'VALUE_INVALID');
      }
      expect(await keysOf(store, '')).toEqual([]);
    });
  });
}

describe('GcsBlobStore against the JSON-API server (real client)', () => {
  const bucket = 'gcs-specific';
  const storeWith = (retry = { maxRetries: 4, maxDelayMs: 50 }, prefix = 'p') =>
    new GcsBlobStore({ bucket, prefix, storageOptions: gcsStorageOptions(), retry });

  beforeAll(() => {
    gcsServer.createBucket(bucket);
  });
  afterEach(() => {
    gcsServer.setFaults({});
  });

  it('keeps objects under the prefix in the bucket and strips it when listing', async () => {
    const store = storeWith(undefined, 'team/aqe');
    await store.put('snapshots/x', Buffer.from('1'));
    expect(gcsServer.objects(bucket).get('team/aqe/snapshots/x')?.toString()).toBe('1');
    expect(await keysOf(store, 'snapshots/')).toEqual(['snapshots/x']);
    expect(store.url).toBe('gs://gcs-specific/team/aqe');
  });

  it('uses one request for a small body and a resumable session for a large or unsized one', async () => {
    const store = storeWith();
    const sessions = gcsServer.resumableSessions;
    await store.put('small/buffer', Buffer.alloc(1000));
    await store.put('small/sized-stream', Readable.from([Buffer.alloc(1000)]), { size: 1000 });
    expect(gcsServer.resumableSessions).toBe(sessions);
    await store.put('big/unsized-stream', Readable.from([Buffer.alloc(1000)]));
    await store.put('big/buffer', Buffer.alloc(9 * MiB, 3));
    expect(gcsServer.resumableSessions).toBe(sessions + 2);
    expect((await store.get('big/buffer')).equals(Buffer.alloc(9 * MiB, 3))).toBe(true);
  });

  it('survives injected 503 and 429 responses on uploads, metadata, lists and downloads', async () => {
    const store = storeWith();
    gcsServer.setFaults({ status: { code: 503, next: 2 } });
    expect(await store.put('retry/a', Buffer.from('alpha'), { ifAbsent: true })).toEqual({ created: true, bytes: 5 });
    expect(gcsServer.faultsInjected).toBeGreaterThanOrEqual(2);
    const injected = gcsServer.faultsInjected;
    gcsServer.setFaults({ status: { code: 429, next: 1 } });
    expect((await store.stat('retry/a'))?.size).toBe(5);
    gcsServer.setFaults({ status: { code: 429, next: 1 } });
    expect(await keysOf(store, 'retry/')).toEqual(['retry/a']);
    gcsServer.setFaults({ status: { code: 503, next: 1 } });
    expect((await store.get('retry/a')).toString()).toBe('alpha');
    expect(gcsServer.faultsInjected).toBe(injected + 3);
  });

  it('survives a connection dropped mid-download', async () => {
    const store = storeWith();
    const body = Buffer.alloc(300_000, 9);
    await store.put('drop/download', body);
    gcsServer.setFaults({ drop: { next: 1 }, when: (r) => r.kind === 'download' });
    expect((await store.get('drop/download')).equals(body)).toBe(true);
    expect(gcsServer.faultsInjected).toBeGreaterThan(0);
  });

  it('survives a connection dropped after an upload chunk was stored, resuming the session', async () => {
    const store = storeWith();
    const size = 20 * MiB;
    const body = generatedStream(size);
    gcsServer.setFaults({ drop: { next: 1 }, when: (r) => r.kind === 'upload-chunk' });
    const before = gcsServer.faultsInjected;
    expect(await store.put('drop/resumable', body.stream, { ifAbsent: true })).toEqual({ created: true, bytes: size });
    expect(gcsServer.faultsInjected).toBe(before + 1);
    expect(sha(gcsServer.objects(bucket).get('p/drop/resumable')!)).toBe(body.sha256());
  });

  it('survives a dropped connection on a single-request upload', async () => {
    const store = storeWith();
    gcsServer.setFaults({ drop: { next: 1 }, when: (r) => r.kind === 'upload' });
    expect(await store.put('drop/simple', Buffer.from('manifest bytes'))).toEqual({ created: true, bytes: 14 });
    expect((await store.get('drop/simple')).toString()).toBe('manifest bytes');
  });

  it('turns a stalled download into a transient error, and get() retries past it', async () => {
    const store = new GcsBlobStore({ bucket, prefix: 'p', storageOptions: gcsStorageOptions(), retry: { maxRetries: 2, maxDelayMs: 50 }, stallTimeoutMs: 300 });
    await store.put('stall/a', Buffer.from('patience'));
    gcsServer.setFaults({ delay: { ms: 1500, next: 1 }, when: (r) => r.kind === 'download' });
    expect((await store.get('stall/a')).toString()).toBe('patience');
    gcsServer.setFaults({ delay: { ms: 1500 }, when: (r) => r.kind === 'download' });
    const err = await expectAppError(store.getStream('stall/a'), 'BUCKET_UNREACHABLE');
    expect(err.transient).toBe(true);
  });

  it('works through slow responses', async () => {
    const store = storeWith();
    gcsServer.setFaults({ delay: { ms: 150 } });
    await store.put('slow/a', Buffer.from('s'), { ifAbsent: true });
    expect((await store.get('slow/a')).toString()).toBe('s');
  });

  it('gives up on a persistent 500 after the retry budget with a clear transient error', async () => {
    const store = storeWith({ maxRetries: 2, maxDelayMs: 50 });
    gcsServer.setFaults({ status: { code: 500 } });
    const before = gcsServer.requests;
    const err = await expectAppError(store.put('down/a', Buffer.from('x'), { ifAbsent: true }), 'BUCKET_UNREACHABLE');
    expect(err.transient).toBe(true);
    expect(err.message).toContain('gs://gcs-specific/p/down/a');
    expect(err.message).toMatch(/HTTP 500|retry/i);
    const attempts = gcsServer.requests - before;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(3 * 3); // bounded: (1 + retries) per layer at most
    const getErr = await expectAppError(store.stat('down/a'), 'BUCKET_UNREACHABLE');
    expect(getErr.transient).toBe(true);
  });

  it('maps 401/403 to BUCKET_AUTH with credential advice and no token in the message', async () => {
    const store = storeWith({ maxRetries: 1, maxDelayMs: 50 });
    gcsServer.setFaults({ status: { code: 403 } });
    const err = await expectAppError(store.put('auth/a', Buffer.from('x')), 'BUCKET_AUTH');
    expect(err.message).toContain('gcloud auth application-default login');
    expect(err.message).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    expect(err.message).toContain('storage.objects.create');
    expect(err.transient).toBe(false);
    expect(err.message).not.toMatch(/ya29\.|Bearer /);
    const probe = await expectAppError(store.check('blobs/sha256/00/none.gz'), 'BUCKET_AUTH');
    expect(probe.message).toContain('storage.objects.get');
    const touch = await expectAppError(store.touch('blobs/sha256/00/none.gz'), 'BUCKET_AUTH');
    expect(touch.message).toContain('storage.objects.update');
  });

  it('fails with BUCKET_NOT_FOUND for a bucket that does not exist', async () => {
    const store = new GcsBlobStore({ bucket: 'no-such-bucket', storageOptions: gcsStorageOptions(), retry: { maxDelayMs: 50 } });
    for (const call of [() => store.check(), () => store.check('blobs/x'), () => store.put('a', Buffer.from('x')), () => store.get('a'), () => store.stat('a'), () => store.touch('a'), () => store.delete('a'), () => keysOf(store, '')]) {
      const err = await expectAppError(call(), 'BUCKET_NOT_FOUND');
      expect(err.message).toContain('no-such-bucket');
    }
  });

  it('detects a corrupted download with the crc32c check', async () => {
    const store = storeWith({ maxRetries: 1, maxDelayMs: 50 });
    await store.put('corrupt/download', Buffer.alloc(5000, 5));
    gcsServer.setFaults({ corrupt: {}, when: (r) => r.kind === 'download' });
    const err = await expectAppError(store.get('corrupt/download'), 'CHECKSUM_MISMATCH');
    expect(err.transient).toBe(true);
    const stream = await store.getStream('corrupt/download');
    await expect(collect(stream)).rejects.toSatisfy((e: unknown) => isAppError(e, 'CHECKSUM_MISMATCH'));
  });

  it('detects an upload stored with different bytes and leaves no object behind', async () => {
    const store = storeWith({ maxRetries: 1, maxDelayMs: 50 });
    gcsServer.setFaults({ corrupt: {}, when: (r) => r.kind === 'upload' || r.kind === 'upload-chunk' });
    await expectAppError(store.put('corrupt/upload', Buffer.from('precious bytes'), { ifAbsent: true }), 'CHECKSUM_MISMATCH');
    gcsServer.setFaults({});
    expect(gcsServer.objects(bucket).has('p/corrupt/upload')).toBe(false);
  });
});

describe('LocalDirBlobStore on the filesystem', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aqe-local-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps one plain file per key and nothing else visible outside its hidden folder', async () => {
    const store = new LocalDirBlobStore(join(dir, 'b'));
    const key = blobKey('d'.repeat(64));
    await store.put(key, Buffer.from('gz bytes'), { ifAbsent: true });
    expect(await readFile(join(dir, 'b', 'blobs', 'sha256', 'dd', `${'d'.repeat(64)}.gz`), 'utf8')).toBe('gz bytes');
    expect((await readdir(join(dir, 'b'))).sort()).toEqual(['.aqe-store', 'blobs']);
    expect(await readdir(join(dir, 'b', '.aqe-store', 'tmp'))).toEqual([]);
    expect(store.url).toBe(`file://${join(dir, 'b')}`);
  });

  it('a publish that fails (a key whose folder is a file) leaves no object and no temp file', async () => {
    const store = new LocalDirBlobStore(join(dir, 'b'));
    await store.put('a', Buffer.from('file'));
    await expectAppError(store.put('a/b', Buffer.alloc(100_000)), 'VALUE_INVALID');
    await expectAppError(store.put('a/b', Buffer.alloc(10), { ifAbsent: true }), 'VALUE_INVALID');
    expect(await keysOf(store, '')).toEqual(['a']);
    expect(await readdir(join(dir, 'b', '.aqe-store', 'tmp'))).toEqual([]);
  });

  it('a create-only put onto a folder of other keys fails instead of claiming the key exists', async () => {
    const store = new LocalDirBlobStore(join(dir, 'b'));
    await store.put('x/y', Buffer.from('1'));
    await expectAppError(store.put('x', Buffer.from('2'), { ifAbsent: true }), 'VALUE_INVALID');
  });

  it('check() fails clearly when the root cannot be created', async () => {
    await writeFile(join(dir, 'file'), 'not a dir');
    const store = new LocalDirBlobStore(join(dir, 'file', 'bucket'));
    const err = await expectAppError(store.check(), 'BUCKET_UNREACHABLE');
    expect(err.message).toContain(join(dir, 'file'));
  });

  it('create-only puts racing from separate processes: exactly one process creates each key', async () => {
    const root = join(dir, 'shared-bucket');
    const storeUrl = pathToFileURL(join(process.cwd(), 'functions/storage/local-dir-blob-store.ts')).href;
    const script = `
      const { LocalDirBlobStore } = await import(${JSON.stringify(storeUrl)});
      const store = new LocalDirBlobStore(${JSON.stringify(root)});
      const created = [];
      for (let i = 0; i < 30; i++) {
        const r = await store.put('blobs/race/' + i, Buffer.from('writer ' + process.argv[1] + ' key ' + i), { ifAbsent: true });
        if (r.created) created.push(i);
      }
      process.stdout.write(JSON.stringify(created));
    `;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const runs = await Promise.all(
      ['A', 'B', 'C'].map(
        (writer) =>
          new Promise<{ writer: string; created: number[] }>((resolve, reject) => {
            execFile(process.execPath, ['--import', tsx, '--input-type=module', '-e', script, writer], (err, stdout) =>
              err ? reject(err) : resolve({ writer, created: JSON.parse(stdout) as number[] }),
            );
          }),
      ),
    );
    const store = new LocalDirBlobStore(root);
    for (let i = 0; i < 30; i++) {
      const creators = runs.filter((r) => r.created.includes(i));
      expect(creators).toHaveLength(1);
      expect((await store.get(`blobs/race/${i}`)).toString()).toBe(`writer ${creators[0]!.writer} key ${i}`);
    }
    expect(await readdir(join(root, '.aqe-store', 'tmp'))).toEqual([]);
  });

  it('refuses a relative root', () => {
    expect(() => new LocalDirBlobStore('relative/dir')).toThrow(AppError);
  });
});

describe('parseBucketUrl and openBlobStore', () => {
  it('parses gs:// URLs with and without a prefix', () => {
    expect(parseBucketUrl('gs://my-bucket')).toEqual({ scheme: 'gs', bucket: 'my-bucket', prefix: '' });
    expect(parseBucketUrl('gs://my-bucket/')).toEqual({ scheme: 'gs', bucket: 'my-bucket', prefix: '' });
    expect(parseBucketUrl('gs://my_bucket.example.com/aqe/team//')).toEqual({ scheme: 'gs', bucket: 'my_bucket.example.com', prefix: 'aqe/team' });
  });

  it('parses file:// URLs to absolute directories', () => {
    expect(parseBucketUrl('file:///var/lib/aqe/')).toEqual({ scheme: 'file', dir: '/var/lib/aqe' });
    expect(parseBucketUrl('file:///tmp/with%20space')).toEqual({ scheme: 'file', dir: '/tmp/with space' });
  });

  it.each([
    ['', 'empty'],
    ['gs://', 'no bucket name'],
    ['gs://ab', 'at least 3'],
    ['gs://My-Bucket', 'lowercase'],
    ['gs://-bucket', 'starts and ends'],
    ['gs://goog-bucket', 'goog'],
    ['gs://my-google-bucket', 'google'],
    ['gs://192.168.1.1', 'IP address'],
    [`gs://${'a'.repeat(64)}`, 'at most 63'],
    ['gs://bucket/a/../b', '".."'],
    ['s3://bucket/x', 'unsupported scheme "s3:"'],
    ['file://relative/dir', 'absolute path'],
    ['/var/lib/aqe', 'did you mean file:///var/lib/aqe'],
    ['bucket-name', 'not a URL'],
  ])('rejects %j saying what was expected', (url, why) => {
    let err: unknown;
    try {
      parseBucketUrl(url);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'BUCKET_URL_INVALID')).toBe(true);
    const message = (err as AppError).message;
    expect(message).toContain(why);
    expect(message).toContain('gs://bucket[/prefix] or file:///absolute/dir');
    expect(message.split('\n').at(-1)).toBe('Try: aqe-upload push --bucket gs://my-bucket/aqe');
  });

  it('opens a local store for file:// and a GCS store for gs://', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aqe-open-'));
    try {
      const local = await openBlobStore(`file://${dir}/bucket`);
      expect(local).toBeInstanceOf(LocalDirBlobStore);
      await local.put('k', Buffer.from('v'));
      expect((await local.get('k')).toString()).toBe('v');
      gcsServer.createBucket('opened-bucket');
      const gcs = await openBlobStore('gs://opened-bucket/pre', { gcs: gcsStorageOptions(), gcsRetry: { maxDelayMs: 50 } });
      expect(gcs).toBeInstanceOf(GcsBlobStore);
      expect(gcs.url).toBe('gs://opened-bucket/pre');
      await gcs.put('k', Buffer.from('v'));
      expect(gcsServer.objects('opened-bucket').get('pre/k')?.toString()).toBe('v');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
