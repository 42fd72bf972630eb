// The JSON-API test server itself, over plain HTTP: the parts the BlobStore suite does not reach
// through the client (Range, delimiter and paging, the resumable protocol's 308s, error bodies).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsBlobStore } from '../../functions/storage/gcs-blob-store.js';
import { isAppError } from '../../schema/errors.js';
import { crc32c, crc32cBase64, type GcsServer, startGcsServer } from '../support/gcs-server.js';

let server: GcsServer;
const B = 'raw-bucket';

async function upload(name: string, body: string, query = ''): Promise<Response> {
  return fetch(`${server.endpoint}/upload/storage/v1/b/${B}/o?uploadType=media&name=${encodeURIComponent(name)}${query}`, { method: 'POST', body });
}

beforeAll(async () => {
  server = await startGcsServer();
  server.createBucket(B);
  for (const name of ['a/1', 'a/2', 'a/b/3', 'a/b/4', 'c']) expect((await upload(name, `body of ${name}`)).status).toBe(200);
});
afterAll(async () => {
  await server.close();
});

describe('GCS JSON-API test server', () => {
  it('serves the client configured only by STORAGE_EMULATOR_HOST (as the CLI is), whose calls go to /b/…', async () => {
    const saved = process.env['STORAGE_EMULATOR_HOST'];
    process.env['STORAGE_EMULATOR_HOST'] = server.endpoint;
    let store: GcsBlobStore;
    let missing: GcsBlobStore;
    try {
      server.createBucket('emulated-bucket');
      store = new GcsBlobStore({ bucket: 'emulated-bucket', storageOptions: { projectId: 'test' }, retry: { maxRetries: 0 } });
      missing = new GcsBlobStore({ bucket: 'no-such-emulated-bucket', storageOptions: { projectId: 'test' }, retry: { maxRetries: 0 } });
    } finally {
      if (saved === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
      else process.env['STORAGE_EMULATOR_HOST'] = saved;
    }
    await store.put('emulated/x', Buffer.from('via the emulator host'));
    expect((await store.get('emulated/x')).toString()).toBe('via the emulator host');
    expect((await store.stat('emulated/x'))?.size).toBe(21);
    expect(await store.touch('emulated/x')).not.toBeNull();
    await store.check('emulated/none');
    const err = await missing.check('blobs/none').catch((e: unknown) => e);
    expect(isAppError(err, 'BUCKET_NOT_FOUND'), String(err)).toBe(true);
  });


  it('computes CRC32C (Castagnoli) like GCS', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cBase64(Buffer.alloc(0))).toBe('AAAAAA==');
  });

  it('returns the object resource with size, generation and checksums', async () => {
    const res = await fetch(`${server.endpoint}/storage/v1/b/${B}/o/${encodeURIComponent('a/b/3')}`);
    const body = (await res.json()) as Record<string, string>;
    expect(res.status).toBe(200);
    expect(body['name']).toBe('a/b/3');
    expect(body['size']).toBe(String('body of a/b/3'.length));
    expect(body['crc32c']).toBe(crc32cBase64(Buffer.from('body of a/b/3')));
    expect(body['generation']).toMatch(/^\d+$/);
  });

  it('serves byte ranges with 206 and the whole-object hashes', async () => {
    const url = `${server.endpoint}/storage/v1/b/${B}/o/c?alt=media`;
    const part = await fetch(url, { headers: { Range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('dy o');
    expect(part.headers.get('content-range')).toBe('bytes 2-5/9');
    expect(part.headers.get('x-goog-hash')).toContain(`crc32c=${crc32cBase64(Buffer.from('body of c'))}`);
    const tail = await fetch(url, { headers: { Range: 'bytes=-3' } });
    expect(await tail.text()).toBe('f c');
    expect((await fetch(url, { headers: { Range: 'bytes=50-' } })).status).toBe(416);
  });

  it('lists with a delimiter (prefixes) and pages with maxResults / pageToken', async () => {
    const top = (await (await fetch(`${server.endpoint}/storage/v1/b/${B}/o?prefix=a/&delimiter=/`)).json()) as { items: Array<{ name: string }>; prefixes: string[] };
    expect(top.items.map((i) => i.name)).toEqual(['a/1', 'a/2']);
    expect(top.prefixes).toEqual(['a/b/']);
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = (await (await fetch(`${server.endpoint}/storage/v1/b/${B}/o?maxResults=2${token ? `&pageToken=${token}` : ''}`)).json()) as {
        items: Array<{ name: string }>;
        nextPageToken?: string;
      };
      names.push(...page.items.map((i) => i.name));
      token = page.nextPageToken;
      pages++;
    } while (token);
    expect(names).toEqual(['a/1', 'a/2', 'a/b/3', 'a/b/4', 'c']);
    expect(pages).toBe(3);
  });

  it('enforces ifGenerationMatch=0 with a 412 in Google error format', async () => {
    const res = await upload('c', 'other', '&ifGenerationMatch=0');
    expect(res.status).toBe(412);
    const body = (await res.json()) as { error: { code: number; errors: Array<{ reason: string }> } };
    expect(body.error.code).toBe(412);
    expect(body.error.errors[0]?.reason).toBe('conditionNotMet');
    expect(server.objects(B).get('c')?.toString()).toBe('body of c');
  });

  it('answers 404 for a missing bucket and a missing object, distinctly', async () => {
    const noBucket = (await (await fetch(`${server.endpoint}/storage/v1/b/nope/o/x`)).json()) as { error: { message: string } };
    expect(noBucket.error.message).toBe('The specified bucket does not exist.');
    const noObject = (await (await fetch(`${server.endpoint}/storage/v1/b/${B}/o/x`)).json()) as { error: { message: string } };
    expect(noObject.error.message).toBe(`No such object: ${B}/x`);
  });

  it('runs the resumable protocol: session URI, 308 with Range, status query, final object', async () => {
    const start = await fetch(`${server.endpoint}/upload/storage/v1/b/${B}/o?uploadType=resumable&name=resumed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-upload-content-type': 'text/plain' },
      body: JSON.stringify({ metadata: { k: 'v' } }),
    });
    const session = start.headers.get('location');
    expect(session).toContain('upload_id=');
    const first = await fetch(session!, { method: 'PUT', headers: { 'content-range': 'bytes 0-3/*' }, body: 'abcd' });
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe('bytes=0-3');
    const status = await fetch(session!, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
    expect(status.status).toBe(308);
    expect(status.headers.get('range')).toBe('bytes=0-3');
    // Overlapping re-send of byte 3: only the new bytes are kept.
    const last = await fetch(session!, { method: 'PUT', headers: { 'content-range': 'bytes 3-6/7', 'x-goog-hash': `crc32c=${crc32cBase64(Buffer.from('abcdefg'))}` }, body: 'defg' });
    expect(last.status).toBe(200);
    const resource = (await last.json()) as { size: string; contentType: string; metadata: Record<string, string> };
    expect(resource).toMatchObject({ size: '7', contentType: 'text/plain', metadata: { k: 'v' } });
    expect(server.objects(B).get('resumed')?.toString()).toBe('abcdefg');
  });

  it('rejects an upload whose X-Goog-Hash does not match its bytes', async () => {
    const res = await fetch(`${server.endpoint}/upload/storage/v1/b/${B}/o?uploadType=media&name=hashed`, {
      method: 'POST',
      headers: { 'x-goog-hash': `crc32c=${crc32cBase64(Buffer.from('something else'))}` },
      body: 'the bytes',
    });
    expect(res.status).toBe(400);
    expect(server.objects(B).has('hashed')).toBe(false);
  });

  it('injects faults for the next N matching requests and counts them', async () => {
    const before = server.faultsInjected;
    server.setFaults({ status: { code: 503, next: 2 }, when: (r) => r.kind === 'metadata' });
    const url = `${server.endpoint}/storage/v1/b/${B}/o/c`;
    expect((await fetch(`${server.endpoint}/storage/v1/b/${B}/o`)).status).toBe(200); // not matching
    expect((await fetch(url)).status).toBe(503);
    expect((await fetch(url)).status).toBe(503);
    expect((await fetch(url)).status).toBe(200);
    expect(server.faultsInjected).toBe(before + 2);
    server.setFaults({ drop: { next: 1 } });
    await expect(fetch(url).then((r) => r.text())).rejects.toThrow();
    server.setFaults({});
  });
});
