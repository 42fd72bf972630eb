// The local-directory BlobStore (`file:///abs/dir`), the embedded default: one file per key under
// the root, written to a hidden temp file, fsynced, then published atomically (rename, or link for
// create-only puts), so a failed or concurrent write never leaves a partial object visible.

import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { dirname, isAbsolute, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { AppError, errorMessage } from '../../schema/errors.js';
import type { BlobStore, DeleteOptions, ObjectInfo, PutOptions, PutResult } from './blob-store.js';

/** Hidden folder under the root for temp files and metadata sidecars; never listed, never a key. */
export const LOCAL_STORE_HIDDEN_DIR = '.aqe-store';

const MAX_KEY_BYTES = 1024;

/**
 * Throws AppError VALUE_INVALID unless `key` is a valid object key for every backend: relative,
 * `/`-separated, no empty / `.` / `..` segments, no NUL or backslash, at most 1024 UTF-8 bytes,
 * and not inside the local store's hidden folder.
 * @example assertValidObjectKey('blobs/sha256/ab/ab…cd.gz') // ok; assertValidObjectKey('../x') // throws
 */
export function assertValidObjectKey(key: string): void {
  const problem = objectKeyProblem(key);
  if (problem !== null) {
    throw new AppError('VALUE_INVALID', `object key ${JSON.stringify(key)}: ${problem}; expected a relative path like "blobs/sha256/ab/<sha256>.gz"`);
  }
}

function objectKeyProblem(key: string): string | null {
  if (typeof key !== 'string' || key.length === 0) return 'must not be empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  if (key.includes('\0')) return 'must not contain NUL';
  if (key.includes('\\')) return 'must not contain a backslash (use "/")';
  if (key.startsWith('/')) return 'must be relative (no leading "/")';
  const segments = key.split('/');
  if (segments.some((s) => s === '')) return 'must not contain empty segments ("//" or a trailing "/")';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  if (segments[0] === LOCAL_STORE_HIDDEN_DIR) return `must not start with the reserved folder "${LOCAL_STORE_HIDDEN_DIR}"`;
  return null;
}

/** Like assertValidObjectKey for list prefixes: '' is allowed, and a trailing '/' or partial segment is fine. */
export function assertValidListPrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = objectKeyProblem(prefix.endsWith('/') ? `${prefix}x` : prefix);
  if (problem !== null) throw new AppError('VALUE_INVALID', `list prefix ${JSON.stringify(prefix)}: ${problem}`);
}

/** Byte-wise (UTF-8) key order, the order GCS lists in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Sidecar {
  contentType?: string;
  metadata?: Record<string, string>;
}

/**
 * BlobStore over a local directory. Metadata and content type are kept in a JSON sidecar under
 * `<root>/.aqe-store/meta/`; it is published just after the object, so a reader racing a put may
 * briefly see the object without its metadata.
 *
 * Limitation (filesystem, not GCS): a key cannot be both an object and a folder of other objects
 * (`a` and `a/b`); such a put fails with VALUE_INVALID.
 * @example const store = new LocalDirBlobStore('/var/lib/aqe/bucket');
 */
export class LocalDirBlobStore implements BlobStore {
  readonly url: string;
  readonly root: string;
  private readonly tmpDir: string;
  private readonly metaDir: string;

  constructor(root: string) {
    if (!isAbsolute(root)) {
      throw new AppError('BUCKET_URL_INVALID', `local bucket directory "${root}" must be an absolute path (file:///absolute/dir)`);
    }
    this.root = root.length > 1 && root.endsWith(sep) ? root.slice(0, -1) : root;
    this.url = pathToFileURL(this.root).href;
    this.tmpDir = join(this.root, LOCAL_STORE_HIDDEN_DIR, 'tmp');
    this.metaDir = join(this.root, LOCAL_STORE_HIDDEN_DIR, 'meta');
  }

  private pathOf(key: string): string {
    assertValidObjectKey(key);
    return join(this.root, ...key.split('/'));
  }

  private sidecarOf(key: string): string {
    return join(this.metaDir, ...key.split('/')) + '.json';
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<PutResult> {
    const finalPath = this.pathOf(key);
    await this.ensureDir(this.tmpDir, key);
    const tempPath = join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.tmp`);
    let bytes = 0;
    try {
      bytes = await writeDurably(tempPath, body);
      await this.ensureDir(dirname(finalPath), key);
      if (options.ifAbsent) {
        try {
          // link() fails with EEXIST instead of replacing: create-only, race-safe across processes.
          await link(tempPath, finalPath);
        } catch (err) {
          if (codeOf(err) === 'EEXIST') {
            await this.assertNotFolder(finalPath, key);
            return { created: false, bytes: 0 };
          }
          throw err;
        }
      } else {
        await rename(tempPath, finalPath);
      }
      await fsyncDir(dirname(finalPath));
    } catch (err) {
      throw await this.mapWriteError(err, key, finalPath);
    } finally {
      await rm(tempPath, { force: true });
    }
    await this.writeSidecar(key, options);
    return { created: true, bytes };
  }

  async get(key: string): Promise<Buffer> {
    const path = this.pathOf(key);
    try {
      return await readFile(path);
    } catch (err) {
      throw this.mapReadError(err, key, path);
    }
  }

  async getStream(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    // Open first so a missing object fails here, not on the first read.
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        throw Object.assign(new Error(`not a file: ${path}`), { code: 'EISDIR' });
      }
    } catch (err) {
      throw this.mapReadError(err, key, path);
    }
    return fh.createReadStream({ highWaterMark: 1 << 20 });
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path, { bigint: true });
      if (!st.isFile()) return null;
      return await this.infoOf(key, st, true);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw this.mapReadError(err, key, path);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidListPrefix(prefix);
    // Walk only the deepest folder the prefix names; filter the rest by string prefix.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const keys: string[] = [];
    await this.walk(baseKey === '' ? this.root : join(this.root, ...baseKey.split('/')), baseKey, keys);
    const matching = keys.filter((k) => k.startsWith(prefix)).sort(compareKeys);
    for (const key of matching) {
      const st = await stat(join(this.root, ...key.split('/')), { bigint: true }).catch((err: unknown) => {
        if (codeOf(err) === 'ENOENT') return null; // deleted while listing
        throw this.mapReadError(err, key, this.root);
      });
      if (st === null || !st.isFile()) continue;
      yield await this.infoOf(key, st, false);
    }
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    const path = this.pathOf(key);
    if (options.ifUnchanged) {
      // the generation here is the file's mtime (ns): a rewrite or a touch moves it. The check and
      // the unlink are two steps (no atomic conditional unlink on a filesystem); the window is
      // microseconds, against a push that touches a blob long before it commits its manifest.
      const now = await this.stat(key);
      if (now === null) return true;
      if (options.ifUnchanged.generation !== undefined && now.generation !== options.ifUnchanged.generation) return false;
    }
    try {
      await unlink(path);
    } catch (err) {
      const code = codeOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw this.mapReadError(err, key, path);
    }
    await rm(this.sidecarOf(key), { force: true });
    return true;
  }

  async touch(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    try {
      const now = new Date();
      await utimes(path, now, now);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw await this.mapWriteError(err, key, path);
    }
    return this.stat(key);
  }

  async check(_probeKey?: string): Promise<void> {
    await this.ensureDir(this.tmpDir, null);
    await this.removeStaleTempFiles();
    const probe = join(this.tmpDir, `check-${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeDurably(probe, Buffer.from('ok'));
    } catch (err) {
      throw await this.mapWriteError(err, null, probe);
    } finally {
      await rm(probe, { force: true });
    }
  }

  /** Temp files left by a crashed writer (older than a day) are removed; young ones may be in use. */
  private async removeStaleTempFiles(): Promise<void> {
    const names = await readdir(this.tmpDir).catch(() => [] as string[]);
    const cutoff = Date.now() - 24 * 3600 * 1000;
    for (const name of names) {
      const path = join(this.tmpDir, name);
      const st = await stat(path).catch(() => null);
      if (st?.isFile() && st.mtimeMs < cutoff) await rm(path, { force: true });
    }
  }

  private async infoOf(key: string, st: BigIntStats, withMetadata: boolean): Promise<ObjectInfo> {
    // the file's birth time is the filesystem's clock at the put (objects are published by
    // rename/link of a fresh file); where the filesystem keeps none, the change time stands in
    const born = st.birthtimeMs > 0n ? st.birthtimeMs : st.ctimeMs < st.mtimeMs ? st.ctimeMs : st.mtimeMs;
    const info: ObjectInfo = { key, size: Number(st.size), updated: new Date(Number(st.mtimeMs)), created: new Date(Number(born)), generation: st.mtimeNs.toString() };
    const sidecar = await this.readSidecar(key);
    if (sidecar?.metadata && (withMetadata || Object.keys(sidecar.metadata).length > 0)) info.metadata = sidecar.metadata;
    return info;
  }

  private async walk(dir: string, dirKey: string, out: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.mapReadError(err, dirKey, dir);
    }
    for (const entry of entries) {
      if (dirKey === '' && entry.name === LOCAL_STORE_HIDDEN_DIR) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) await this.walk(join(dir, entry.name), key, out);
      else if (entry.isFile()) out.push(key);
    }
  }

  private async readSidecar(key: string): Promise<Sidecar | null> {
    try {
      return JSON.parse(await readFile(this.sidecarOf(key), 'utf8')) as Sidecar;
    } catch {
      return null; // no sidecar (or a torn one from a crash): the object simply has no metadata
    }
  }

  private async writeSidecar(key: string, options: PutOptions): Promise<void> {
    const sidecarPath = this.sidecarOf(key);
    if (options.metadata === undefined && options.contentType === undefined) {
      await rm(sidecarPath, { force: true });
      return;
    }
    const sidecar: Sidecar = {};
    if (options.contentType !== undefined) sidecar.contentType = options.contentType;
    if (options.metadata !== undefined) sidecar.metadata = options.metadata;
    const temp = join(this.tmpDir, `${randomBytes(8).toString('hex')}.meta.tmp`);
    try {
      await mkdir(dirname(sidecarPath), { recursive: true });
      await writeDurably(temp, Buffer.from(JSON.stringify(sidecar)));
      await rename(temp, sidecarPath);
    } catch (err) {
      throw await this.mapWriteError(err, key, sidecarPath);
    } finally {
      await rm(temp, { force: true });
    }
  }

  private async ensureDir(dir: string, key: string | null): Promise<void> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw await this.mapWriteError(err, key, dir);
    }
  }

  private async assertNotFolder(path: string, key: string): Promise<void> {
    const st = await lstat(path).catch(() => null);
    if (st?.isDirectory()) throw folderClash(key, this.root);
  }

  /** `key` null: the store itself (its root or hidden folder), not one object. */
  private async mapWriteError(err: unknown, key: string | null, path: string): Promise<unknown> {
    if (err instanceof AppError) return err;
    if (err instanceof BodyStreamError) return err.original;
    const code = codeOf(err);
    const where = key === null ? `${this.url} (path ${path})` : `${this.url} (key "${key}", path ${path})`;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new AppError('DISK_FULL', `no space left writing ${where}: free space on the disk holding ${this.root} (or raise the quota), then retry`, {
        cause: err,
        details: { path, key },
      });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new AppError('BUCKET_AUTH', `cannot write ${where}: ${errorMessage(err)}; make ${this.root} writable by this user or choose another --bucket`, {
        cause: err,
        details: { path, key },
      });
    }
    if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
      if (key === null) {
        return new AppError('BUCKET_UNREACHABLE', `cannot create the store folder ${where}: a part of the path is a file, not a directory; choose another --bucket`, { cause: err, details: { path } });
      }
      return folderClash(key, this.root, err);
    }
    return new AppError('BUCKET_UNREACHABLE', `cannot write ${where}: ${errorMessage(err)}`, { cause: err, details: { path, key } });
  }

  private mapReadError(err: unknown, key: string, path: string): unknown {
    if (err instanceof AppError) return err;
    const code = codeOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      return new AppError('OBJECT_NOT_FOUND', `object "${key}" not found in ${this.url}`, { cause: err, details: { key, path } });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new AppError('BUCKET_AUTH', `cannot read "${key}" in ${this.url}: ${errorMessage(err)}; make ${this.root} readable by this user`, { cause: err });
    }
    return new AppError('BUCKET_UNREACHABLE', `cannot read "${key}" in ${this.url}: ${errorMessage(err)}`, { cause: err, details: { key, path } });
  }
}

function folderClash(key: string, root: string, cause?: unknown): AppError {
  return new AppError(
    'VALUE_INVALID',
    `object key "${key}" clashes with a folder or file of another key in ${root}: a local store cannot hold both "a" and "a/b"`,
    cause === undefined ? {} : { cause },
  );
}

/** Wraps an error raised by the caller's body stream, so it is rethrown as is, not as a storage error. */
class BodyStreamError extends Error {
  constructor(readonly original: unknown) {
    super('body stream failed');
  }
}

/** Writes `body` to a new file at `path` (must not exist), fsyncs it, returns the bytes written. */
async function writeDurably(path: string, body: Buffer | Readable): Promise<number> {
  const fh = await open(path, 'wx', 0o644);
  try {
    let bytes = 0;
    if (Buffer.isBuffer(body)) {
      await fh.writeFile(body);
      bytes = body.length;
    } else {
      // One awaited write per chunk: natural backpressure, memory stays at one chunk.
      const chunks = body[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await chunks.next();
        } catch (err) {
          throw new BodyStreamError(err);
        }
        if (next.done) break;
        const chunk = next.value;
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        let off = 0;
        while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
        bytes += buf.length;
      }
    }
    await fh.sync();
    return bytes;
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename/link itself durable; some filesystems refuse fsync on a directory: ignore.
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

