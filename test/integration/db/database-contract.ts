// One contract suite for the Database implementations + migrator + merge writer, run against
// native PostgreSQL (dialect none) and PGlite (dialect pgvector) by the two *.test.ts files here.
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, DatabaseConnection, Queryable } from '../../../functions/db/database.js';
import { type VectorDialect, EMBEDDING_DIM, dialectSql } from '../../../functions/db/dialect.js';
import { detectDialect } from '../../../functions/db/dialects/detect-dialect.js';
import { encodeCopyValue, encodeVectorLiteral, jsonText as jsonTextForTest, newEncodeStats } from '../../../functions/db/copy-encoding.js';
import { defaultMigrationsDir, ensureMigrated, loadMigrations, migrate, readDialect } from '../../../functions/db/migrate.js';
import { type TableMergeCounts, mergeTableRows, RunLedger } from '../../../functions/loader/write/index.js';
import { isAppError } from '../../../schema/errors.js';
import { COMMON_COLUMNS, EMBEDDING_COLUMNS, RUN_COLUMNS, TARGET_TABLES, type TargetRow, targetTable } from '../../../schema/tables/target-tables.js';

export interface ContractTarget {
  name: string;
  dialect: VectorDialect;
  /** A fresh, empty database. */
  fresh(): Promise<{ db: DatabaseConnection; dispose(): Promise<void> }>;
}

let envCounter = 0;
/** A unique environment name per test: tests share a migrated database but never each other's rows. */
export const uniqueEnv = (label: string) => `${label}-${process.pid}-${++envCounter}`;

/** Builds a TargetRow for `table` with sensible defaults. */
export function aRow(table: string, key: string, overrides: Partial<TargetRow> = {}): TargetRow {
  return {
    table,
    sourceTable: overrides.sourceTable ?? table,
    sourceKey: key,
    contentHash: overrides.contentHash ?? `hash-${key}`,
    sourceUpdatedAt: overrides.sourceUpdatedAt === undefined ? new Date('2026-01-01T00:00:00Z') : overrides.sourceUpdatedAt,
    values: overrides.values ?? {},
    extra: overrides.extra ?? null,
    ...(overrides.searchText !== undefined ? { searchText: overrides.searchText } : {}),
    ...(overrides.embedding !== undefined ? { embedding: overrides.embedding } : {}),
  };
}

const unitVector = (i: number): number[] => {
  const v = new Array<number>(EMBEDDING_DIM).fill(0);
  v[i % EMBEDDING_DIM] = 1;
  return v;
};

let runCounter = 0;
async function load(
  db: Database,
  o: { env: string; table: string; rows: TargetRow[]; snapshotAt?: Date; sourceId?: string; full?: string[]; late?: boolean; oneShot?: boolean },
): Promise<{ runId: number; counts: TableMergeCounts }> {
  return db.transaction(async (tx) => {
    const ledger = new RunLedger(tx);
    await ledger.lockEnvironment(o.env);
    const begun = await ledger.begin({
      manifestSha: `sha-${process.pid}-${++runCounter}-${Math.random()}`,
      env: o.env,
      snapshotId: `snap-${runCounter}`,
      manifestKey: `snapshots/${o.env}/snap-${runCounter}/manifest.json`,
      snapshotCreatedAt: o.snapshotAt ?? new Date('2026-02-01T00:00:00Z'),
    });
    if (begun.status !== 'begun') throw new Error(`run ${begun.run.id} already ${begun.run.status}`);
    const runId = begun.runId;
    const counts = await mergeTableRows(tx, {
      runId,
      env: o.env,
      sourceId: o.sourceId ?? 'v3-memory',
      snapshotAt: o.snapshotAt ?? new Date('2026-02-01T00:00:00Z'),
      table: targetTable(o.table),
      // an array can be read twice (direct COPY allowed); a one-shot generator always stages
      rows: o.oneShot ? (function* () { yield* o.rows; })() : o.rows,
      ...(o.full ? { fullSourceTables: o.full } : {}),
      ...(o.late ? { late: true } : {}),
    });
    await ledger.finish(runId, { status: 'succeeded', tables: { [o.table]: counts } });
    return { runId, counts };
  });
}

/** A stored hash (bytea since migration 025) as the string the test wrote: a non-sha256 string is stored as its UTF-8 bytes. */
function hashText(v: unknown): unknown {
  if (!ArrayBuffer.isView(v)) return v;
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return b.every((x) => x >= 0x20 && x < 0x7f) ? b.toString('utf8') : b.toString('hex');
}

async function rowsOf(db: Queryable, table: string, env: string): Promise<Record<string, unknown>[]> {
  const rows = (await db.query<Record<string, unknown>>(`SELECT * FROM aqe.${table} WHERE source_env = $1 ORDER BY source_table, source_key`, [env])).rows;
  return rows.map((r) => ({ ...r, content_hash: hashText(r['content_hash']), ...('embedding_text_hash' in r ? { embedding_text_hash: hashText(r['embedding_text_hash']) } : {}) }));
}

async function undoOf(db: Queryable, runId: number): Promise<Record<string, unknown>[]> {
  return (await db.query('SELECT op, source_key, pre_image FROM aqe.undo_log WHERE run_id = $1 ORDER BY id', [String(runId)])).rows;
}

export function describeDatabaseContract(target: ContractTarget): void {
  describe(`Database contract on ${target.name} (dialect ${target.dialect})`, () => {
    let db: DatabaseConnection;
    /** `db` migrated: the same connection, carrying its dialect (what the merge writer needs). */
    let migrated: Database;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      ({ db, dispose } = await target.fresh());
      await migrate(db);
      migrated = await ensureMigrated(db);
    });
    afterAll(async () => {
      await db?.close();
      await dispose?.();
    });

    describe('migrations', () => {
      it(`detects dialect ${target.dialect} and records it`, async () => {
        expect(await detectDialect(db)).toBe(target.dialect);
        expect(await readDialect(db)).toBe(target.dialect);
        expect(migrated.dialect).toBe(dialectSql(target.dialect));
        const rows = (await db.query<{ dialect: string }>('SELECT DISTINCT dialect FROM aqe.schema_migrations')).rows;
        expect(rows).toEqual([{ dialect: target.dialect }]);
      });

      it('applies every step once and a rerun is a no-op', async () => {
        const steps = await loadMigrations();
        const applied = (await db.query<{ name: string }>('SELECT name FROM aqe.schema_migrations ORDER BY name')).rows.map((r) => r.name);
        expect(applied).toEqual(steps.map((s) => s.name));
        const again = await migrate(db);
        expect(again).toEqual({ applied: [], dialect: target.dialect });
      });

      it('creates exactly the columns of target-tables.ts on every target table', async () => {
        const res = await db.query<{ table_name: string; column_name: string; data_type: string; udt_name: string }>(
          `SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns WHERE table_schema = 'aqe' ORDER BY table_name, ordinal_position`,
        );
        const sqlName = (t: string) => ({ double: 'double precision', timestamptz: 'timestamp with time zone' })[t] ?? t;
        const arrayName = (t: string) => ({ 'real[]': '_float4', 'double[]': '_float8' })[t];
        const embeddingType = { pgvector: 'vector', ruvector: 'ruvector', none: '_float4' }[target.dialect];
        for (const table of TARGET_TABLES) {
          const actual = res.rows.filter((r) => r.table_name === table.name).map((r) => `${r.column_name}:${r.data_type === 'USER-DEFINED' || r.data_type === 'ARRAY' ? r.udt_name : r.data_type}`);
          const expected = [
            ...[...COMMON_COLUMNS, ...table.columns].map((c) => `${c.name}:${arrayName(c.type) ?? sqlName(c.type)}`),
            ...RUN_COLUMNS.map((c) => `${c}:${c.endsWith('_id') ? 'bigint' : 'timestamp with time zone'}`),
            ...(table.embedded ? [...EMBEDDING_COLUMNS.map((c) => `${c}:${c === 'embedding' ? embeddingType : c === 'embedding_text_hash' ? 'bytea' : 'text'}`), 'search_tsv:tsvector'] : []),
          ];
          // columns added by later migrations come last (ALTER TABLE ADD COLUMN): compare as sets
          expect([...actual].sort(), `columns of aqe.${table.name}`).toEqual([...expected].sort());
        }
        const bookkeeping = ['schema_migrations', 'settings', 'sync_runs', 'sync_state', 'quarantine', 'undo_log', 'embedding_cache'];
        for (const t of bookkeeping) expect(res.rows.some((r) => r.table_name === t), t).toBe(true);
      });

      it('indexes search_tsv (GIN) and, with an extension, the embeddings (HNSW)', async () => {
        const idx = (await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'aqe' AND indexname LIKE '%memory_entries%'`)).rows.map((r) => r.indexdef);
        expect(idx.some((d) => /USING gin \(search_tsv\)/.test(d))).toBe(true);
        expect(idx.some((d) => /USING hnsw/.test(d))).toBe(target.dialect !== 'none');
      });

      it('keys every target table by the natural key led by source_key, with a per-source index beside it', async () => {
        // source_key first: an index build sorts on abbreviated keys of the first column (migration 014)
        for (const table of TARGET_TABLES) {
          const defs = (await db.query<{ def: string }>(`SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = $1::regclass AND indisprimary`, [`aqe.${table.name}`])).rows.map((r) => r.def);
          expect(defs, `primary key of aqe.${table.name}`).toEqual([expect.stringMatching(/USING btree \(source_key, source_table, source_id, source_env\)$/)]);
          const all = (await db.query<{ def: string }>(`SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = $1::regclass`, [`aqe.${table.name}`])).rows.map((r) => r.def);
          expect(all.some((d) => /USING btree \(source_env, source_id, source_table\)$/.test(d)), `per-source index of aqe.${table.name}`).toBe(true);
        }
      });

      it('refuses edited, deleted and out-of-order history, naming the file', async () => {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'aqe-mig-'));
        const { db: fresh, dispose: drop } = await target.fresh();
        try {
          await cp(defaultMigrationsDir(), dir, { recursive: true });
          await migrate(fresh, { migrationsDir: dir });
          const file = path.join(dir, '007_create_sync_runs.sql');
          const original = await readFile(file, 'utf8');
          await writeFile(file, `${original}\n-- edited\n`);
          const edited = await migrate(fresh, { migrationsDir: dir }).catch((e: unknown) => e);
          expect(isAppError(edited, 'MIGRATION_HISTORY_EDITED')).toBe(true);
          expect((edited as Error).message).toContain('007_create_sync_runs.sql');
          expect((edited as Error).message).toMatch(/new migration/);
          await writeFile(file, original.replace(/\n/g, '\r\n')); // line endings alone are not an edit
          expect((await migrate(fresh, { migrationsDir: dir })).applied).toEqual([]);
          await unlink(file);
          const deleted = await migrate(fresh, { migrationsDir: dir }).catch((e: unknown) => e);
          expect(isAppError(deleted, 'MIGRATION_HISTORY_EDITED')).toBe(true);
          expect((deleted as Error).message).toContain('007_create_sync_runs');
          await writeFile(file, original);
          await writeFile(path.join(dir, '999_create_later_table.sql'), 'CREATE TABLE aqe.later_table (id int);');
          expect((await migrate(fresh, { migrationsDir: dir })).applied).toEqual(['999_create_later_table']);
          // a new step numbered before an applied one: forward-only
          await writeFile(path.join(dir, '500_add_something_late.sql'), 'SELECT 1;');
          const early = await migrate(fresh, { migrationsDir: dir }).catch((e: unknown) => e);
          expect(isAppError(early, 'MIGRATION_HISTORY_EDITED')).toBe(true);
          expect((early as Error).message).toContain('500_add_something_late');
        } finally {
          await fresh.close();
          await drop();
          await rm(dir, { recursive: true, force: true });
        }
      });

      it('a failing step leaves nothing of itself and is reported as MIGRATION_FAILED', async () => {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'aqe-mig-'));
        const { db: fresh, dispose: drop } = await target.fresh();
        try {
          await cp(defaultMigrationsDir(), dir, { recursive: true });
          await writeFile(path.join(dir, '998_create_broken.sql'), 'CREATE TABLE aqe.half_done (id int);\nSELECT no_such_function();');
          const err = await migrate(fresh, { migrationsDir: dir }).catch((e: unknown) => e);
          expect(isAppError(err, 'MIGRATION_FAILED')).toBe(true);
          expect((err as Error).message).toContain('998_create_broken.sql');
          const half = await fresh.query(`SELECT to_regclass('aqe.half_done')::text AS t`);
          expect(half.rows[0]).toEqual({ t: null });
        } finally {
          await fresh.close();
          await drop();
          await rm(dir, { recursive: true, force: true });
        }
      });

      it('concurrent migrators on one database apply each step exactly once', async () => {
        // a pg pool runs the three on separate connections; PGlite serialises them on its one
        const { db: fresh, dispose: drop } = await target.fresh();
        try {
          const results = await Promise.all([fresh, fresh, fresh].map((d) => migrate(d)));
          const all = results.flatMap((r) => r.applied).sort();
          const steps = (await loadMigrations()).map((s) => s.name);
          expect(all).toEqual(steps);
          expect(new Set(results.map((r) => r.dialect))).toEqual(new Set([target.dialect]));
        } finally {
          await fresh.close();
          await drop();
        }
      });
    });

    describe('queries and COPY', () => {
      it('round-trips nasty text through copyRows (NUL stripped and counted)', async () => {
        const nasty = ['tab\there', 'new\nline', 'cr\rlf\r\n', 'back\\slash \\N \\.', `quotes ' " \``, 'unicode é 漢字 🚀', 'nul\u0000byte', '', '\\', 'end\\'];
        const stats = newEncodeStats();
        await db.transaction(async (tx) => {
          await tx.exec('CREATE TEMP TABLE nasty (i int, t text, j jsonb, a real[], b boolean, ts timestamptz) ON COMMIT DROP');
          const n = await tx.copyRows(
            'pg_temp.nasty',
            ['i', 't', 'j', 'a', 'b', 'ts'],
            nasty.map((t, i) => [
              String(i),
              encodeCopyValue(t, 'text', stats),
              encodeCopyValue({ t, nested: [t] }, 'jsonb', stats),
              encodeCopyValue([i, 0.5, -1e-7], 'real[]', stats),
              encodeCopyValue(i % 2 === 0, 'boolean', stats),
              encodeCopyValue(new Date(Date.UTC(2026, 0, 1, 0, 0, i)), 'timestamptz', stats),
            ]),
          );
          expect(n).toBe(nasty.length);
          const back = await tx.query<{ i: number; t: string; j: { t: string; nested: string[] }; a: number[]; b: boolean; ts: Date }>('SELECT * FROM nasty ORDER BY i');
          const clean = nasty.map((t) => t.replaceAll('\u0000', ''));
          expect(back.rows.map((r) => r.t)).toEqual(clean);
          expect(back.rows.map((r) => r.j)).toEqual(clean.map((t) => ({ t, nested: [t] })));
          expect(back.rows[3]?.a).toEqual([3, 0.5, -1e-7]);
          expect(back.rows.map((r) => r.b)).toEqual(nasty.map((_, i) => i % 2 === 0));
          expect(back.rows[5]?.ts.toISOString()).toBe('2026-01-01T00:00:05.000Z');
        });
        expect(stats.nulStripped).toBe(3);
      });

      it('keeps every byte of COPY data across its chunks: multi-byte text at chunk edges, values longer than a chunk, sync and async rows', async () => {
        // a few MB in all: lines of 1-, 2-, 3- and 4-byte characters that fall on every chunk edge,
        // and single values of 100K-300K characters (longer than a 256 KB chunk once encoded)
        const alphabet = ['a', 'é', '漢', '🚀', '\t', '\\'];
        const values: string[] = [];
        for (let i = 0; i < 6_000; i++) values.push(`${i}:${alphabet[i % alphabet.length]!.repeat(100 + (i % 211))}`);
        values.splice(1_000, 0, 'x'.repeat(300_000), '漢'.repeat(100_000), '🚀'.repeat(70_000));
        values.push('é'.repeat(200_000));
        const rows = () => values.map((t, i) => [String(i), encodeCopyValue(t, 'text')]);
        for (const [label, source] of [
          ['sync', rows()],
          [
            'async',
            (async function* () {
              for (const r of rows()) yield r;
            })(),
          ],
        ] as const) {
          const back = await db.transaction(async (tx) => {
            await tx.exec('CREATE TEMP TABLE chunked (i int, t text) ON COMMIT DROP');
            const n = await tx.copyRows('pg_temp.chunked', ['i', 't'], source);
            expect(n, label).toBe(values.length);
            return (await tx.query<{ t: string }>('SELECT t FROM chunked ORDER BY i')).rows.map((r) => r.t);
          });
          expect(back.length, label).toBe(values.length);
          const wrong = back.findIndex((t, i) => t !== values[i]);
          expect(wrong, `${label}: first row that differs`).toBe(-1);
        }
      });

      it('round-trips arbitrary unicode text and JSON through COPY (property)', async () => {
        const samples = fc.sample(fc.tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.jsonValue({ maxDepth: 2 })), { numRuns: 300, seed: 42 });
        const stats = newEncodeStats();
        const back = await db.transaction(async (tx) => {
          await tx.exec('CREATE TEMP TABLE prop (i int, t text, j jsonb) ON COMMIT DROP');
          await tx.copyRows('pg_temp.prop', ['i', 't', 'j'], samples.map(([t, j], i) => [String(i), encodeCopyValue(t, 'text', stats), encodeCopyValue(j, 'jsonb', stats)]));
          return (await tx.query<{ t: string; j: unknown }>('SELECT t, j FROM prop ORDER BY i')).rows;
        });
        const wellFormed = (s: string) => Buffer.from(s.replaceAll('\u0000', ''), 'utf8').toString('utf8');
        expect(back.map((r) => r.t)).toEqual(samples.map(([t]) => wellFormed(t)));
        // jsonb normalises -0 and key order; compare through a JSON round trip of the cleaned value
        const norm = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'string' ? wellFormed(x) : Object.is(x, -0) ? 0 : x)));
        expect(back.map((r) => norm(r.j))).toEqual(samples.map(([, j]) => norm(JSON.parse(jsonTextForTest(j)))));
      });

      it('a COPY that fails leaves the connection usable and nothing written', async () => {
        await db.exec('CREATE TABLE IF NOT EXISTS public.copy_fail (i int NOT NULL)');
        const err = await db.copyRows('public.copy_fail', ['i'], [['1'], ['not a number'], ['3']]).catch((e: unknown) => e);
        expect(isAppError(err, 'DB_DATA')).toBe(true);
        expect((err as { transient: boolean }).transient).toBe(false);
        expect((await db.query('SELECT count(*)::int AS n FROM public.copy_fail')).rows[0]).toEqual({ n: 0 });
        async function* throwing() {
          yield ['1'];
          throw new Error('source broke');
        }
        await expect(db.copyRows('public.copy_fail', ['i'], throwing())).rejects.toThrow(/source broke/);
        expect((await db.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      });

      it('maps SQLSTATEs to terminal AppErrors and rolls the transaction back', async () => {
        await db.exec('CREATE TABLE IF NOT EXISTS public.uniq (k text PRIMARY KEY)');
        const err = await db
          .transaction(async (tx) => {
            await tx.query('INSERT INTO public.uniq VALUES ($1)', ['a']);
            await tx.query('INSERT INTO public.uniq VALUES ($1)', ['a']);
          })
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'DB_DATA', transient: false, details: { sqlstate: '23505' } });
        expect((await db.query('SELECT count(*)::int AS n FROM public.uniq')).rows[0]).toEqual({ n: 0 });
        await expect(db.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: 'DB_SCHEMA' });
        await expect(db.query('SELECT 1/0')).rejects.toMatchObject({ code: 'DB_DATA', transient: false });
      });

      it('returns int8 as numbers, timestamptz as Date, jsonb as objects', async () => {
        const r = (await db.query<Record<string, unknown>>(`SELECT 42::int8 AS a, '2026-01-01T00:00:00Z'::timestamptz AS b, '{"x":[1]}'::jsonb AS c, 9007199254740993::int8 AS d`)).rows[0];
        expect(r).toEqual({ a: 42, b: new Date('2026-01-01T00:00:00Z'), c: { x: [1] }, d: 9007199254740993n });
      });
    });

    describe('merge', () => {
      const T = 'memory_entries';

      it('inserts, then identical rows write nothing (not even touch the rows)', async () => {
        const env = uniqueEnv('same');
        const rows = Array.from({ length: 50 }, (_, i) => aRow(T, `k${i}`, { values: { key: `k${i}`, value: { i } } }));
        const first = await load(migrated, { env, table: T, rows });
        expect(first.counts).toMatchObject({ read: 50, inserted: 50, updated: 0, unchanged: 0, keptNewer: 0 });
        // inserts need no undo entry: first_run_id names the rows rollback deletes
        expect(await undoOf(db, first.runId)).toEqual([]);
        expect((await rowsOf(db, T, env)).every((r) => Number(r['first_run_id']) === first.runId)).toBe(true);
        const before = (await db.query(`SELECT source_key, xmin::text AS x, last_run_id FROM aqe.${T} WHERE source_env = $1 ORDER BY source_key`, [env])).rows;
        const second = await load(migrated, { env, table: T, rows, snapshotAt: new Date('2026-03-01T00:00:00Z') });
        expect(second.counts).toMatchObject({ read: 50, inserted: 0, updated: 0, unchanged: 50, keptNewer: 0 });
        expect(await undoOf(db, second.runId)).toEqual([]);
        const after = (await db.query(`SELECT source_key, xmin::text AS x, last_run_id FROM aqe.${T} WHERE source_env = $1 ORDER BY source_key`, [env])).rows;
        expect(after).toEqual(before);
        const row = (await rowsOf(db, T, env))[0];
        expect(row).toMatchObject({ first_run_id: first.runId, last_run_id: first.runId, missing_since: null });
      });

      it('a first load COPYs straight into the table and stores exactly what staging stores', async () => {
        const rows = Array.from({ length: 40 }, (_, i) =>
          aRow(T, `k${i}`, {
            contentHash: `h${i}`,
            sourceUpdatedAt: i % 3 === 0 ? null : new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
            extra: i % 2 ? { note: `n${i}`, nested: [i, 'x\ty'] } : null,
            values: { key: `k${i}`, value: i % 4 === 0 ? `plain ${i}` : { i, s: 'a\\b\nc' }, metadata: null },
            ...(i % 5 === 0 ? { embedding: { vector: Array.from({ length: 384 }, (_, d) => ((d + i) % 7) - 3), model: 'm' } } : {}),
          }),
        );
        const direct = uniqueEnv('direct');
        const staged = uniqueEnv('staged');
        const a = await load(migrated, { env: direct, table: T, rows });
        const b = await load(migrated, { env: staged, table: T, rows, oneShot: true });
        expect(a.counts).toEqual(b.counts);
        expect(a.counts).toMatchObject({ read: 40, inserted: 40 });
        const strip = (r: Record<string, unknown>) => {
          const { source_env: _e, first_run_id: _f, last_run_id: _l, ...rest } = r;
          return rest;
        };
        const ra = (await rowsOf(db, T, direct)).map(strip);
        const rb = (await rowsOf(db, T, staged)).map(strip);
        expect(ra).toEqual(rb);
        expect(ra.filter((r) => r['embedding_status'] === 'done')).toHaveLength(8);
        // the same run ids on both paths
        expect((await rowsOf(db, T, direct)).every((r) => Number(r['first_run_id']) === a.runId && Number(r['last_run_id']) === a.runId)).toBe(true);
      });

      it('a first load into an empty table builds its indexes afterwards, and a duplicate key still falls back to staging', async () => {
        // a table no test of this file writes to: empty until now
        const indexesOf = async (table: string) =>
          (await db.query<{ def: string }>(`SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'aqe.${table}'::regclass ORDER BY 1`)).rows.map((r) => r.def);
        // (an embedded table: primary key, full-text GIN and, with an extension, HNSW)
        const C = 'claude_flow_memory';
        const oidsOf = async (table: string) =>
          (await db.query<{ oid: number }>(`SELECT indexrelid::oid::int AS oid FROM pg_index WHERE indrelid = 'aqe.${table}'::regclass ORDER BY 1`)).rows.map((r) => r.oid);
        const cBefore = await indexesOf(C);
        const cOids = await oidsOf(C);
        expect(cBefore.length).toBeGreaterThanOrEqual(2);
        const envC = uniqueEnv('empty-clean');
        const clean = await load(migrated, { env: envC, table: C, rows: Array.from({ length: 30 }, (_, i) => aRow(C, `c${i}`, { searchText: `text ${i}` })) });
        expect(clean.counts).toMatchObject({ read: 30, inserted: 30, duplicates: 0 });
        expect(await indexesOf(C)).toEqual(cBefore);
        // built anew (new index objects), not maintained row by row
        expect((await oidsOf(C)).some((o) => cOids.includes(o))).toBe(false);
        const rebuilt = await oidsOf(C);
        await load(migrated, { env: uniqueEnv('not-empty'), table: C, rows: [aRow(C, 'x')] });
        expect(await oidsOf(C)).toEqual(rebuilt);
        expect((await db.query(`SELECT count(*)::int AS n FROM aqe.${C} WHERE search_tsv @@ to_tsquery('simple', 'text')`)).rows[0]).toEqual({ n: 30 });
        await expect(db.query(`INSERT INTO aqe.${C} (source_env, source_id, source_table, source_key, content_hash, first_run_id, last_run_id, snapshot_at) SELECT source_env, source_id, source_table, source_key, content_hash, first_run_id, last_run_id, snapshot_at FROM aqe.${C} WHERE source_env = $1 LIMIT 1`, [envC])).rejects.toMatchObject({ code: 'DB_DATA', message: expect.stringMatching(/duplicate key|unique/) });

        const E = 'claude_flow_workers';
        const indexes = () => indexesOf(E);
        const before = await indexes();
        expect(before.length).toBeGreaterThanOrEqual(1);
        const env = uniqueEnv('empty');
        const rows = [aRow(E, 'w1'), aRow(E, 'w2'), aRow(E, 'w1', { contentHash: 'again' })];
        const r = await load(migrated, { env, table: E, rows });
        // the repeated key made the deferred primary key fail: the savepoint undid it all, staging merged
        expect(r.counts).toMatchObject({ read: 3, duplicates: 1, inserted: 2 });
        expect((await rowsOf(db, E, env)).map((x) => `${String(x['source_key'])}:${String(x['content_hash'])}`)).toEqual(['w1:again', 'w2:hash-w2']);
        expect(await indexes()).toEqual(before);
        // and a clean first load of another environment (table no longer empty) keeps the indexes too
        const env2 = uniqueEnv('empty2');
        expect((await load(migrated, { env: env2, table: E, rows: [aRow(E, 'w1')] })).counts).toMatchObject({ inserted: 1 });
        expect(await indexes()).toEqual(before);
        await expect(db.query(`INSERT INTO aqe.${E} (source_env, source_id, source_table, source_key, content_hash, first_run_id, last_run_id, snapshot_at) SELECT source_env, source_id, source_table, source_key, content_hash, first_run_id, last_run_id, snapshot_at FROM aqe.${E} WHERE source_env = $1`, [env2])).rejects.toMatchObject({ code: 'DB_DATA', message: expect.stringMatching(/duplicate key|unique/) });
      });

      it('a first load of a late snapshot is born missing on both paths', async () => {
        for (const oneShot of [false, true]) {
          const env = uniqueEnv(oneShot ? 'late-staged' : 'late-direct');
          const r = await load(migrated, { env, table: T, rows: [aRow(T, 'a'), aRow(T, 'b')], late: true, oneShot });
          expect(r.counts).toMatchObject({ inserted: 2 });
          expect((await rowsOf(db, T, env)).map((x) => x['missing_since'] instanceof Date)).toEqual([true, true]);
        }
      });

      it('a newer source_updated_at updates the row and logs its pre-image', async () => {
        const env = uniqueEnv('newer');
        const r1 = await load(migrated, { env, table: T, rows: [aRow(T, 'a', { values: { value: 'old' } })] });
        const r2 = await load(migrated, {
          env,
          table: T,
          rows: [aRow(T, 'a', { contentHash: 'h2', sourceUpdatedAt: new Date('2026-01-02T00:00:00Z'), values: { value: 'new' } })],
        });
        expect(r2.counts).toMatchObject({ updated: 1, inserted: 0 });
        const [row] = await rowsOf(db, T, env);
        expect(row).toMatchObject({ value: 'new', content_hash: 'h2', first_run_id: r1.runId, last_run_id: r2.runId });
        const undo = await undoOf(db, r2.runId);
        expect(undo).toHaveLength(1);
        expect(undo[0]).toMatchObject({ op: 'update', source_key: 'a', pre_image: expect.objectContaining({ value: 'old', content_hash: `\\x${Buffer.from('hash-a').toString('hex')}`, last_run_id: r1.runId }) });
      });

      it('an older snapshot arriving late never overwrites newer data (keptNewer)', async () => {
        const env = uniqueEnv('late');
        await load(migrated, { env, table: T, rows: [aRow(T, 'a', { contentHash: 'h-new', sourceUpdatedAt: new Date('2026-01-05T00:00:00Z'), values: { value: 'new' } })], snapshotAt: new Date('2026-01-06T00:00:00Z') });
        const late = await load(migrated, { env, table: T, rows: [aRow(T, 'a', { contentHash: 'h-old', sourceUpdatedAt: new Date('2026-01-01T00:00:00Z'), values: { value: 'old' } })], snapshotAt: new Date('2026-01-02T00:00:00Z') });
        expect(late.counts).toMatchObject({ keptNewer: 1, updated: 0 });
        expect((await rowsOf(db, T, env))[0]).toMatchObject({ value: 'new', content_hash: 'h-new' });
        expect(await undoOf(db, late.runId)).toEqual([]);
        // same (or no) source time: the later snapshot wins, an earlier one is kept out
        const env2 = uniqueEnv('tie');
        const noTime = { sourceUpdatedAt: null };
        await load(migrated, { env: env2, table: T, rows: [aRow(T, 'b', { ...noTime, contentHash: 'h1', values: { value: 1 } })], snapshotAt: new Date('2026-01-03T00:00:00Z') });
        const earlier = await load(migrated, { env: env2, table: T, rows: [aRow(T, 'b', { ...noTime, contentHash: 'h0', values: { value: 0 } })], snapshotAt: new Date('2026-01-02T00:00:00Z') });
        expect(earlier.counts.keptNewer).toBe(1);
        const later = await load(migrated, { env: env2, table: T, rows: [aRow(T, 'b', { ...noTime, contentHash: 'h2', values: { value: 2 } })], snapshotAt: new Date('2026-01-04T00:00:00Z') });
        expect(later.counts.updated).toBe(1);
        expect((await rowsOf(db, T, env2))[0]).toMatchObject({ value: 2 });
      });

      it('patterns: at the same time the higher confidence wins; counters never go backwards', async () => {
        const env = uniqueEnv('pattern');
        const P = 'qe_patterns';
        const at = new Date('2026-01-10T00:00:00Z');
        await load(migrated, { env, table: P, rows: [aRow(P, 'p', { contentHash: 'c1', sourceUpdatedAt: at, values: { name: 'v1', confidence: 0.8, usage_count: 10, successful_uses: 7 } })] });
        const lower = await load(migrated, { env, table: P, snapshotAt: new Date('2026-02-02T00:00:00Z'), rows: [aRow(P, 'p', { contentHash: 'c2', sourceUpdatedAt: at, values: { name: 'v2', confidence: 0.5, usage_count: 20, successful_uses: 9 } })] });
        expect(lower.counts).toMatchObject({ keptNewer: 1, updated: 0 });
        expect((await rowsOf(db, P, env))[0]).toMatchObject({ name: 'v1', confidence: 0.8, usage_count: 10 });
        const higher = await load(migrated, { env, table: P, snapshotAt: new Date('2026-02-03T00:00:00Z'), rows: [aRow(P, 'p', { contentHash: 'c3', sourceUpdatedAt: at, values: { name: 'v3', confidence: 0.9, usage_count: 3, successful_uses: 8 } })] });
        expect(higher.counts).toMatchObject({ updated: 1 });
        expect((await rowsOf(db, P, env))[0]).toMatchObject({ name: 'v3', confidence: 0.9, usage_count: 10, successful_uses: 8 });
        // newer time wins even with lower confidence, counters still max
        await load(migrated, { env, table: P, rows: [aRow(P, 'p', { contentHash: 'c4', sourceUpdatedAt: new Date('2026-01-11T00:00:00Z'), values: { name: 'v4', confidence: 0.1, usage_count: 4, successful_uses: 2 } })] });
        expect((await rowsOf(db, P, env))[0]).toMatchObject({ name: 'v4', confidence: 0.1, usage_count: 10, successful_uses: 8 });
      });

      it('immutable tables insert once and never update', async () => {
        const env = uniqueEnv('immutable');
        const E = 'events';
        await load(migrated, { env, table: E, rows: [aRow(E, 'e1', { contentHash: 'x1', values: { type: 'first', payload: { a: 1 } } })] });
        const again = await load(migrated, {
          env,
          table: E,
          snapshotAt: new Date('2027-01-01T00:00:00Z'),
          rows: [aRow(E, 'e1', { contentHash: 'x2', sourceUpdatedAt: new Date('2027-01-01T00:00:00Z'), values: { type: 'changed' } }), aRow(E, 'e2', { values: { type: 'second' } })],
        });
        expect(again.counts).toMatchObject({ inserted: 1, updated: 0, keptNewer: 1, immutableConflicts: 1 });
        const rows = await rowsOf(db, E, env);
        expect(rows.map((r) => [r['source_key'], r['type'], r['content_hash']])).toEqual([
          ['e1', 'first', 'x1'],
          ['e2', 'second', 'hash-e2'],
        ]);
      });

      it('marks rows gone from a full source table missing, and clears it when they come back', async () => {
        const env = uniqueEnv('missing');
        const rows = ['a', 'b', 'c'].map((k) => aRow(T, k));
        const other = aRow(T, 'z', { sourceTable: 'kv_store' });
        await load(migrated, { env, table: T, rows: [...rows, other], full: [T] });
        const partial = await load(migrated, { env, table: T, rows: [rows[0]!], full: [T] });
        expect(partial.counts).toMatchObject({ missing: 2, unchanged: 1 });
        const stored = await rowsOf(db, T, env);
        expect(stored.filter((r) => r['missing_since'] !== null).map((r) => r['source_key'])).toEqual(['b', 'c']);
        expect(stored.find((r) => r['source_key'] === 'z')?.['missing_since']).toBeNull(); // other source table untouched
        expect((await undoOf(db, partial.runId)).map((u) => `${u['op']}:${u['source_key']}`).sort()).toEqual(['missing:b', 'missing:c']);
        const again = await load(migrated, { env, table: T, rows, full: [T] });
        expect(again.counts).toMatchObject({ reappeared: 2, unchanged: 3, missing: 0 });
        expect((await rowsOf(db, T, env)).every((r) => r['missing_since'] === null)).toBe(true);
        // without fullSourceTables nothing is marked
        const none = await load(migrated, { env, table: T, rows: [] });
        expect(none.counts.missing).toBe(0);
      });

      it('two environments with identical keys never touch each other', async () => {
        const a = uniqueEnv('env-a');
        const b = uniqueEnv('env-b');
        await load(migrated, { env: a, table: T, rows: [aRow(T, 'same', { values: { value: 'A' } })], full: [T] });
        await load(migrated, { env: b, table: T, rows: [aRow(T, 'same', { contentHash: 'hb', sourceUpdatedAt: new Date('2030-01-01T00:00:00Z'), values: { value: 'B' } })], full: [T] });
        await load(migrated, { env: b, table: T, rows: [], full: [T] });
        expect((await rowsOf(db, T, a))[0]).toMatchObject({ value: 'A', missing_since: null });
        expect((await rowsOf(db, T, b))[0]).toMatchObject({ value: 'B' });
        expect((await rowsOf(db, T, b))[0]?.['missing_since']).toBeInstanceOf(Date);
      });

      it('stores SQL-looking keys and values verbatim; a repeated key keeps the last row', async () => {
        const env = uniqueEnv('sql');
        const evil = `'); DROP TABLE aqe.memory_entries; --`;
        const keys = [evil, 'a"b', 'tab\tkey', 'back\\slash', '$1', '%_'];
        const r = await load(migrated, {
          env,
          table: T,
          rows: [...keys.map((k) => aRow(T, k, { values: { key: k, value: { sql: evil } }, extra: { note: evil } })), aRow(T, 'a"b', { contentHash: 'last', values: { key: 'last wins' } })],
        });
        expect(r.counts).toMatchObject({ read: 7, duplicates: 1, inserted: 6 });
        const rows = await rowsOf(db, T, env);
        expect(rows.map((x) => x['source_key']).sort()).toEqual([...keys].sort());
        expect(rows.find((x) => x['source_key'] === evil)).toMatchObject({ key: evil, value: { sql: evil }, extra: { note: evil } });
        expect(rows.find((x) => x['source_key'] === 'a"b')).toMatchObject({ key: 'last wins', content_hash: 'last' });
      });

      it('writes embeddings as text literals and fills pending rows whose content is unchanged', async () => {
        const env = uniqueEnv('embed');
        const base = { values: { key: 'k' }, searchText: 'how to test flaky async code' };
        const first = await load(migrated, { env, table: T, rows: [aRow(T, 'e', base), aRow(T, 'no-text', { values: { key: 'x' } })] });
        expect(first.counts.inserted).toBe(2);
        let rows = await rowsOf(db, T, env);
        expect(rows.find((r) => r['source_key'] === 'e')).toMatchObject({ embedding_status: 'pending', embedding: null, search_text: base.searchText });
        expect(rows.find((r) => r['source_key'] === 'no-text')).toMatchObject({ embedding_status: 'none' });
        const vec = unitVector(7);
        const second = await load(migrated, { env, table: T, rows: [aRow(T, 'e', { ...base, embedding: { vector: vec, model: 'all-MiniLM-L6-v2' } })] });
        expect(second.counts).toMatchObject({ unchanged: 1, embeddingsFilled: 1, updated: 0 });
        rows = await rowsOf(db, T, env);
        const e = rows.find((r) => r['source_key'] === 'e')!;
        expect(e).toMatchObject({ embedding_status: 'done', embedding_model: 'all-MiniLM-L6-v2', last_run_id: first.runId });
        const stored = typeof e['embedding'] === 'string' ? JSON.parse(e['embedding']) : e['embedding'];
        expect(stored).toEqual(vec);
        // the sha256 of the search text, as its 32 bytes (migration 025)
        expect(e['embedding_text_hash']).toMatch(/^[0-9a-f]{64}$/);
        // once done, the same content is simply unchanged
        const third = await load(migrated, { env, table: T, rows: [aRow(T, 'e', { ...base, embedding: { vector: unitVector(8), model: 'm' } })] });
        expect(third.counts).toMatchObject({ unchanged: 1, embeddingsFilled: 0 });
        // a wrong dimension is refused before anything is written
        await expect(load(migrated, { env, table: T, rows: [aRow(T, 'bad', { ...base, embedding: { vector: [1, 2, 3], model: 'm' } })] })).rejects.toMatchObject({ code: 'MODEL_DIMENSION' });
        expect((await rowsOf(db, T, env)).some((r) => r['source_key'] === 'bad')).toBe(false);
      });

      it('ranks by cosine distance with the dialect\'s SQL fragments', async () => {
        const env = uniqueEnv('knn');
        const sql = dialectSql(target.dialect);
        const vec = (a: number, b: number) => {
          const v = new Array<number>(EMBEDDING_DIM).fill(0);
          v[0] = a;
          v[1] = b;
          return v;
        };
        const rows = [aRow(T, 'x', { searchText: 'x', embedding: { vector: vec(1, 0), model: 'm' } }), aRow(T, 'diag', { searchText: 'd', embedding: { vector: vec(1, 1), model: 'm' } }), aRow(T, 'y', { searchText: 'y', embedding: { vector: vec(0, 1), model: 'm' } })];
        await load(migrated, { env, table: T, rows });
        const query = encodeVectorLiteral(vec(1, 0.1));
        const res = await db.transaction(async (tx) => {
          for (const s of sql.searchPlan({ k: 3, filtered: true }).settings) await tx.exec(s);
          return tx.query<{ source_key: string; d: number }>(
            `SELECT source_key, ${sql.cosineDistance('embedding', sql.castText('$2::text'))} AS d FROM aqe.${T} WHERE source_env = $1 ORDER BY d LIMIT 3`,
            [env, query],
          );
        });
        expect(res.rows.map((r) => r.source_key)).toEqual(['x', 'diag', 'y']);
        expect(res.rows[0]!.d).toBeCloseTo(1 - 1 / Math.sqrt(1.01), 5);
      });

      it('refuses a value that is not a modelled column, naming table, row and column', async () => {
        const env = uniqueEnv('unknown');
        const err = await load(migrated, { env, table: T, rows: [aRow(T, 'k', { values: { not_a_column: 1 } })] }).catch((e: unknown) => e);
        expect(isAppError(err, 'INTERNAL')).toBe(true);
        expect((err as Error).message).toMatch(/memory_entries.*"k".*not_a_column/);
      });
    });

    describe('run bookkeeping', () => {
      it('records runs, acknowledges a known manifest, retries a failed one under a new id, tracks state and quarantine', async () => {
        const env = uniqueEnv('runs');
        const ledger = new RunLedger(db);
        const ident = { manifestSha: `m-${env}`, env, snapshotId: '01J0', manifestKey: `snapshots/${env}/01J0/manifest.json`, snapshotCreatedAt: new Date('2026-05-01T00:00:00Z') };
        expect(await ledger.find(ident.manifestSha)).toBeNull();
        // a failure recorded outside the rolled back transaction; the retry begins a new, later run
        // (ids order runs: a rollback undoes them newest first)
        const failedId = await ledger.recordFailure({ ...ident, status: 'failed', error: 'connection lost' });
        expect((await ledger.find(ident.manifestSha))?.status).toBe('failed');
        const runId = await migrated.transaction(async (tx) => {
          const inTx = new RunLedger(tx);
          await inTx.lockEnvironment(env);
          const begun = await inTx.begin(ident);
          if (begun.status !== 'begun') throw new Error('expected a new run');
          const id = begun.runId;
          const counts = await mergeTableRows(tx, { runId: id, env, sourceId: 's', snapshotAt: ident.snapshotCreatedAt, table: targetTable('kv_entries'), rows: [aRow('kv_entries', 'k1', { values: { namespace: 'n', key: 'k1', value: [1, 2] } })] });
          await inTx.finish(id, { status: 'succeeded', tables: { 's/kv_entries': counts }, warnings: ['w1'] });
          await inTx.saveState(env, { snapshotId: ident.snapshotId, snapshotAt: ident.snapshotCreatedAt, runId: id, success: true, sources: { s: { sha256: 'abc', tables: { kv_entries: 1 } } } });
          return id;
        });
        expect(runId).toBeGreaterThan(failedId);
        expect(await ledger.findById(failedId)).toBeNull();
        const run = await ledger.find(ident.manifestSha);
        expect(run).toMatchObject({ id: runId, status: 'succeeded', rowsRead: 1, rowsInserted: 1, warnings: ['w1'], error: null });
        expect(run?.tableCounts['s/kv_entries']).toMatchObject({ inserted: 1 });
        expect(run?.durationMs).toBeGreaterThanOrEqual(0);
        // the one retry rule: a succeeded manifest is acknowledged, not begun again
        const again = await db.transaction(async (tx) => {
          const inTx = new RunLedger(tx);
          await inTx.lockEnvironment(env);
          return inTx.begin(ident);
        });
        expect(again).toMatchObject({ status: 'done', run: { id: runId, status: 'succeeded' } });
        // recording a failure never overwrites a run that succeeded
        expect(await ledger.recordFailure({ ...ident, status: 'failed', error: 'late' })).toBe(runId);
        expect((await ledger.find(ident.manifestSha))?.status).toBe('succeeded');
        // an older snapshot does not move the state backwards
        await ledger.saveState(env, { snapshotId: '00OLD', snapshotAt: new Date('2026-04-01T00:00:00Z'), runId: runId + 1000, success: true });
        const state = (await db.query('SELECT * FROM aqe.sync_state WHERE env = $1', [env])).rows[0];
        expect(state).toMatchObject({ last_snapshot_id: '01J0', last_snapshot_at: ident.snapshotCreatedAt });
        expect(await ledger.sourceStates(env)).toEqual({ s: { sha256: 'abc', tables: { kv_entries: 1 } } });
        expect((await ledger.environmentStates(env))[0]).toMatchObject({ env, lastSnapshotId: '01J0' });
        const q1 = await ledger.recordQuarantine({ env, manifestKey: 'snapshots/x/1/manifest.json', code: 'MANIFEST_INVALID', reason: 'bad', transient: false, report: { issues: ['a'] } });
        const q2 = await ledger.recordQuarantine({ env, manifestKey: 'snapshots/x/1/manifest.json', code: 'MANIFEST_INVALID', reason: 'still bad', transient: false });
        expect(q2).toEqual({ id: q1.id, retryCount: 1 });
        expect((await ledger.openQuarantine(env)).map((q) => [q.id, q.reason, q.retryCount])).toEqual([[q1.id, 'still bad', 1]]);
        await ledger.resolveQuarantine('snapshots/x/1/manifest.json');
        expect(await ledger.openQuarantine(env)).toEqual([]);
      });
    });
  });
}
