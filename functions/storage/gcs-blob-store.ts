// The Cloud Storage BlobStore (`gs://bucket[/prefix]`) over the official client: create-only puts
// via ifGenerationMatch=0, crc32c-validated transfers, resumable uploads for large or unsized
// bodies, and the client's own exponential-backoff retries within a bounded budget.

import { type CreateWriteStreamOptions, IdempotencyStrategy, type File, type FileMetadata, Storage, type StorageOptions } from '@google-cloud/storage';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError } from '../../schema/errors.js';
import type { BlobStore, DeleteOptions, ObjectInfo, PutOptions, PutResult } from './blob-store.js';
import { isPreconditionFailed, isRetryableGcsError, toGcsAppError } from './gcs-error.js';
import { assertValidListPrefix, assertValidObjectKey } from './local-dir-blob-store.js';

/** Bodies larger than this (or of unknown size) go through a resumable upload. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;
/** Resumable uploads send chunks of this size (a multiple of 256 KiB); a failed chunk is re-sent from memory. */
export const RESUMABLE_CHUNK_BYTES = 8 * 1024 * 1024;

/** Retry budget for every Cloud Storage call (exponential backoff with jitter). */
export interface GcsRetryOptions {
  /** Retries per request after the first attempt (default 6). */
  maxRetries?: number;
  /** Backoff multiplier between attempts (default 2). */
  delayMultiplier?: number;
  /** Longest single wait between attempts, in ms (default 32 000; the client's own waits are at least ~1 s). */
  maxDelayMs?: number;
  /** Give up after this much time for one operation, in ms (default 300 000). */
  totalTimeoutMs?: number;
}

export interface GcsBlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` ('' for the bucket root). */
  prefix?: string;
  /**
   * Client options. Default: Application Default Credentials against storage.googleapis.com.
   * Tests pass `{ apiEndpoint: server.endpoint, projectId: 'test' }`: a custom endpoint makes
   * the client skip authentication (unless `useAuthWithCustomEndpoint`).
   */
  storageOptions?: StorageOptions;
  retry?: GcsRetryOptions;
  /** Resumable upload chunk size in bytes, a multiple of 256 KiB (default 8 MiB). The client keeps about two chunks in memory. */
  resumableChunkBytes?: number;
  /** A download that receives no bytes for this long fails with a transient error (default 60 000 ms). */
  stallTimeoutMs?: number;
}

const DEFAULT_RETRY: Required<GcsRetryOptions> = { maxRetries: 6, delayMultiplier: 2, maxDelayMs: 32_000, totalTimeoutMs: 300_000 };

/**
 * BlobStore on a Cloud Storage bucket.
 * @example const store = new GcsBlobStore({ bucket: 'my-bucket', prefix: 'aqe' }); // ADC
 * @example new GcsBlobStore({ bucket: 'b', storageOptions: { apiEndpoint: 'http://127.0.0.1:4443', projectId: 'test' } })
 */
export class GcsBlobStore implements BlobStore {
  readonly url: string;
  readonly bucketName: string;
  readonly prefix: string;
  private readonly storage: Storage;
  private readonly retry: Required<GcsRetryOptions>;
  private readonly chunkBytes: number;
  private readonly stallTimeoutMs: number;

  constructor(options: GcsBlobStoreOptions) {
    this.bucketName = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.url = `gs://${this.bucketName}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
    this.chunkBytes = options.resumableChunkBytes ?? RESUMABLE_CHUNK_BYTES;
    if (!Number.isInteger(this.chunkBytes) || this.chunkBytes <= 0 || this.chunkBytes % (256 * 1024) !== 0) {
      throw new AppError('CONFIG_INVALID', `resumableChunkBytes: expected a positive multiple of 262144 (256 KiB), got ${this.chunkBytes}`);
    }
    this.stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
    const retryOptions: NonNullable<StorageOptions['retryOptions']> = {
      autoRetry: this.retry.maxRetries > 0,
      // The client treats 0 as "use the default": autoRetry=false above is what disables retries.
      maxRetries: Math.max(1, this.retry.maxRetries),
      retryDelayMultiplier: this.retry.delayMultiplier,
      // Seconds; the client's backoff starts at ~1 s and its async-retry rejects a cap below that.
      maxRetryDelay: Math.max(1, this.retry.maxDelayMs / 1000),
      totalTimeout: this.retry.totalTimeoutMs / 1000,
      retryableErrorFn: isRetryableGcsError,
      // Every write this project makes is safe to repeat: blobs are create-only and content-addressed,
      // manifests and reports are written once with the same bytes. RetryAlways also keeps the client
      // from flipping its shared autoRetry flag per call, which races between concurrent uploads.
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      ...options.storageOptions?.retryOptions,
    };
    this.storage = new Storage({ ...options.storageOptions, retryOptions });
  }

  private objectName(key: string): string {
    assertValidObjectKey(key);
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  private file(name: string): File {
    return this.storage.bucket(this.bucketName).file(name);
  }

  private fail(err: unknown, op: string, objectName?: string, permission?: string): AppError {
    return toGcsAppError(err, {
      op,
      url: this.url,
      bucket: this.bucketName,
      ...(objectName === undefined ? {} : { objectName }),
      ...(permission === undefined ? {} : { permission }),
    });
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<PutResult> {
    const name = this.objectName(key);
    const metadata: FileMetadata = { contentType: options.contentType ?? 'application/octet-stream' };
    if (options.metadata !== undefined) metadata.metadata = { ...options.metadata };
    const writeOptions = (resumable: boolean): CreateWriteStreamOptions => ({
      metadata,
      resumable,
      chunkSize: this.chunkBytes,
      // The client checks the crc32c it computed against the one the server stored.
      validation: 'crc32c',
      ...(options.ifAbsent ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
    });
    try {
      let payload: Buffer | Readable = body;
      // A small stream of known size is read into memory so the whole upload can be retried.
      if (!Buffer.isBuffer(body) && options.size !== undefined && options.size <= RESUMABLE_THRESHOLD_BYTES) {
        payload = await readAll(body, RESUMABLE_THRESHOLD_BYTES);
      }
      if (Buffer.isBuffer(payload)) {
        const buffer = payload;
        // In memory, the whole upload can be repeated (resumable ones also retry each chunk).
        await this.withRetry('put', name, 'storage.objects.create', () => this.upload(name, buffer, writeOptions(buffer.length > RESUMABLE_THRESHOLD_BYTES)));
        return { created: true, bytes: buffer.length };
      }
      // A stream can be consumed once: a chunked resumable upload retries each chunk from memory.
      const counted = countBytes(payload);
      try {
        await this.upload(name, counted.stream, writeOptions(true));
      } catch (err) {
        // The response to the last chunk can be lost after the server stored the object: the client
        // then misreads the status query ("offset is lower than the number of bytes written"). A
        // create-only object of exactly the bytes sent exists only if this upload (or an identical
        // content-addressed one) completed: the put succeeded.
        if (!(err instanceof SourceStreamError) && options.ifAbsent) {
          const stored = await this.stat(key).catch(() => null);
          if (stored !== null && stored.size === counted.bytes()) return { created: true, bytes: stored.size };
        }
        throw err;
      }
      return { created: true, bytes: counted.bytes() };
    } catch (err) {
      if (err instanceof SourceStreamError) throw err.original;
      // 412 on a create-only put: the object exists (possibly written by our own earlier attempt
      // whose response was lost); either way nothing was overwritten.
      if (options.ifAbsent && (isPreconditionFailed(err) || isAppError(err, 'PRECONDITION_FAILED'))) return { created: false, bytes: 0 };
      throw this.fail(err, 'put', name, 'storage.objects.create');
    }
  }

  /** One upload attempt: resolves once the server stored the object and its checksum matched. */
  private upload(name: string, body: Buffer | Readable, options: CreateWriteStreamOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const sink = this.file(name).createWriteStream(options);
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        if (err === undefined) return resolve();
        if (!Buffer.isBuffer(body)) body.unpipe(sink);
        sink.destroy();
        reject(err);
      };
      sink.once('error', finish);
      sink.once('finish', () => finish());
      if (Buffer.isBuffer(body)) {
        sink.end(body);
      } else {
        // The caller's stream failing is the caller's error: rethrown as is, not as a bucket error.
        body.once('error', (err) => finish(new SourceStreamError(err)));
        body.pipe(sink);
      }
    });
  }

  async get(key: string): Promise<Buffer> {
    const name = this.objectName(key);
    // The client retries a download only until its headers arrive; a body cut mid-way is retried here.
    return this.withRetry('get', name, 'storage.objects.get', async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of await this.openDownload(name)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  async getStream(key: string): Promise<Readable> {
    return this.openDownload(this.objectName(key));
  }

  /**
   * Starts a crc32c-validated download; resolves once the server answered 2xx, so a missing
   * object fails here. Errors later in the body (cut connection, checksum mismatch, stall) are
   * AppErrors on the returned stream.
   */
  private async openDownload(name: string): Promise<Readable> {
    const source = this.file(name).createReadStream({ validation: 'crc32c' });
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    // node-fetch v2 (under the client) can wait forever on a Content-Length body whose connection
    // was cut: a stall watchdog turns that into a transient error.
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // A consumer that stopped reading is not a stalled connection.
        if (source.isPaused() || out.writableNeedDrain) return arm();
        source.destroy(Object.assign(new Error(`no data for ${this.stallTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, this.stallTimeoutMs);
      timer.unref();
    };
    const disarm = () => clearTimeout(timer);
    source.on('data', arm);
    source.once('end', disarm);
    source.once('close', disarm);
    out.once('close', () => {
      disarm();
      source.destroy();
    });
    arm();
    await new Promise<void>((resolve, reject) => {
      let started = false;
      source.once('response', (res: { statusCode?: number; status?: number }) => {
        const status = res.statusCode ?? res.status ?? 200;
        if (status >= 200 && status < 300) {
          started = true;
          resolve();
        }
        // otherwise the client follows with an 'error' carrying the body
      });
      source.on('error', (err: unknown) => {
        disarm();
        const mapped = this.fail(err, 'get', name, 'storage.objects.get');
        if (started) out.destroy(mapped);
        else reject(mapped);
      });
      source.pipe(out);
    });
    return out;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const name = this.objectName(key);
    try {
      const [metadata] = await this.file(name).getMetadata();
      return this.infoOf(key, metadata);
    } catch (err) {
      const mapped = this.fail(err, 'stat', name, 'storage.objects.get');
      if (mapped.code === 'OBJECT_NOT_FOUND') return null;
      throw mapped;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidListPrefix(prefix);
    const fullPrefix = this.prefix === '' ? prefix : `${this.prefix}/${prefix}`;
    const bucket = this.storage.bucket(this.bucketName);
    let pageToken: string | undefined;
    do {
      let files: File[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = await bucket.getFiles({ prefix: fullPrefix, autoPaginate: false, maxResults: 1000, ...(pageToken === undefined ? {} : { pageToken }) });
      } catch (err) {
        throw this.fail(err, 'list', undefined, 'storage.objects.list');
      }
      // GCS lists in lexicographic (UTF-8 byte) order, which is the contract's key order.
      for (const f of files) {
        const key = this.prefix === '' ? f.name : f.name.slice(this.prefix.length + 1);
        yield this.infoOf(key, f.metadata);
      }
      pageToken = next?.pageToken;
    } while (pageToken !== undefined);
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    const name = this.objectName(key);
    const seen = options.ifUnchanged;
    try {
      // Not ignoreNotFound: a missing bucket must still fail; only a missing object is fine.
      await this.file(name).delete({
        ...(seen?.generation !== undefined ? { ifGenerationMatch: seen.generation } : {}),
        ...(seen?.metageneration !== undefined ? { ifMetagenerationMatch: seen.metageneration } : {}),
      });
      return true;
    } catch (err) {
      const mapped = this.fail(err, 'delete', name, 'storage.objects.delete');
      if (seen && mapped.code === 'PRECONDITION_FAILED') return false;
      if (mapped.code !== 'OBJECT_NOT_FOUND') throw mapped;
      return true;
    }
  }

  async touch(key: string): Promise<ObjectInfo | null> {
    const name = this.objectName(key);
    try {
      // a metadata patch: moves `updated` and the metageneration, leaves content and generation
      const [metadata] = await this.file(name).setMetadata({ metadata: { lastUsedAt: new Date().toISOString() } });
      return this.infoOf(key, metadata);
    } catch (err) {
      const mapped = this.fail(err, 'touch', name, 'storage.objects.update');
      if (mapped.code === 'OBJECT_NOT_FOUND') return null;
      throw mapped;
    }
  }

  async check(probeKey?: string): Promise<void> {
    if (probeKey !== undefined) {
      // storage.objects.get on one key: a missing object is fine, a missing bucket (404 "bucket
      // does not exist") or denied access (403) is not
      const name = this.objectName(probeKey);
      try {
        await this.file(name).getMetadata();
      } catch (err) {
        if (this.fail(err, 'check', name, 'storage.objects.get').code === 'OBJECT_NOT_FOUND') return;
        // reported for the bucket: the probe key is an implementation detail
        throw this.fail(err, 'check', undefined, 'storage.objects.get');
      }
      return;
    }
    // Listing needs only storage.objects.list (which an uploader with create-only access may lack
    // on the whole bucket, so only the store's own prefix is listed) and proves the bucket exists.
    const bucket = this.storage.bucket(this.bucketName);
    try {
      await bucket.getFiles({ prefix: this.prefix === '' ? '' : `${this.prefix}/`, autoPaginate: false, maxResults: 1 });
    } catch (err) {
      throw this.fail(err, 'check', undefined, 'storage.objects.list');
    }
  }

  private infoOf(key: string, m: FileMetadata): ObjectInfo {
    const info: ObjectInfo = {
      key,
      size: Number(m.size ?? 0),
      updated: new Date(String(m.updated ?? m.timeCreated ?? 0)),
    };
    if (m.timeCreated !== undefined && m.timeCreated !== null) info.created = new Date(String(m.timeCreated));
    if (m.generation !== undefined) info.generation = String(m.generation);
    if (m.metageneration !== undefined) info.metageneration = String(m.metageneration);
    if (m.metadata && typeof m.metadata === 'object') {
      const entries = Object.entries(m.metadata).filter((e): e is [string, string | number | boolean] => e[1] !== null && e[1] !== undefined);
      if (entries.length > 0) info.metadata = Object.fromEntries(entries.map(([k, v]) => [k, String(v)]));
    }
    return info;
  }

  /** Repeats `fn` on transient errors with exponential backoff and jitter, within the retry budget. */
  private async withRetry<T>(op: string, name: string, permission: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof SourceStreamError) throw err;
        const mapped = this.fail(err, op, name, permission);
        const delay = Math.min(this.retry.maxDelayMs, 1000 * this.retry.delayMultiplier ** attempt) * (0.5 + Math.random() / 2);
        const budgetLeft = attempt < this.retry.maxRetries && Date.now() - started + delay < this.retry.totalTimeoutMs;
        if (!mapped.transient || !budgetLeft) throw mapped;
        await sleep(delay);
      }
    }
  }
}

class SourceStreamError extends Error {
  constructor(readonly original: unknown) {
    super('body stream failed');
  }
}

/** Counts the bytes flowing through a stream without buffering them. */
function countBytes(stream: Readable): { stream: Readable; bytes: () => number } {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  stream.once('error', (err) => counter.destroy(err));
  return { stream: stream.pipe(counter), bytes: () => bytes };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Reads a stream expected to be small; fails rather than buffer more than `limit` bytes. */
async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      total += buf.length;
      if (total > limit) {
        stream.destroy();
        throw new AppError('VALUE_INVALID', `put: body is larger than its declared size (more than ${limit} bytes)`);
      }
      chunks.push(buf);
    }
  } catch (err) {
    throw err instanceof AppError ? err : new SourceStreamError(err);
  }
  return Buffer.concat(chunks, total);
}
