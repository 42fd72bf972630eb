// What each column of a loaded target table costs (issue 18, leaner rows): bytes (the column's
// stored size summed over the rows, pg_column_size, beside the heap and each index) and load time
// (leave one out: the same pre-encoded rows COPYed into a copy of the table without that column,
// indexes deferred and rebuilt as our first load does, against the same with every column). Used
// by the pgloader bench to print a per-column table, so the choice of what to shrink is measured.
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Queryable } from '../../../functions/db/database.js';
import { quoteIdent } from '../../../functions/db/copy-encoding.js';
import { deferIndexesIfEmpty } from '../../../functions/loader/write/merge-table-rows.js';

export interface ColumnCost {
  column: string;
  type: string;
  /** Mean stored bytes per row (pg_column_size; 0 for NULL). */
  avgBytes: number;
  /** Summed over the table. */
  totalBytes: number;
  /** Seconds saved by loading without this column (and whatever index or generated column depends on it); null when not measured. */
  savedSeconds: number | null;
}

export interface TableCosts {
  table: string;
  rows: number;
  /** Heap (with its TOAST) bytes. */
  heapBytes: number;
  /** Every index, by name. */
  indexes: { name: string; bytes: number }[];
  totalBytes: number;
  columns: ColumnCost[];
  /** Leave-one-out baseline: every column, same procedure, mean over the probes (seconds). */
  allColumnsSeconds: number | null;
  /** Rows the leave-one-out probes load (a sample of the table). */
  sampleRows?: number;
}

/** A pg client as the Queryable that deferIndexesIfEmpty takes. */
export function queryableOf(client: pg.Client): Queryable {
  return {
    query: async (sql: string, params?: readonly unknown[]) => {
      const r = await client.query(sql, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.rowCount ?? r.rows.length };
    },
    exec: async (sql: string) => {
      await client.query(sql);
    },
  } as unknown as Queryable;
}

async function dump(client: pg.Client, sql: string): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  await pipeline(
    client.query(copyTo(sql)),
    new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    }),
  );
  return chunks;
}

/** Bytes per column, heap and index sizes of aqe.<table> (no timing). */
export async function measureBytes(client: pg.Client, table: string): Promise<TableCosts> {
  const t = `aqe.${quoteIdent(table)}`;
  const cols = (
    await client.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [t],
    )
  ).rows;
  const sums = (await client.query<Record<string, string>>(`SELECT count(*) AS n, ${cols.map((c, i) => `coalesce(sum(pg_column_size(${quoteIdent(c.name)})), 0) AS c${i}`).join(', ')} FROM ${t}`)).rows[0]!;
  const rows = Number(sums['n']);
  const sizes = (
    await client.query<{ heap: string; total: string }>(`SELECT pg_table_size($1::regclass) AS heap, pg_total_relation_size($1::regclass) AS total`, [t])
  ).rows[0]!;
  const indexes = (
    await client.query<{ name: string; bytes: string }>(`SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS bytes FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`, [t])
  ).rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) }));
  return {
    table,
    rows,
    heapBytes: Number(sizes.heap),
    indexes,
    totalBytes: Number(sizes.total),
    columns: cols.map((c, i) => ({ column: c.name, type: c.type, totalBytes: Number(sums[`c${i}`]), avgBytes: rows ? Number(sums[`c${i}`]) / rows : 0, savedSeconds: null })),
    allColumnsSeconds: null,
  };
}

/** Seconds to COPY `chunks` (columns `columns`) into a fresh empty copy of aqe.<table> minus `drop`, indexes deferred, in one transaction. */
async function timedProbe(client: pg.Client, table: string, drop: string | null, columns: string[], chunks: readonly Buffer[]): Promise<number> {
  const probe = `aqe.${quoteIdent(`${table}_probe`)}`;
  await client.query(`DROP TABLE IF EXISTS ${probe}; CREATE TABLE ${probe} (LIKE aqe.${quoteIdent(table)} INCLUDING ALL)`);
  if (drop) await client.query(`ALTER TABLE ${probe} DROP COLUMN ${quoteIdent(drop)} CASCADE`);
  await client.query('CHECKPOINT');
  const started = performance.now();
  await client.query('BEGIN');
  const rebuild = await deferIndexesIfEmpty(queryableOf(client), `${table}_probe`);
  await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${probe} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`)));
  for (const statement of rebuild) await client.query(statement);
  await client.query('COMMIT');
  const seconds = (performance.now() - started) / 1000;
  await client.query(`DROP TABLE ${probe}`);
  return seconds;
}

/**
 * Bytes per column and, leaving each column out in turn, the load time it costs: the rows of
 * aqe.<table> (already loaded in `url`) dumped as COPY text without the column, COPYed into an
 * empty copy of the table without it (CASCADE: indexes and generated columns built on it go too),
 * indexes deferred as our first load does, against the same with every column. Generated columns
 * are left out by dropping them (they are never sent).
 */
export async function measureColumnCosts(url: string, table: string, log: (line: string) => void, sampleRows = 200_000): Promise<TableCosts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const costs = await measureBytes(client, table);
    const generated = new Set(
      (await client.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated <> ''`, [`aqe.${quoteIdent(table)}`])).rows.map((r) => r.name),
    );
    const sent = costs.columns.map((c) => c.column).filter((c) => !generated.has(c));
    // the same sample of rows (the first `sampleRows` by key) for every probe
    const copyOf = async (columns: string[]) =>
      dump(client, `COPY (SELECT ${columns.map(quoteIdent).join(', ')} FROM aqe.${quoteIdent(table)} ORDER BY source_key LIMIT ${Math.max(1, Math.floor(sampleRows))}) TO STDOUT`);
    const all = await copyOf(sent);
    let allSum = 0;
    for (const c of costs.columns) {
      const rest = sent.filter((s) => s !== c.column);
      const chunks = generated.has(c.column) ? all : await copyOf(rest);
      // every column, then without this one, back to back: the machine's load drifts less between the two
      const withIt = await timedProbe(client, table, null, sent, all);
      // a generated column is never sent: dropping it drops its index; dropping its source column drops it too
      const without = await timedProbe(client, table, c.column, generated.has(c.column) ? sent : rest, chunks);
      allSum += withIt;
      c.savedSeconds = withIt - without;
      log(`row-costs ${table}: ${Math.min(sampleRows, costs.rows)} rows with every column ${withIt.toFixed(2)} s, without ${c.column} ${without.toFixed(2)} s`);
    }
    costs.allColumnsSeconds = allSum / Math.max(1, costs.columns.length);
    costs.sampleRows = Math.min(sampleRows, costs.rows);
    return costs;
  } finally {
    await client.end();
  }
}

const mb = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MB`;

/** The per-column table, as lines to print. */
export function formatTableCosts(c: TableCosts, label: string): string[] {
  const lines = [
    `${label}: aqe.${c.table}, ${c.rows} rows: ${mb(c.totalBytes)} in all (${(c.totalBytes / Math.max(1, c.rows)).toFixed(0)} B/row): heap ${mb(c.heapBytes)} (${(c.heapBytes / Math.max(1, c.rows)).toFixed(0)} B/row), ${c.indexes.map((i) => `${i.name} ${mb(i.bytes)}`).join(', ')}`,
    `${label}: ${'column'.padEnd(22)} ${'type'.padEnd(18)} ${'B/row'.padStart(7)} ${'MB'.padStart(8)} ${'share'.padStart(6)} ${`load s saved without it (${c.sampleRows ?? '-'} rows)`.padStart(34)}`,
  ];
  const heapCols = c.columns.reduce((a, x) => a + x.totalBytes, 0);
  for (const x of c.columns) {
    lines.push(
      `${label}: ${x.column.padEnd(22)} ${x.type.slice(0, 18).padEnd(18)} ${x.avgBytes.toFixed(1).padStart(7)} ${(x.totalBytes / 1024 ** 2).toFixed(1).padStart(8)} ${`${((100 * x.totalBytes) / Math.max(1, heapCols)).toFixed(0)}%`.padStart(6)} ${x.savedSeconds === null ? '-'.padStart(34) : `${x.savedSeconds.toFixed(2)} of ${c.allColumnsSeconds!.toFixed(2)} s`.padStart(34)}`,
    );
  }
  return lines;
}
