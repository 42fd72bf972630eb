// Migration 025 (leaner rows, issue 18) converts a database in place: a database built at the last
// migration before it (024), with rows in every target table, undo-log pre-images of them and rows
// behind the consensus views, is migrated; every row reads back equal (the two hashes now as their
// bytes: a sha256 hex as its 32 bytes, anything else as its UTF-8 bytes), the consensus views give
// the same answer, and a pre-image logged before the step restores exactly the stored row (what a
// rollback does). Both dialects we can run here: PGlite + pgvector and native PostgreSQL + none.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { quoteIdent, storedHashHex } from '../../../functions/db/copy-encoding.js';
import { defaultMigrationsDir, migrate } from '../../../functions/db/migrate.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { COMMON_COLUMNS, TARGET_TABLES, type ColumnType, type TargetTable } from '../../../schema/tables/target-tables.js';
import { createTestDatabase, openTestPglite } from '../../support/postgres.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** schema/migrations as they were before step 025. */
function migrationsBefore025(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aqe-mig-024-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of readdirSync(defaultMigrationsDir())) if (f.endsWith('.sql') && Number(f.slice(0, 3)) <= 24) cpSync(join(defaultMigrationsDir(), f), join(dir, f));
  return dir;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function valueOf(type: ColumnType, col: string, i: number): unknown {
  switch (type) {
    case 'text':
      return `${col} ${i}`;
    case 'jsonb':
      return JSON.stringify({ col, i, nested: [i, 'x'] });
    case 'double':
      return 0.5 + i;
    case 'bigint':
    case 'integer':
      return 10 + i;
    case 'boolean':
      return i % 2 === 0;
    case 'timestamptz':
      return `2026-01-0${i + 1}T00:00:00Z`;
    case 'real[]':
    case 'double[]':
      return `{${i},1.5}`;
    case 'bytea':
      return sha(`${col} ${i}`);
  }
}

/** Rows 0..2 of every column as today's loader wrote them at 024 (text hashes; row 2 a hash that is no sha256). */
async function fill(db: DatabaseConnection, table: TargetTable): Promise<void> {
  const modelled = table.columns.map((c) => c.name);
  const cols = [...COMMON_COLUMNS.map((c) => c.name), ...modelled, 'first_run_id', 'last_run_id', 'snapshot_at', ...(table.embedded ? ['search_text', 'embedding_text_hash', 'embedding_status'] : [])];
  for (let i = 0; i < 3; i++) {
    const common = ['env-a', 'src-1', 'tbl', `key ${i}`, i === 2 ? 'legacy-hash' : sha(`row ${table.name} ${i}`), '2026-01-01T00:00:00Z', JSON.stringify({ unmodelled: i })];
    const values = [
      ...common,
      ...table.columns.map((c) => valueOf(c.type, c.name, i)),
      1,
      1,
      '2026-02-01T00:00:00Z',
      ...(table.embedded ? [`words ${i}`, i === 1 ? null : sha(`words ${i}`), 'pending'] : []),
    ];
    await db.query(`INSERT INTO aqe.${quoteIdent(table.name)} (${cols.map(quoteIdent).join(', ')}) VALUES (${values.map((_v, n) => `$${n + 1}`).join(', ')})`, values as never);
  }
  await db.query(
    `INSERT INTO aqe.undo_log (run_id, table_name, source_env, source_id, source_table, source_key, op, pre_image)
     SELECT 1, $1, source_env, source_id, source_table, source_key, 'update', to_jsonb(t) FROM aqe.${quoteIdent(table.name)} t`,
    [table.name],
  );
}

/** Every row as JSON, ordered (search_tsv and embedding left out: derived / dialect-specific, unchanged by the step). */
async function snapshot(db: DatabaseConnection, table: string): Promise<Record<string, unknown>[]> {
  const rows = (await db.query<{ r: Record<string, unknown> }>(`SELECT to_jsonb(t) - 'search_tsv' - 'embedding' AS r FROM aqe.${quoteIdent(table)} t ORDER BY source_key`)).rows;
  return rows.map((x) => x.r);
}

const hexOf = (v: unknown) => (typeof v === 'string' && v.startsWith('\\x') ? v.slice(2) : v);

async function checkMigration(db: DatabaseConnection, dialect: 'pgvector' | 'none'): Promise<void> {
  await migrate(db, { dialect, migrationsDir: migrationsBefore025() });
  expect((await db.query<{ last: string }>(`SELECT max(name) AS last FROM aqe.schema_migrations`)).rows[0]?.last).toMatch(/^024_/);
  const before = new Map<string, Record<string, unknown>[]>();
  for (const t of TARGET_TABLES) {
    await fill(db, t);
    before.set(t.name, await snapshot(db, t.name));
  }
  const consensus = async () => ({
    qe: (await db.query(`SELECT * FROM aqe.qe_pattern_consensus ORDER BY pattern_key`)).rows,
    p: (await db.query(`SELECT * FROM aqe.pattern_consensus ORDER BY pattern_key`)).rows,
  });
  const consensusBefore = await consensus();
  expect(consensusBefore.qe.length).toBeGreaterThan(0);
  expect(consensusBefore.p.length).toBeGreaterThan(0);

  const result = await migrate(db, { dialect });
  expect(result.applied).toContain('025_store_hashes_as_bytes');

  for (const t of TARGET_TABLES) {
    const after = await snapshot(db, t.name);
    const expected = before.get(t.name)!.map((r) => ({
      ...r,
      content_hash: storedHashHex(String(r['content_hash'])),
      ...(t.embedded ? { embedding_text_hash: r['embedding_text_hash'] === null ? null : storedHashHex(String(r['embedding_text_hash'])) } : {}),
    }));
    const got = after.map((r) => ({ ...r, content_hash: hexOf(r['content_hash']), ...(t.embedded ? { embedding_text_hash: hexOf(r['embedding_text_hash']) } : {}) }));
    expect(got, `rows of aqe.${t.name}`).toEqual(expected);
    // stored as bytes: a sha256 takes 32
    const widths = await db.query<{ w: number }>(`SELECT octet_length(content_hash) AS w FROM aqe.${quoteIdent(t.name)} ORDER BY source_key`);
    expect(widths.rows.map((r) => Number(r.w))).toEqual([32, 32, 'legacy-hash'.length]);
    // a pre-image logged before the step restores the stored row exactly (run-ledger's rollback reads it so)
    const differ = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM aqe.undo_log u CROSS JOIN LATERAL jsonb_populate_record(NULL::aqe.${quoteIdent(t.name)}, u.pre_image) p
         JOIN aqe.${quoteIdent(t.name)} t ON t.source_env = p.source_env AND t.source_id = p.source_id AND t.source_table = p.source_table AND t.source_key = p.source_key
        WHERE u.table_name = $1 AND (p.content_hash IS DISTINCT FROM t.content_hash ${t.embedded ? 'OR p.embedding_text_hash IS DISTINCT FROM t.embedding_text_hash' : ''})`,
      [t.name],
    );
    expect(Number(differ.rows[0]?.n), `pre-images of aqe.${t.name}`).toBe(0);
    const logged = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.undo_log WHERE table_name = $1`, [t.name]);
    expect(Number(logged.rows[0]?.n)).toBe(3);
  }
  expect(await consensus()).toEqual(consensusBefore);
}

describe('migration 025: hashes stored as bytes', () => {
  it('converts a PGlite + pgvector database at migration 024 in place: every row, pre-image and consensus row reads back equal', async () => {
    const db = await openTestPglite();
    cleanup.push(() => db.close());
    await checkMigration(db, 'pgvector');
  });

  it('converts a native PostgreSQL database (dialect none) at migration 024 in place', async () => {
    const tdb = await createTestDatabase('lean025');
    const db = new PgDatabase(tdb.url);
    cleanup.push(async () => {
      await db.close();
      await tdb.drop();
    });
    await checkMigration(db, 'none');
  });
});
