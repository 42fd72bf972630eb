// The soak, 60 s of it (the driver of `npm run soak`, test/soak/soak.ts): two writer processes keep
// committing inserts, updates and deletes to the workspace's SQLite sources (one WAL, one
// rollback journal) while the real `aqe-upload watch` pushes to a file:// bucket and loads into
// native PostgreSQL; at the end every committed marker has reached the database, the watch stops
// on SIGTERM with exit 0, the real `aqe-upload verify` finds no difference, nothing is left running
// and the watch's memory stayed flat. A negative control (commits made after the watch stopped)
// shows that verify does report what the cloud lacks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { renderSoakSummary, runSoak, soakProblems } from '../../soak/soak.js';

describe('soak: watch + concurrent writers + loads for 60 s', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('soak');
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('carries every commit of writers that never pause into PostgreSQL, and verify then finds zero differences', { timeout: 170_000 }, async () => {
    const s = await runSoak({ durationMs: 60_000, databaseUrl: tdb.url, volume: 'small', rssEveryMs: 2000, negativeControl: true });
    const text = renderSoakSummary(s);
    console.log(text);

    // verify: the real CLI, exit 0, nothing missing, extra or different
    expect(s.verify, text).toMatchObject({ exitCode: 0, equal: true, totals: { differingPairs: 0, missing: 0, extra: 0, different: 0 } });
    expect(s.verify.totals?.pairs).toBeGreaterThan(10);
    expect(soakProblems(s), text).toEqual([]);
    // …and it really compares: after commits the stopped watch never pushed, it reports them missing
    expect(s.control, text).toMatchObject({ exitCode: 1, equal: false });
    expect(s.control?.totals?.missing).toBeGreaterThanOrEqual(s.writers.length);

    // the writers really inserted, updated and deleted, all through the soak
    expect(s.soakMs).toBeGreaterThanOrEqual(60_000);
    for (const w of s.writers) {
      expect(w.commits, `${w.kind}\n${text}`).toBeGreaterThan(200);
      expect(w.updates).toBeGreaterThan(20);
      expect(w.deletes).toBeGreaterThan(5);
      // every marker reached the database (the newest one seen = the last one committed)
      expect(w.visibleMarker, `${w.kind}\n${text}`).toBe(w.lastMarker);
      expect(w.lag.unseen).toBe(0);
    }
    expect(s.lag.samples).toBe(s.writers.reduce((a, w) => a + w.lastMarker - w.firstMarker + 1, 0));
    expect(Number.isFinite(s.lag.p95Ms), text).toBe(true);
    expect(s.lag.p95Ms, text).toBeLessThan(60_000);

    // the watch kept pushing and every push loaded, without failures or partial snapshots
    expect(s.pushes.total, text).toBeGreaterThanOrEqual(8);
    expect(s.pushes, text).toMatchObject({ failed: 0, partial: 0 });
    expect(s.loads.byStatus, text).toEqual({ loaded: s.pushes.total });
    expect(s.loads.syncRuns, text).toEqual({ succeeded: s.pushes.total });

    // stopped cleanly, nothing left running
    expect(s.watch, text).toMatchObject({ exitCode: 0, signal: null });
    expect(s.leakedPids).toEqual([]);

    // memory did not grow without bound (generous: the heap settles after the first pushes)
    expect(s.rss.samples.length, text).toBeGreaterThanOrEqual(20);
    expect(s.rss.lastKb, text).toBeLessThan(2 * s.rss.firstThirdMaxKb);
  });
});
