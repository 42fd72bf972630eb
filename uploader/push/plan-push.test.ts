import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobKey } from '../../schema/snapshot/object-keys.js';
import { CATALOGUE } from '../../schema/sources/catalogue.js';
import type { CapturedFile, CaptureOutcome } from '../snapshot/capture.js';
import type { DiscoveredFile } from '../workspace/discover.js';
import { completePush, type PlanPushOptions, planPush, type PushReadout, type StoredBlob, type WrittenBlob } from './plan-push.js';

const NOW = Date.parse('2026-01-02T03:04:05.000Z');
const TOUCH_AFTER = 10 * 60 * 1000;
const sha = (c: string) => c.repeat(64);

function discovered(path: string, state: DiscoveredFile['state'] = 'present'): DiscoveredFile {
  const entry = CATALOGUE[0]!;
  return { sourceId: `src-${path.replace(/\W/g, '')}`, spec: entry as unknown as DiscoveredFile['spec'], path, absPath: `/ws/${path}`, kind: 'sqlite', format: entry.format, state };
}

function captured(file: DiscoveredFile, chunks: Array<[string, number]>): CapturedFile {
  let offset = 0;
  const spans = chunks.map(([c, size]) => {
    const span = { offset, size, sha256: sha(c) };
    offset += size;
    return span;
  });
  return {
    status: 'captured',
    file,
    tempPath: `/tmp/x/${file.path}.copy`,
    sha256: createHash('sha256').update(chunks.map(([c]) => c).join('')).digest('hex'),
    size: offset,
    chunks: spans,
    capturedAt: new Date(NOW),
    modifiedAt: undefined,
    schemaFingerprint: sha('0'),
    tables: [{ name: 't', rows: 1 }],
    warnings: [],
  };
}

function readout(files: DiscoveredFile[], captures: CaptureOutcome[], stored: Record<string, StoredBlob | null> = {}, previous: PushReadout['previous'] = null): PushReadout {
  return {
    header: { snapshotId: '01JGXXXXXXXXXXXXXXXXXXXXXX', env: 'dev', createdAt: new Date(NOW), tool: { name: 'aqe-upload', version: '0.0.0' } },
    discovered: files,
    captures: new Map(captures.map((c) => [c.file, c])),
    stored: new Map(Object.entries(stored)),
    previous,
    localRoots: { workspace: ['/ws'], temp: '/tmp', home: '/home/me' },
  };
}

const OPTIONS: PlanPushOptions = { dryRun: false, skipUnchanged: false, codec: 'zstd', nowMs: NOW, touchAfterMs: TOUCH_AFTER };
const fresh = (size: number): StoredBlob => ({ codec: 'gzip', size, updated: new Date(NOW - TOUCH_AFTER / 2) });
const stale = (size: number): StoredBlob => ({ codec: 'zstd', size, updated: new Date(NOW - 30 * TOUCH_AFTER) });

describe('planPush', () => {
  it('uploads only chunks the store lacks, each once, from the first copy listing it; touches stale reused blobs and leaves fresh ones alone', () => {
    const a = discovered('a.db');
    const b = discovered('b.db');
    const r = readout([a, b], [captured(a, [['1', 10], ['2', 20], ['1', 10]]), captured(b, [['2', 20], ['3', 30], ['4', 40]])], { [sha('1')]: fresh(5), [sha('3')]: stale(7), [sha('4')]: null });
    const plan = planPush(r, OPTIONS);
    expect(plan.actions).toEqual([
      { kind: 'upload', sha256: sha('2'), size: 20, codec: 'zstd', from: { path: '/tmp/x/a.db.copy', offset: 10 } },
      { kind: 'touch', sha256: sha('3'), size: 30, codec: 'zstd', from: { path: '/tmp/x/b.db.copy', offset: 20 } },
      { kind: 'upload', sha256: sha('4'), size: 40, codec: 'zstd', from: { path: '/tmp/x/b.db.copy', offset: 50 } },
    ]);
    expect([...plan.newChunks].sort()).toEqual([sha('2'), sha('4')]);
    expect(plan.writeManifest).toBe(true);
  });

  it('plans no writes in a dry run, and the manifest lists new chunks with stored size 0 in the push codec', () => {
    const a = discovered('a.db');
    const r = readout([a], [captured(a, [['1', 10], ['2', 20]])], { [sha('1')]: fresh(5) });
    const plan = planPush(r, { ...OPTIONS, dryRun: true });
    expect(plan).toMatchObject({ actions: [], writeManifest: false });
    const done = completePush(plan, r, new Map(), 'zstd');
    const source = done.manifest.sources[0]!;
    expect(source.status === 'captured' && source.chunks).toEqual([
      { sha256: sha('1'), size: 10, storedSize: 5, codec: 'gzip', blobKey: blobKey(sha('1'), 'gzip') },
      { sha256: sha('2'), size: 20, storedSize: 0, codec: 'zstd', blobKey: blobKey(sha('2'), 'zstd') },
    ]);
    expect(done.figures[0]).toEqual({ chunks: 2, newChunks: 1, uploadedBytes: 0, skippedBytes: 10 });
    expect(done).toMatchObject({ uploadedBytes: 0, newBlobs: 1 });
  });

  it('with skipUnchanged writes no manifest when the content identity equals the latest manifest, and one when it differs', () => {
    const a = discovered('a.db');
    const gone = discovered('gone.db', 'missing');
    const r = readout([a, gone], [captured(a, [['1', 10]])], { [sha('1')]: fresh(5) });
    const previous = completePush(planPush(r, OPTIONS), r, new Map(), 'zstd').manifest;
    expect(planPush({ ...r, previous }, { ...OPTIONS, skipUnchanged: true })).toMatchObject({ unchanged: true, writeManifest: false, previousSnapshotId: previous.snapshotId });
    const changed = readout([a, gone], [captured(a, [['2', 10]])], {}, previous);
    expect(planPush(changed, { ...OPTIONS, skipUnchanged: true })).toMatchObject({ unchanged: false, writeManifest: true });
    expect(planPush(r, OPTIONS)).toMatchObject({ unchanged: false, previousSnapshotId: null });
  });

  it('lists missing and failed files with reasons free of local paths, and leaves excluded files out', () => {
    const a = discovered('a.db');
    const bad = discovered('bad.db');
    const excluded = discovered('x.db', 'excluded');
    const failed: CaptureOutcome = { status: 'failed', file: bad, code: 'SOURCE_CORRUPT', reason: '/ws/bad.db: damaged; see /home/me/notes' };
    const r = readout([a, bad, discovered('m.db', 'missing'), excluded], [captured(a, [['1', 1]]), failed]);
    const plan = planPush(r, OPTIONS);
    expect(plan.sources.map((s) => [s.file.path, s.status])).toEqual([
      ['a.db', 'captured'],
      ['bad.db', 'failed'],
      ['m.db', 'missing'],
    ]);
    expect(plan.sources[1]).toMatchObject({ reason: 'bad.db: damaged; see ~/notes', code: 'SOURCE_CORRUPT' });
    expect(plan.sources[2]).toMatchObject({ code: undefined });
  });
});

describe('completePush', () => {
  it('takes stored sizes and codecs from what was written, counts bytes sent once, and a chunk stored by another push meanwhile as existing', () => {
    const a = discovered('a.db');
    const b = discovered('b.db');
    const r = readout([a, b], [captured(a, [['1', 10], ['2', 20]]), captured(b, [['2', 20], ['3', 30]])], { [sha('1')]: fresh(4) });
    const plan = planPush(r, OPTIONS);
    const written = new Map<string, WrittenBlob>([
      [sha('2'), { codec: 'zstd', storedSize: 8, uploadedBytes: 8, existed: false }],
      [sha('3'), { codec: 'zstd', storedSize: 9, uploadedBytes: 0, existed: true }],
    ]);
    const done = completePush(plan, r, written, 'zstd');
    expect(done.figures).toEqual([
      { chunks: 2, newChunks: 1, uploadedBytes: 8, skippedBytes: 10 },
      { chunks: 2, newChunks: 1, uploadedBytes: 0, skippedBytes: 30 },
    ]);
    expect(done).toMatchObject({ uploadedBytes: 8, newBlobs: 1 });
    const sizes = done.manifest.sources.map((s) => (s.status === 'captured' ? s.storedSize : null));
    expect(sizes).toEqual([12, 17]);
  });
});
