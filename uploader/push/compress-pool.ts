// Compression on worker threads: a push cuts, hashes and uploads on the main thread while up to
// one worker per core compresses chunks. A chunk read back from the snapshot copy is hashed again
// on the worker before it is compressed: a blob's key is its sha256, so bytes that no longer match
// (the copy changed under us) must never be stored under it. The worker's code is plain JavaScript handed to it as
// text (eval), so the same pool runs from the TypeScript sources (tests, bench) and from the
// built CLI; it resolves the codec exactly as functions/storage/blob-codec.ts does. A worker also
// runs a SQLite copy's integrity check (quick_check, read-only) while the main thread reads the
// copy: that check reads the whole file, and on the main thread it stalled the push.

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { compressSync, GZIP_LEVEL, ZSTD_LEVEL } from '../../functions/storage/blob-codec.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { CHUNKING } from '../snapshot/content-chunks.js';
import { QUICK_CHECK_SQL } from '../snapshot/sqlite-snapshot.js';
import type { BlobCodec } from '../../schema/snapshot/object-keys.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const { createHash } = require('node:crypto');
let napi = null;
if (typeof zlib.zstdCompressSync !== 'function' && workerData.napiPath) {
  try { napi = require(workerData.napiPath); } catch { napi = null; }
}
let Sqlite = null;
parentPort.on('message', ({ id, codec, data, sha256, checkPath, pooled }) => {
  if (checkPath !== undefined) {
    let db = null;
    try {
      Sqlite = Sqlite || require(workerData.sqlitePath);
      db = new Sqlite(checkPath, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      parentPort.postMessage({ id, ok: true, rows: db.prepare(workerData.quickCheckSql).pluck().all() });
    } catch (err) {
      parentPort.postMessage({ id, ok: false, sqlite: true, message: String(err && err.message || err), code: err && err.code });
    } finally {
      if (db) db.close();
    }
    return;
  }
  try {
    if (sha256) {
      const got = createHash('sha256').update(data).digest('hex');
      if (got !== sha256) { parentPort.postMessage({ id, ok: false, mismatch: got }); return; }
    }
    let out;
    if (codec === 'gzip') out = zlib.gzipSync(data, { level: workerData.gzipLevel });
    else if (typeof zlib.zstdCompressSync === 'function') out = zlib.zstdCompressSync(data, { params: { [zlib.constants.ZSTD_c_compressionLevel]: workerData.zstdLevel } });
    else if (napi) out = napi.compress(data, { compressionLevel: workerData.zstdLevel });
    else throw new Error('no zstd in this worker');
    // the input goes back too when it is one of the pool's buffers: reused, never garbage here
    const back = pooled ? data.buffer : undefined;
    parentPort.postMessage({ id, ok: true, out, back }, back ? [out.buffer, back] : [out.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, ok: false, message: String(err && err.message || err) });
  }
});
`;

/** What an integrity check counts for in a worker's load (chunks queued on it). */
const CHECK_LOAD = 8;

function napiPath(): string | null {
  try {
    return createRequire(import.meta.url).resolve('zstd-napi');
  } catch {
    return null;
  }
}

/**
 * Buffers for chunks read back from a snapshot copy (each as large as the largest chunk), lent to
 * a worker with the chunk and given back with its compressed bytes. A buffer moved to a worker
 * and dropped there would be freed only when that worker's small heap next collects garbage, so
 * a push held tens of MB of spent chunks per worker; lent and returned, the push's chunk memory is
 * these few buffers.
 */
const SPARE_BUFFERS = 8;

interface Job {
  resolve: (b: Buffer) => void;
  reject: (e: unknown) => void;
  sha256?: string;
  /** An integrity check's rows (then resolve is not called). */
  rows?: (rows: string[]) => void;
}

/** What a worker answers. */
interface WorkerReply {
  id: number;
  ok: boolean;
  out?: Uint8Array;
  rows?: string[];
  message?: string;
  mismatch?: string;
  /** A pooled buffer given back. */
  back?: ArrayBuffer;
  /** An error of SQLite's (its code, e.g. SQLITE_CORRUPT). */
  sqlite?: boolean;
  code?: string;
}

function changedError(expected: string, got: string): AppError {
  return new AppError('SNAPSHOT_FAILED', `a chunk of a snapshot copy changed after it was read (sha256 ${got.slice(0, 12)}…, expected ${expected.slice(0, 12)}…); nothing was stored under its key; run the push again`, {
    transient: true,
  });
}

/**
 * A fixed set of compression workers, started at the first job (a push with nothing to compress
 * starts none). Close it when done: its workers keep the process alive until then.
 */
export class CompressPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private closed = false;
  /** Chunk buffers not lent out (see chunkBuffer). */
  private readonly spare: ArrayBuffer[] = [];
  /** Buffers lent by chunkBuffer, not yet back. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private allocated = 0;

  /**
   * `threads` 0 compresses on the calling thread (tests, a single-core machine); `bufferBytes`:
   * the size of a chunk buffer (the largest chunk).
   */
  constructor(
    private readonly threads = Math.min(2, availableParallelism()),
    private readonly bufferBytes = CHUNKING.maxSize,
  ) {}

  private start(): void {
    if (this.workers.length > 0 || this.threads === 0) return;
    const data = { napiPath: napiPath(), sqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'), quickCheckSql: QUICK_CHECK_SQL, gzipLevel: GZIP_LEVEL, zstdLevel: ZSTD_LEVEL };
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: data });
      w.on('message', (m: WorkerReply) => {
        if (m.back !== undefined) this.giveBack(m.back);
        const job = this.jobs.get(m.id);
        if (!job) return;
        this.jobs.delete(m.id);
        this.load[i]! -= m.rows !== undefined || m.sqlite ? CHECK_LOAD : 1;
        if (m.ok && m.rows !== undefined) job.rows?.(m.rows);
        else if (m.ok) job.resolve(Buffer.from(m.out!.buffer, m.out!.byteOffset, m.out!.byteLength));
        else if (m.sqlite) job.reject(Object.assign(new Error(m.message ?? 'SQLite failed'), { code: m.code ?? '' }));
        else if (m.mismatch !== undefined) job.reject(changedError(job.sha256 ?? '', m.mismatch));
        else job.reject(new AppError('INTERNAL', `compressing a chunk failed on a worker thread: ${m.message}`));
      });
      w.on('error', (err) => this.failAll(err));
      // kept referenced: while a push awaits a compression, the worker is what keeps the process
      // alive (unreferenced workers let the event loop drain: Node exits 13 mid-push); close() ends them
      this.workers.push(w);
      this.load.push(0);
    }
  }

  /**
   * Compresses `data` whole with `codec` on the least busy worker; with `sha256`, first checks that
   * `data` still has that hash (SNAPSHOT_FAILED when not). `data` may be detached (moved to the
   * worker): do not use it afterwards.
   */
  compress(data: Uint8Array, codec: BlobCodec, sha256?: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(new AppError('INTERNAL', 'compress pool used after close'));
    const pooled = data.buffer instanceof ArrayBuffer && this.lent.has(data.buffer);
    if (pooled) this.lent.delete(data.buffer as ArrayBuffer);
    if (this.threads === 0) {
      return Promise.resolve().then(() => {
        try {
          if (sha256 !== undefined) {
            const got = createHash('sha256').update(data).digest('hex');
            if (got !== sha256) throw changedError(sha256, got);
          }
          return compressSync(data, codec);
        } finally {
          if (pooled) this.giveBack(data.buffer as ArrayBuffer);
        }
      });
    }
    this.start();
    const best = this.leastBusy();
    const id = this.nextId++;
    this.load[best]!++;
    return new Promise<Buffer>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, ...(sha256 === undefined ? {} : { sha256 }) });
      // a pool's buffer is lent (moved, and given back); another one that owns its whole memory
      // is moved, not copied (the caller is done with it)
      const movable = pooled || (data.byteOffset === 0 && data.buffer.byteLength === data.byteLength && data.buffer instanceof ArrayBuffer);
      this.workers[best]!.postMessage({ id, codec, data, sha256, pooled }, movable ? [data.buffer as ArrayBuffer] : []);
    });
  }

  /**
   * A buffer of `size` bytes to read a chunk into, to be handed to compress() (which gives it
   * back to the pool once the chunk is compressed): a spare one when there is one.
   */
  chunkBuffer(size: number): Buffer {
    // the one given back last (likeliest still in the CPU's caches)
    const i = this.spare.findLastIndex((b) => b.byteLength >= size);
    let ab: ArrayBuffer;
    if (i >= 0) ab = this.spare.splice(i, 1)[0]!;
    else {
      ab = new ArrayBuffer(Math.max(size, this.bufferBytes));
      this.allocated++;
    }
    this.lent.add(ab);
    return Buffer.from(ab, 0, size);
  }

  /** Chunk buffers made so far (the rest of the chunks reused them). */
  get buffersMade(): number {
    return this.allocated;
  }

  private giveBack(ab: ArrayBuffer): void {
    // a whole file sent as one blob (no chunking) may be far larger: not kept
    if (ab.byteLength <= this.bufferBytes && this.spare.length < SPARE_BUFFERS) this.spare.push(ab);
  }

  /** Worker threads (0: everything runs on the calling thread). */
  get size(): number {
    return this.threads;
  }

  /**
   * Runs QUICK_CHECK_SQL on the SQLite file at `path` (opened read-only) on the least busy worker
   * and gives its rows; rejects with SQLite's error (its `code` kept). Needs a worker (size > 0).
   */
  checkSqlite(path: string): Promise<string[]> {
    if (this.closed || this.threads === 0) return Promise.reject(new AppError('INTERNAL', 'compress pool: no worker to run the integrity check on'));
    this.start();
    const best = this.leastBusy();
    const id = this.nextId++;
    // a check reads the whole file: it counts as several chunks, so chunks go to the other worker meanwhile
    this.load[best]! += CHECK_LOAD;
    return new Promise<string[]>((resolve, reject) => {
      this.jobs.set(id, { resolve: () => undefined, reject, rows: resolve });
      this.workers[best]!.postMessage({ id, checkPath: path });
    });
  }

  private leastBusy(): number {
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    return best;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.failAll(new Error('compress pool closed'));
  }

  private failAll(err: unknown): void {
    for (const job of this.jobs.values()) job.reject(new AppError('INTERNAL', `a compression worker stopped: ${errorMessage(err)}`, { cause: err }));
    this.jobs.clear();
  }
}
