// runLoad's discriminated result against a real database (PGlite) and bucket (a local folder):
// loaded, duplicate (the ledger's one retry rule), quarantined, failed (recorded for a retry, or
// reported as unrecorded when the ledger itself cannot write: never swallowed). The failures are
// made real by triggers on aqe.sync_runs raising the SQLSTATEs PostgreSQL raises for them.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import type { PgliteDatabase } from '../../../functions/db/pglite-database.js';
import { runLoad } from '../../../functions/loader/load-snapshot.js';
import { RunLedger } from '../../../functions/loader/write/run-ledger.js';
import { createLogger } from '../../../functions/observability/logger.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { type HandSource, snapshotIdFor, tempDir, writeSnapshot } from '../../e2e/support/e2e-fixtures.js';
import { openTestPglite } from '../../support/postgres.js';

const SOURCE: HandSource = {
  path: '.claude-flow/memory/store.json',
  sourceId: 'claude-flow-store',
  format: 'claude-flow-store',
  bytes: Buffer.from(JSON.stringify({ version: '3.0.0', entries: { a: { key: 'a', value: 1 }, b: { key: 'b', value: 'two' } } })),
};

let tmp: Awaited<ReturnType<typeof tempDir>>;
let db: PgliteDatabase;
let store: LocalDirBlobStore;
const lines: Record<string, unknown>[] = [];
const log = createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
const events = () => lines.map((l) => l['event']);
let n = 0;
const snapshot = async (env = 'lr', keyEnv?: string) =>
  (await writeSnapshot(store, { env, snapshotId: snapshotIdFor(++n), sources: [SOURCE], ...(keyEnv ? { keyEnv } : {}) })).manifestKey;

beforeAll(async () => {
  tmp = await tempDir('aqe-load-result-');
  store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
  db = await openTestPglite();
  await ensureMigrated(db);
});
afterAll(async () => {
  await db?.close();
  await tmp?.remove();
});

describe('runLoad', () => {
  it('returns loaded, then duplicate for a redelivery of the same manifest', async () => {
    const key = await snapshot();
    const first = await runLoad({ store, db, log }, key);
    expect(first).toMatchObject({ status: 'loaded', env: 'lr' });
    expect(first.status === 'loaded' && first.totals.inserted).toBeGreaterThan(0);
    const again = await runLoad({ store, db, log }, key);
    expect(again).toMatchObject({ status: 'duplicate', runId: first.status === 'loaded' ? first.runId : -1, previousStatus: 'succeeded' });
  });

  it('returns quarantined for bad content, logged once by the orchestrator', async () => {
    lines.length = 0;
    const key = await snapshot('other', 'lr');
    const r = await runLoad({ store, db, log }, key);
    expect(r).toMatchObject({ status: 'quarantined', code: 'MANIFEST_ENV_MISMATCH' });
    expect(events()).toEqual(['sync_quarantined']);
    expect((await new RunLedger(db).openQuarantine('lr')).map((q) => q.manifestKey)).toEqual([key]);
  });

  it('returns failed and recorded for a terminal database error, and the redelivery loads it under a new run', async () => {
    lines.length = 0;
    await db.query(`CREATE FUNCTION aqe.test_refuse_success() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.status = 'succeeded' THEN RAISE EXCEPTION 'column "x" does not exist' USING ERRCODE = '42703'; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER test_refuse_success BEFORE UPDATE ON aqe.sync_runs FOR EACH ROW EXECUTE FUNCTION aqe.test_refuse_success()`);
    const key = await snapshot();
    const r = await runLoad({ store, db, log }, key);
    expect(r).toMatchObject({ status: 'failed', code: 'DB_SCHEMA', transient: false, recorded: true });
    expect(events()).toEqual(['sync_failed']);
    const ledger = new RunLedger(db);
    const failed = (await ledger.runs()).find((x) => x.manifestKey === key);
    expect(failed).toMatchObject({ status: 'failed', manifestKey: key });
    expect(failed?.error).toMatch(/does not exist/);

    // the recording of that failure fails too: the result says so and a log line names it
    lines.length = 0;
    await db.query(`CREATE FUNCTION aqe.test_refuse_failed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.status = 'failed' THEN RAISE EXCEPTION 'disk full' USING ERRCODE = '53100'; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER test_refuse_failed BEFORE INSERT ON aqe.sync_runs FOR EACH ROW EXECUTE FUNCTION aqe.test_refuse_failed()`);
    const unrecordedKey = await snapshot();
    const u = await runLoad({ store, db, log }, unrecordedKey);
    expect(u).toMatchObject({ status: 'failed', code: 'DB_SCHEMA', recorded: false });
    expect(events()).toEqual(['sync_failure_unrecorded', 'sync_failed']);
    expect((await ledger.runs()).some((x) => x.manifestKey === unrecordedKey)).toBe(false);

    // the one retry rule: a failed run is loaded again when its manifest is delivered again
    await db.query('DROP TRIGGER test_refuse_success ON aqe.sync_runs');
    await db.query('DROP TRIGGER test_refuse_failed ON aqe.sync_runs');
    const retried = await runLoad({ store, db, log }, key);
    expect(retried).toMatchObject({ status: 'loaded' });
    expect(retried.status === 'loaded' && retried.runId).toBeGreaterThan(failed!.id);
  });

  it('returns failed and transient, unrecorded, when the bucket cannot be read', async () => {
    const key = await snapshot();
    const flaky = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
    flaky.getStream = () => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const r = await runLoad({ store: flaky, db, log }, key);
    expect(r).toMatchObject({ status: 'failed', transient: true, recorded: false });
    expect((await new RunLedger(db).runs()).some((x) => x.manifestKey === key)).toBe(false);
  });
});
