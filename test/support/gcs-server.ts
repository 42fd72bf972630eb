// A small in-memory server speaking enough of the Cloud Storage JSON API for the real
// `@google-cloud/storage` client (v7): buckets, media / multipart / resumable uploads with
// ifGenerationMatch, metadata (and objects.patch), downloads with x-goog-hash and Range, list, delete
// with generation / metageneration preconditions, and injectable faults (error statuses, delays,
// dropped connections, corrupted bytes).
//
// Point the client at it with `new Storage({ apiEndpoint: server.endpoint, projectId: 'test' })`:
// a non-Google endpoint makes the client skip authentication (unless useAuthWithCustomEndpoint).

import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** When a fault fires: for the next `next` matching requests, at `probability`, or (neither) always. */
export interface FaultTrigger {
  next?: number;
  probability?: number;
}

export interface FaultRequest {
  method: string;
  /** URL path, e.g. `/upload/storage/v1/b/bucket/o`. */
  path: string;
  query: URLSearchParams;
  /** What the request does. */
  kind: 'bucket' | 'list' | 'metadata' | 'download' | 'upload' | 'upload-chunk' | 'delete' | 'other';
}

export interface FaultOptions {
  /** Answer with this HTTP status (429, 500, 503…) without doing the request. */
  status?: FaultTrigger & { code: number };
  /** Wait this long before answering. */
  delay?: FaultTrigger & { ms: number };
  /** Do the request, send the headers and part of the body, then destroy the socket. */
  drop?: FaultTrigger;
  /** Flip one byte: of a download's body (hashes still describe the stored bytes), or of an upload as stored. */
  corrupt?: FaultTrigger;
  /** Only requests this returns true for are subject to the faults (default: all). */
  when?: (req: FaultRequest) => boolean;
}

export interface GcsServer {
  /** `http://127.0.0.1:<port>`: the client's `apiEndpoint`. */
  endpoint: string;
  close(): Promise<void>;
  createBucket(name: string): void;
  /** A copy of a bucket's objects at this moment (name → stored bytes), in name order. */
  objects(bucket: string): Map<string, Buffer>;
  /** Replaces the fault settings (`{}` clears them). */
  setFaults(faults: FaultOptions): void;
  /** Requests received so far. */
  readonly requests: number;
  /** Faults injected so far. */
  readonly faultsInjected: number;
  /** Request-body bytes received so far (all requests). */
  readonly bytesReceived: number;
  /** Resumable upload sessions opened so far. */
  readonly resumableSessions: number;
  /** Upload requests (any upload type, a resumable session's chunks included) whose headers arrived so far, counted before their body is read. */
  readonly uploadsStarted: number;
}

interface StoredObject {
  name: string;
  data: Buffer;
  generation: string;
  metageneration: string;
  contentType: string;
  metadata?: Record<string, string>;
  created: Date;
  /** Last write or metadata patch. */
  updated: Date;
  crc32c: string;
  md5Hash: string;
}

interface Bucket {
  name: string;
  created: Date;
  objects: Map<string, StoredObject>;
}

interface ResumableSession {
  bucket: string;
  name: string;
  contentType: string;
  metadata?: Record<string, string>;
  ifGenerationMatch: string | null;
  chunks: Buffer[];
  received: number;
  result?: StoredObject;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string | object;
}

// ---- checksums (independent of the client's own implementation) ----

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Base64 of the big-endian CRC32C, the form GCS uses in `crc32c` and `x-goog-hash`. */
export function crc32cBase64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32c(data));
  return out.toString('base64');
}

function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function apiError(code: number, message: string, reason: string): Reply {
  return { status: code, body: { error: { code, message, errors: [{ message, domain: 'global', reason }] } } };
}

/**
 * With STORAGE_EMULATOR_HOST the client sends JSON-API calls to `<host>/b/…` (no /storage/v1):
 * served as the same paths.
 */
const apiPath = (pathname: string): string => (pathname.startsWith('/b/') || pathname === '/b' ? `/storage/v1${pathname}` : pathname);

const bucketNotFound = () => apiError(404, 'The specified bucket does not exist.', 'notFound');
const objectNotFound = (bucket: string, name: string) => apiError(404, `No such object: ${bucket}/${name}`, 'notFound');
const preconditionFailed = () => apiError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');

/**
 * Starts the server on 127.0.0.1 with a random port.
 * @example const server = await startGcsServer(); server.createBucket('test-bucket');
 */
export async function startGcsServer(options: { faults?: FaultOptions } = {}): Promise<GcsServer> {
  const buckets = new Map<string, Bucket>();
  const sessions = new Map<string, ResumableSession>();
  let faults: FaultOptions = options.faults ?? {};
  let requests = 0;
  let faultsInjected = 0;
  let bytesReceived = 0;
  let resumableSessions = 0;
  let uploadsStarted = 0;
  let generationSeq = 0;
  const sockets = new Set<Socket>();

  const nextGeneration = () => String(Date.now() * 1000 + (generationSeq++ % 1000));

  /** Consumes one use of a trigger; true when the fault fires for this request. */
  const fires = (trigger: FaultTrigger | undefined): boolean => {
    if (trigger === undefined) return false;
    if (trigger.next !== undefined) {
      if (trigger.next <= 0) return false;
      trigger.next--;
      return true;
    }
    if (trigger.probability !== undefined) return Math.random() < trigger.probability;
    return true;
  };

  const resourceOf = (endpoint: string, bucket: string, o: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${o.name}/${o.generation}`,
    selfLink: `${endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}`,
    mediaLink: `${endpoint}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket,
    generation: o.generation,
    metageneration: o.metageneration,
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.data.length),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: Buffer.from(o.generation).toString('base64'),
    timeCreated: o.created.toISOString(),
    updated: o.updated.toISOString(),
    timeStorageClassUpdated: o.created.toISOString(),
    ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
  });

  /** The create-only / generation check and the write, in one synchronous step (atomic here). */
  const commit = (
    bucket: Bucket,
    name: string,
    data: Buffer,
    contentType: string,
    metadata: Record<string, string> | undefined,
    ifGenerationMatch: string | null,
    corrupt: boolean,
  ): StoredObject | Reply => {
    const existing = bucket.objects.get(name);
    if (ifGenerationMatch !== null) {
      const current = existing?.generation ?? '0';
      if (current !== ifGenerationMatch) return preconditionFailed();
    }
    let stored = data;
    if (corrupt && data.length > 0) {
      stored = Buffer.from(data);
      stored[0] = stored[0]! ^ 0xff;
    }
    const object: StoredObject = {
      name,
      data: stored,
      generation: nextGeneration(),
      metageneration: '1',
      contentType,
      created: new Date(),
      updated: new Date(),
      crc32c: crc32cBase64(stored),
      md5Hash: md5Base64(stored),
      ...(metadata === undefined ? {} : { metadata }),
    };
    bucket.objects.set(name, object);
    return object;
  };

  /** Rejects an upload whose X-Goog-Hash header does not match the bytes received. */
  const hashMismatch = (req: IncomingMessage, data: Buffer): Reply | null => {
    const header = req.headers['x-goog-hash'];
    if (typeof header !== 'string') return null;
    for (const pair of header.split(',')) {
      const eq = pair.indexOf('=');
      const type = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (type === 'crc32c' && value !== crc32cBase64(data)) return apiError(400, `Provided CRC32C "${value}" doesn't match calculated CRC32C "${crc32cBase64(data)}".`, 'invalid');
      if (type === 'md5' && value !== md5Base64(data)) return apiError(400, `Provided MD5 hash "${value}" doesn't match calculated MD5 hash "${md5Base64(data)}".`, 'invalid');
    }
    return null;
  };

  const parseMultipart = (contentType: string, body: Buffer): { meta: Record<string, unknown>; media: Buffer; mediaType: string } | null => {
    const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
    if (boundary === undefined) return null;
    const delimiter = Buffer.from(`--${boundary}`);
    const parts: Array<{ headers: string; body: Buffer }> = [];
    let pos = body.indexOf(delimiter);
    while (pos >= 0) {
      let start = pos + delimiter.length;
      if (body.subarray(start, start + 2).toString() === '--') break;
      if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
      const next = body.indexOf(delimiter, start);
      if (next < 0) return null;
      let end = next;
      if (body.subarray(end - 2, end).toString() === '\r\n') end -= 2;
      const part = body.subarray(start, end);
      const headerEnd = part.indexOf('\r\n\r\n');
      if (headerEnd < 0) return null;
      parts.push({ headers: part.subarray(0, headerEnd).toString('utf8'), body: part.subarray(headerEnd + 4) });
      pos = next;
    }
    const [metaPart, mediaPart] = parts;
    if (metaPart === undefined || mediaPart === undefined) return null;
    const mediaType = /content-type:\s*([^\r\n]+)/i.exec(mediaPart.headers)?.[1]?.trim() ?? 'application/octet-stream';
    return { meta: JSON.parse(metaPart.body.toString('utf8')) as Record<string, unknown>, media: mediaPart.body, mediaType };
  };

  const stringMetadata = (meta: Record<string, unknown>): Record<string, string> | undefined => {
    const m = meta['metadata'];
    if (m === null || typeof m !== 'object') return undefined;
    return Object.fromEntries(Object.entries(m as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  };

  const classify = (method: string, path: string, query: URLSearchParams): FaultRequest['kind'] => {
    if (path.startsWith('/upload/')) return method === 'PUT' ? 'upload-chunk' : 'upload';
    if (/^\/(?:download\/)?storage\/v1\/b\/[^/]+\/o\/.+/.test(path)) {
      if (method === 'DELETE') return 'delete';
      return query.get('alt') === 'media' ? 'download' : 'metadata';
    }
    if (/^\/storage\/v1\/b\/[^/]+\/o\/?$/.test(path)) return 'list';
    if (/^\/storage\/v1\/b\/[^/]+\/?$/.test(path)) return 'bucket';
    return 'other';
  };

  const handle = (req: IncomingMessage, body: Buffer, endpoint: string, corrupt: boolean): Reply => {
    const url = new URL(req.url ?? '/', endpoint);
    const path = apiPath(url.pathname);
    const q = url.searchParams;
    const method = req.method ?? 'GET';

    // Buckets
    if (method === 'POST' && path === '/storage/v1/b') {
      const name = String((JSON.parse(body.toString('utf8') || '{}') as { name?: unknown }).name ?? '');
      if (buckets.has(name)) return apiError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
      buckets.set(name, { name, created: new Date(), objects: new Map() });
      return { status: 200, body: { kind: 'storage#bucket', id: name, name } };
    }
    const bucketPath = /^\/storage\/v1\/b\/([^/]+)\/?$/.exec(path);
    if (bucketPath) {
      const m = bucketPath;
      const bucket = buckets.get(decodeURIComponent(m[1]!));
      if (!bucket) return bucketNotFound();
      if (method !== 'GET') return apiError(405, 'Method not allowed here', 'notAllowed');
      return {
        status: 200,
        body: { kind: 'storage#bucket', id: bucket.name, name: bucket.name, timeCreated: bucket.created.toISOString(), location: 'US', storageClass: 'STANDARD', metageneration: '1' },
      };
    }

    // Uploads
    const uploadPath = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path);
    if (uploadPath) {
      const m = uploadPath;
      const bucket = buckets.get(decodeURIComponent(m[1]!));
      const uploadType = q.get('uploadType') ?? 'media';
      if (method === 'PUT' && uploadType === 'resumable') return resumableChunk(req, q, body, endpoint, corrupt);
      if (method !== 'POST') return apiError(405, 'Method not allowed here', 'notAllowed');
      if (!bucket) return bucketNotFound();
      const ifGenerationMatch = q.get('ifGenerationMatch');
      if (uploadType === 'resumable') {
        const meta = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as Record<string, unknown>;
        const name = q.get('name') ?? (typeof meta['name'] === 'string' ? meta['name'] : '');
        if (name === '') return apiError(400, 'Required parameter: name', 'required');
        // GCS checks preconditions when the session opens, and again when it completes.
        if (ifGenerationMatch !== null && (bucket.objects.get(name)?.generation ?? '0') !== ifGenerationMatch) return preconditionFailed();
        const id = randomUUID();
        const contentType = String(req.headers['x-upload-content-type'] ?? meta['contentType'] ?? 'application/octet-stream');
        const metadata = stringMetadata(meta);
        sessions.set(id, { bucket: bucket.name, name, contentType, ifGenerationMatch, chunks: [], received: 0, ...(metadata === undefined ? {} : { metadata }) });
        resumableSessions++;
        return {
          status: 200,
          headers: { location: `${endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket.name)}/o?uploadType=resumable&upload_id=${id}` },
          body: '',
        };
      }
      let name = q.get('name') ?? '';
      let data = body;
      let contentType = String(req.headers['content-type'] ?? 'application/octet-stream');
      let metadata: Record<string, string> | undefined;
      if (uploadType === 'multipart') {
        const parsed = parseMultipart(contentType, body);
        if (parsed === null) return apiError(400, 'Malformed multipart body.', 'invalid');
        if (name === '' && typeof parsed.meta['name'] === 'string') name = parsed.meta['name'];
        data = parsed.media;
        contentType = typeof parsed.meta['contentType'] === 'string' ? parsed.meta['contentType'] : parsed.mediaType;
        metadata = stringMetadata(parsed.meta);
        const declaredCrc = parsed.meta['crc32c'];
        if (typeof declaredCrc === 'string' && declaredCrc !== crc32cBase64(data)) return apiError(400, 'Provided CRC32C does not match calculated CRC32C.', 'invalid');
        const declaredMd5 = parsed.meta['md5Hash'];
        if (typeof declaredMd5 === 'string' && declaredMd5 !== md5Base64(data)) return apiError(400, 'Provided MD5 hash does not match calculated MD5 hash.', 'invalid');
      } else if (uploadType !== 'media') {
        return apiError(400, `Invalid upload type "${uploadType}".`, 'invalid');
      }
      if (name === '') return apiError(400, 'Required parameter: name', 'required');
      const mismatch = hashMismatch(req, data);
      if (mismatch) return mismatch;
      const result = commit(bucket, name, data, contentType, metadata, ifGenerationMatch, corrupt);
      if ('status' in result) return result;
      return { status: 200, body: resourceOf(endpoint, bucket.name, result) };
    }

    // Objects
    const objectPath = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    if (objectPath) {
      const m = objectPath;
      const bucket = buckets.get(decodeURIComponent(m[1]!));
      if (!bucket) return bucketNotFound();
      const name = decodeURIComponent(m[2]!);
      const object = bucket.objects.get(name);
      const ifMeta = q.get('ifMetagenerationMatch');
      if (method === 'DELETE') {
        if (!object) return objectNotFound(bucket.name, name);
        const ifGen = q.get('ifGenerationMatch');
        if (ifGen !== null && ifGen !== object.generation) return preconditionFailed();
        if (ifMeta !== null && ifMeta !== object.metageneration) return preconditionFailed();
        bucket.objects.delete(name);
        return { status: 204 };
      }
      if (method === 'PATCH') {
        // objects.patch: custom metadata merged (a null value removes the key); metageneration and updated move
        if (!object) return objectNotFound(bucket.name, name);
        const ifGen = q.get('ifGenerationMatch');
        if (ifGen !== null && ifGen !== object.generation) return preconditionFailed();
        if (ifMeta !== null && ifMeta !== object.metageneration) return preconditionFailed();
        const patch = JSON.parse(body.toString('utf8') || '{}') as { metadata?: Record<string, unknown> | null; contentType?: unknown };
        if (patch.metadata === null) delete object.metadata;
        else if (patch.metadata && typeof patch.metadata === 'object') {
          const merged: Record<string, string> = { ...(object.metadata ?? {}) };
          for (const [k, v] of Object.entries(patch.metadata)) {
            if (v === null) delete merged[k];
            else merged[k] = String(v);
          }
          object.metadata = merged;
        }
        if (typeof patch.contentType === 'string') object.contentType = patch.contentType;
        object.metageneration = String(Number(object.metageneration) + 1);
        object.updated = new Date();
        return { status: 200, body: resourceOf(endpoint, bucket.name, object) };
      }
      if (method !== 'GET') return apiError(405, 'Method not allowed here', 'notAllowed');
      const generation = q.get('generation');
      if (!object || (generation !== null && generation !== object.generation)) return objectNotFound(bucket.name, name);
      const ifGen = q.get('ifGenerationMatch');
      if (ifGen !== null && ifGen !== object.generation) return preconditionFailed();
      if (q.get('alt') !== 'media') return { status: 200, body: resourceOf(endpoint, bucket.name, object) };
      return download(req, object, corrupt);
    }

    // List
    const listPath = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path);
    if (listPath && method === 'GET') {
      const m = listPath;
      const bucket = buckets.get(decodeURIComponent(m[1]!));
      if (!bucket) return bucketNotFound();
      const prefix = q.get('prefix') ?? '';
      const delimiter = q.get('delimiter') ?? '';
      const maxResults = Math.max(1, Math.min(1000, Number(q.get('maxResults') ?? 1000) || 1000));
      const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString('utf8') : null;
      const names = [...bucket.objects.keys()].filter((n) => n.startsWith(prefix)).sort(compareNames);
      const items: StoredObject[] = [];
      const prefixes: string[] = [];
      let last: string | null = null;
      let truncated = false;
      for (const n of names) {
        if (after !== null && compareNames(n, after) <= 0) continue;
        let entry: string | StoredObject = bucket.objects.get(n)!;
        if (delimiter !== '') {
          const cut = n.indexOf(delimiter, prefix.length);
          if (cut >= 0) entry = n.slice(0, cut + delimiter.length);
        }
        if (typeof entry === 'string') {
          if (prefixes.includes(entry)) {
            last = n;
            continue;
          }
          if (items.length + prefixes.length >= maxResults) {
            truncated = true;
            break;
          }
          prefixes.push(entry);
        } else {
          if (items.length + prefixes.length >= maxResults) {
            truncated = true;
            break;
          }
          items.push(entry);
        }
        last = n;
      }
      return {
        status: 200,
        body: {
          kind: 'storage#objects',
          ...(items.length > 0 ? { items: items.map((o) => resourceOf(endpoint, bucket.name, o)) } : {}),
          ...(prefixes.length > 0 ? { prefixes } : {}),
          ...(truncated && last !== null ? { nextPageToken: Buffer.from(last, 'utf8').toString('base64url') } : {}),
        },
      };
    }

    return apiError(404, `Not Found: ${method} ${path}`, 'notFound');
  };

  const resumableChunk = (req: IncomingMessage, q: URLSearchParams, body: Buffer, endpoint: string, corrupt: boolean): Reply => {
    const session = sessions.get(q.get('upload_id') ?? '');
    if (!session) return apiError(404, 'No such upload session.', 'notFound');
    const bucket = buckets.get(session.bucket);
    if (!bucket) return bucketNotFound();
    if (session.result) return { status: 200, body: resourceOf(endpoint, bucket.name, session.result) };
    const incomplete = (): Reply => ({ status: 308, headers: session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {}, body: '' });
    const range = String(req.headers['content-range'] ?? '');
    // Status query: "bytes */*" or "bytes */<total>".
    const query = /^bytes \*\/(\d+|\*)$/.exec(range);
    if (query) {
      if (query[1] !== '*' && Number(query[1]) === session.received && body.length === 0) return finish(req, session, bucket, endpoint, corrupt);
      return incomplete();
    }
    let first = 0;
    let total: number | null = null;
    let openEnded = false;
    if (range !== '') {
      const r = /^bytes (\d+)-(-?\d+|\*)\/(\d+|\*)$/.exec(range);
      if (!r) return apiError(400, `Invalid Content-Range: ${range}`, 'invalid');
      first = Number(r[1]);
      openEnded = r[2] === '*';
      total = r[3] === '*' ? null : Number(r[3]);
    } else {
      openEnded = true;
    }
    if (first > session.received) return apiError(400, `Content-Range starts at ${first}, but only ${session.received} bytes were received`, 'invalid');
    // A client re-sending bytes it is unsure of: keep only what is new.
    const fresh = body.subarray(Math.min(body.length, session.received - first));
    if (fresh.length > 0) {
      session.chunks.push(Buffer.from(fresh));
      session.received += fresh.length;
    }
    const complete = total !== null ? session.received >= total : openEnded;
    if (!complete) return incomplete();
    return finish(req, session, bucket, endpoint, corrupt);
  };

  const finish = (req: IncomingMessage, session: ResumableSession, bucket: Bucket, endpoint: string, corrupt: boolean): Reply => {
    const data = Buffer.concat(session.chunks, session.received);
    const mismatch = hashMismatch(req, data);
    if (mismatch) return mismatch;
    const result = commit(bucket, session.name, data, session.contentType, session.metadata, session.ifGenerationMatch, corrupt);
    if ('status' in result) return result;
    session.result = result;
    session.chunks = [];
    return { status: 200, body: resourceOf(endpoint, bucket.name, result) };
  };

  const download = (req: IncomingMessage, object: StoredObject, corrupt: boolean): Reply => {
    const headers: Record<string, string> = {
      'content-type': object.contentType,
      'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
      'x-goog-generation': object.generation,
      'x-goog-metageneration': object.metageneration,
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': String(object.data.length),
      etag: Buffer.from(object.generation).toString('base64'),
      'accept-ranges': 'bytes',
    };
    let data = object.data;
    let status = 200;
    const range = req.headers.range;
    if (typeof range === 'string' && range.startsWith('bytes=')) {
      const size = data.length;
      const r = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!r || (r[1] === '' && r[2] === '')) return apiError(416, 'Requested range not satisfiable', 'requestedRangeNotSatisfiable');
      let start: number;
      let end: number;
      if (r[1] === '') {
        start = Math.max(0, size - Number(r[2]));
        end = size - 1;
      } else {
        start = Number(r[1]);
        end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
      }
      if (start >= size || start > end) return { status: 416, headers: { 'content-range': `bytes */${size}` }, body: apiError(416, 'Requested range not satisfiable', 'requestedRangeNotSatisfiable').body! };
      data = data.subarray(start, end + 1);
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
      status = 206;
    }
    if (corrupt && data.length > 0) {
      data = Buffer.from(data);
      data[data.length - 1] = data[data.length - 1]! ^ 0xff;
    }
    return { status, headers, body: data };
  };

  const send = async (res: ServerResponse, reply: Reply, drop: boolean): Promise<void> => {
    let body: Buffer;
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body === undefined) body = Buffer.alloc(0);
    else if (Buffer.isBuffer(reply.body)) body = reply.body;
    else if (typeof reply.body === 'string') body = Buffer.from(reply.body);
    else {
      body = Buffer.from(JSON.stringify(reply.body));
      headers['content-type'] = 'application/json; charset=UTF-8';
    }
    // A dropped response goes out chunked: node-fetch v2 (under the client) notices a cut chunked
    // body ("Premature close") but waits forever on a cut Content-Length body.
    if (reply.status !== 204 && reply.status !== 304 && !drop) headers['content-length'] = String(body.length);
    res.writeHead(reply.status, headers);
    if (drop) {
      // Headers and part of the body go out, then the connection dies mid-response.
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      await new Promise((resolve) => setTimeout(resolve, 5));
      res.socket?.destroy();
      return;
    }
    res.end(body);
  };

  const server = createServer((req, res) => {
    requests++;
    if ((req.url ?? '').startsWith('/upload/')) uploadsStarted++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      bytesReceived += chunk.length;
      chunks.push(chunk);
    });
    req.on('error', () => {
      /* the client went away; nothing to answer */
    });
    req.on('end', () => {
      void (async () => {
        const endpoint = `http://${req.headers.host ?? '127.0.0.1'}`;
        const url = new URL(req.url ?? '/', endpoint);
        const faultReq: FaultRequest = { method: req.method ?? 'GET', path: apiPath(url.pathname), query: url.searchParams, kind: classify(req.method ?? 'GET', apiPath(url.pathname), url.searchParams) };
        const subject = faults.when === undefined || faults.when(faultReq);
        const body = Buffer.concat(chunks);
        try {
          if (subject && fires(faults.delay)) {
            faultsInjected++;
            await new Promise((resolve) => setTimeout(resolve, faults.delay!.ms));
          }
          if (subject && fires(faults.status)) {
            faultsInjected++;
            const code = faults.status!.code;
            await send(res, apiError(code, code === 429 ? 'The rate of change requests to the object is too high.' : 'Backend Error', code === 429 ? 'rateLimitExceeded' : 'backendError'), false);
            return;
          }
          const corrupt = subject && fires(faults.corrupt);
          if (corrupt) faultsInjected++;
          const reply = handle(req, body, endpoint, corrupt);
          const drop = subject && fires(faults.drop);
          if (drop) faultsInjected++;
          await send(res, reply, drop);
        } catch (err) {
          if (!res.headersSent) await send(res, apiError(500, `test server error: ${(err as Error).message}`, 'backendError'), false);
          else res.destroy();
        }
      })();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
    createBucket(name: string) {
      if (!buckets.has(name)) buckets.set(name, { name, created: new Date(), objects: new Map() });
    },
    objects(bucketName: string) {
      const bucket = buckets.get(bucketName);
      if (!bucket) throw new Error(`test GCS server: no bucket "${bucketName}"`);
      const view = new Map<string, Buffer>();
      for (const [name, o] of [...bucket.objects.entries()].sort((a, b) => compareNames(a[0], b[0]))) view.set(name, o.data);
      return view;
    },
    setFaults(next: FaultOptions) {
      faults = next;
    },
    get requests() {
      return requests;
    },
    get faultsInjected() {
      return faultsInjected;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    get uploadsStarted() {
      return uploadsStarted;
    },
    get resumableSessions() {
      return resumableSessions;
    },
  };
}
