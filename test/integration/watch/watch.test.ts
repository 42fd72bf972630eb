// `aqe-upload watch` as users run it: the real CLI as a child process over a built workspace, a
// concurrent SQLite writer in another process, a local bucket (with loads into native Postgres),
// a bucket that cannot be written, a load held up by a lock, and real SIGTERM / SIGINT.
import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advisoryLockKey, LOCK_NAMES } from '../../../functions/db/advisory-lock.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startWriter } from '../../support/sqlite-writer.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { tempFolder } from '../uploader/cli-harness.js';
import { startWatch, type WatchLine } from './watch-process.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Manifest keys of one environment in a local bucket. */
async function manifests(bucketDir: string, env: string): Promise<string[]> {
  const dir = join(bucketDir, 'snapshots', env);
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

describe('aqe-upload watch', () => {
  let tmp: string;
  let ws: string;
  let remove: () => Promise<void>;
  let tdb: TestDatabase;

  beforeAll(async () => {
    const t = await tempFolder('aqe-watch-');
    tmp = t.dir;
    remove = t.remove;
    ws = join(tmp, 'ws');
    await buildWorkspace(ws, { volume: 'small', seed: 3 });
    tdb = await createTestDatabase('watch');
  });
  afterAll(async () => {
    await tdb?.drop();
    await remove?.();
  });

  it('pushes (and loads) a burst of commits by a concurrent writer once, after the debounce window; a second burst once more', async () => {
    const w = startWatch(['-w', ws, '--env', 'burst', '--json', '--debounce', '700ms', '--poll', '300ms', '--database', tdb.url]);
    try {
      const start = await w.nextJson<WatchLine>(30_000);
      expect(start).toMatchObject({ reason: 'start', ok: true, error: null });
      expect(start.load?.status).toBe('loaded');

      for (const burst of [1, 2]) {
        const writer = await startWriter({ dbPath: join(ws, 'v3', '.agentic-qe', 'memory.db'), commitsPerSecond: 100 });
        await sleep(400);
        const { committed } = await writer.stop();
        expect(committed).toBeGreaterThan(10);
        const line = await w.nextJson<WatchLine>(15_000);
        expect(line, `burst ${burst}`).toMatchObject({ reason: 'change', ok: true, changedFiles: ['v3/.agentic-qe/memory.db'] });
        expect(line.triggers.every((p) => p.startsWith(join(ws, 'v3', '.agentic-qe', 'memory.db')))).toBe(true);
        expect(line.bytesSent).toBeGreaterThan(0);
        expect(line.manifestKey).toMatch(/^snapshots\/burst\/[0-9A-Z]{26}\/manifest\.json$/);
        expect(line.load?.status).toBe('loaded');
        // well past the debounce window: the burst made one push, not one per commit
        await sleep(1000);
        expect(w.pending()).toEqual([]);
      }
      expect(await manifests(join(ws, '.aqe-sync', 'bucket'), 'burst')).toHaveLength(3);
    } finally {
      const exit = await w.stop('SIGTERM');
      expect(exit, w.stderr()).toEqual({ code: 0, signal: null });
    }
    expect(w.stderr()).toContain('aqe-upload watch: stopped');
  });

  it('pushes every AQE_SYNC_INTERVAL seconds, whatever changed, and stops on SIGINT with exit 0', async () => {
    const w = startWatch(['-w', ws, '--env', 'periodic', '--json', '--no-load'], { AQE_SYNC_INTERVAL: '1' });
    try {
      const lines = [await w.nextJson<WatchLine>(20_000), await w.nextJson<WatchLine>(5000), await w.nextJson<WatchLine>(5000)];
      expect(lines.map((l) => [l.reason, l.ok])).toEqual([
        ['start', true],
        ['interval', true],
        ['interval', true],
      ]);
      const times = lines.map((l) => Date.parse(l.at));
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(990);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(990);
      expect(times[2]! - times[1]!).toBeLessThan(2500);
      expect(lines[2]!.load).toBeNull(); // --no-load
    } finally {
      const exit = await w.stop('SIGINT');
      expect(exit, w.stderr()).toEqual({ code: 0, signal: null });
    }
  });

  it('backs off exponentially while the bucket cannot be written, recovers, and starts again from the shortest delay', async () => {
    const bucket = join(tmp, 'bucket-is-a-file');
    await writeFile(bucket, 'not a folder');
    const touched = join(ws, '.claude-flow', 'daemon-state.json');
    const w = startWatch(['-w', ws, '--env', 'backoff', '--json', '--no-load', '--bucket', pathToFileURL(bucket).href, '--debounce', '100ms', '--poll', '200ms', '--retry-min', '300ms', '--retry-max', '1s']);
    try {
      const failures = [await w.nextJson<WatchLine>(20_000), await w.nextJson<WatchLine>(5000), await w.nextJson<WatchLine>(5000), await w.nextJson<WatchLine>(5000)];
      expect(failures.map((l) => [l.reason, l.ok])).toEqual([
        ['start', false],
        ['retry', false],
        ['retry', false],
        ['retry', false],
      ]);
      expect(failures[0]!.error?.message).toContain(bucket);
      const delays = failures.map((l) => l.retryInMs!);
      // 300 ms, 600 ms, then capped at 1 s (minus the few ms the push took)
      expect(delays[0]).toBeGreaterThan(200);
      expect(delays[0]).toBeLessThanOrEqual(300);
      expect(delays[1]).toBeGreaterThan(500);
      expect(delays[2]).toBeGreaterThan(900);
      expect(delays[3]).toBeGreaterThan(900);
      expect(delays[3]).toBeLessThanOrEqual(1000);
      const gap = Date.parse(failures[2]!.at) - Date.parse(failures[1]!.at);
      expect(gap).toBeGreaterThanOrEqual(590);

      await rm(bucket);
      const recovered = await w.nextJson<WatchLine>(5000);
      expect(recovered).toMatchObject({ reason: 'retry', ok: true, error: null });
      expect(recovered.manifestKey).not.toBeNull();

      // a success resets the backoff: the next failure waits the shortest delay again
      await rm(bucket, { recursive: true });
      await writeFile(bucket, 'a file again');
      const later = new Date(Date.now() + 5000);
      await utimes(touched, later, later);
      const failedAgain = await w.nextJson<WatchLine>(5000);
      expect(failedAgain).toMatchObject({ reason: 'change', ok: false, triggers: [touched] });
      expect(failedAgain.retryInMs).toBeLessThanOrEqual(300);
    } finally {
      // stopping during a backoff does not wait for the retry
      const exit = await w.stop('SIGTERM');
      expect(exit, w.stderr()).toEqual({ code: 0, signal: null });
    }
  });

  it('on SIGTERM during a push lets it finish (and its load), then exits 0 with its watchers and timers closed', async () => {
    // The test holds the loader's lock for this environment: the push's load waits on it, so the
    // signal surely arrives while the push is in flight.
    const blocker = new pg.Client({ connectionString: tdb.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryLockKey(LOCK_NAMES.environment('term'))]);
    const w = startWatch(['-w', ws, '--env', 'term', '--database', tdb.url]);
    try {
      await w.waitForStderr('Ctrl-C to stop', 20_000);
      await sleep(1000);
      expect(w.pending()).toEqual([]);
      process.kill(w.pid, 'SIGTERM');
      await w.waitForStderr('SIGTERM: stopping after the push in flight', 5000);
      await sleep(300);
      expect(w.pending()).toEqual([]);
    } finally {
      await blocker.query('COMMIT');
      await blocker.end();
    }
    const exit = await w.stop(null);
    expect(exit, w.stderr()).toEqual({ code: 0, signal: null });
    const [line, ...rest] = w.pending();
    expect(rest).toEqual([]);
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ push \(start\): \d+ files? changed, [\d.]+ (B|KB|MB) sent, snapshots\/term\/[0-9A-Z]{26}\/manifest\.json; load loaded$/);
    expect(w.stderr()).toContain('aqe-upload watch: stopped');
    expect(await manifests(join(ws, '.aqe-sync', 'bucket'), 'term')).toHaveLength(1);
  });
});
