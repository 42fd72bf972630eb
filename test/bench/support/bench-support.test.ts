// Proves the measuring pieces the pgloader and scale benchmarks rely on: pgloader's summary table
// is parsed into its stages, a child's peak RSS is read from /proc while it runs, and the
// PostgreSQL backends of one database are found and sampled. Cheap (~2 s); pgloader itself is not
// needed here.
import { inject, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase } from '../../support/postgres.js';
import { parsePgloaderSummary } from './pgloader.js';
import { runChild, runPlain } from '../child-run.js';
import { readProcMemory, runMeasured, withBackendWatch } from './process-memory.js';

// pgloader 3.6.7's summary for a 1M-row SQLite table, as printed on stdout (log lines included)
const SUMMARY = `2026-11-22T06:33:22.016000Z LOG pgloader version "3.6.7~devel"
2026-11-22T06:33:22.123999Z LOG Migrating from #<SQLITE-CONNECTION sqlite:///tmp/pgl/src.db {1005D91813}>
2026-11-22T06:33:26.063999Z LOG report summary reset
             table name     errors       rows      bytes      total time
-----------------------  ---------  ---------  ---------  --------------
                  fetch          0          0                     0.000s
        fetch meta data          0          2                     0.036s
          Create tables          0          2                     0.012s
-----------------------  ---------  ---------  ---------  --------------
               kv_store          0    1000000    46.5 MB          3.204s
-----------------------  ---------  ---------  ---------  --------------
COPY Threads Completion          0          4                     3.212s
 Index Build Completion          3          1                     0.408s
-----------------------  ---------  ---------  ---------  --------------
      Total import time          ✓    1000000    46.5 MB          4.092s
`;

describe('parsePgloaderSummary', () => {
  it('reads every stage line with its errors, rows, bytes and seconds, and nothing else', () => {
    const stages = parsePgloaderSummary(SUMMARY);
    expect(stages.map((s) => s.name)).toEqual(['fetch', 'fetch meta data', 'Create tables', 'kv_store', 'COPY Threads Completion', 'Index Build Completion', 'Total import time']);
    expect(stages[3]).toEqual({ name: 'kv_store', errors: 0, rows: 1_000_000, bytes: '46.5 MB', seconds: 3.204 });
    expect(stages[5]).toMatchObject({ errors: 3, rows: 1, bytes: null, seconds: 0.408 });
    expect(stages[6]).toEqual({ name: 'Total import time', errors: 0, rows: 1_000_000, bytes: '46.5 MB', seconds: 4.092 });
  });

  it('reads a time past a minute (1m0.160s on a loaded machine)', () => {
    const [total] = parsePgloaderSummary('      Total import time          ✓    1000000    46.5 MB        1m0.160s');
    expect(total).toEqual({ name: 'Total import time', errors: 0, rows: 1_000_000, bytes: '46.5 MB', seconds: 60.16 });
  });
});

describe('runMeasured', () => {
  it('reports the peak RSS of a child that touches 150 MB, well above an idle one, with its exit code and output', async () => {
    const idle = await runMeasured(process.execPath, ['-e', 'setTimeout(() => {}, 300)']);
    const big = await runMeasured(process.execPath, ['-e', 'const b = Buffer.alloc(150 * 1024 * 1024, 1); setTimeout(() => { console.log(b.length); process.exit(3); }, 300)']);
    expect(idle.code).toBe(0);
    expect(big.code).toBe(3);
    expect(big.stdout.trim()).toBe(String(150 * 1024 * 1024));
    expect(big.peakRssMb).toBeGreaterThan(150);
    expect(idle.peakRssMb).toBeGreaterThan(10);
    expect(idle.peakRssMb).toBeLessThan(big.peakRssMb - 100);
  });

  it("a child reports its own peak RSS, not the parent's it inherits through fork", async () => {
    // this process holds 400 MB while it starts the children: maxRSS would report 400 MB or more for them
    const held = Buffer.alloc(400 * 1024 * 1024, 1);
    const plain = await runPlain('test/bench/plain/hash-file.mjs', ['package.json']);
    const script = await runChild('test/bench/child-hash.ts', ['package.json']);
    expect(held.length).toBe(400 * 1024 * 1024);
    expect(plain.maxRssMb).toBeGreaterThan(10);
    expect(plain.maxRssMb).toBeLessThan(200);
    expect(script.maxRssMb).toBeGreaterThan(10);
    expect(script.maxRssMb).toBeLessThan(250);
  });

  it('reads this process from /proc and nothing for a pid that does not exist', () => {
    expect(readProcMemory(process.pid)?.hwmKb).toBeGreaterThan(1024);
    expect(readProcMemory(2 ** 22 + 1)).toBeNull();
  });
});

describe('withBackendWatch', () => {
  it('samples the backend serving a connection to the watched database, and only that database', async () => {
    const admin = inject('postgresAdminUrl');
    const tdb = await createTestDatabase('bench_watch', admin);
    const other = await createTestDatabase('bench_watch_other', admin);
    const client = new pg.Client({ connectionString: tdb.url });
    try {
      await client.connect();
      const { result, backend } = await withBackendWatch(admin, tdb.name, async () => {
        await client.query('SELECT pg_sleep(0.6)');
        return 'done';
      });
      expect(result).toBe('done');
      expect(backend.backends).toBe(1);
      expect(backend.peakHwmMb).toBeGreaterThan(1);
      // the same connection still open and busy, watched from a database nobody uses
      const [, elsewhere] = await Promise.all([client.query('SELECT pg_sleep(0.4)'), withBackendWatch(admin, other.name, () => new Promise((r) => setTimeout(r, 300)))]);
      expect(elsewhere.backend.backends).toBe(0);
      expect(elsewhere.backend.peakHwmMb).toBeNaN();
    } finally {
      await client.end();
      await tdb.drop();
      await other.drop();
    }
  });
});
