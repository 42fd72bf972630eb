// Pins the exact bytes a load writes, so the loader's fast paths can be rewritten without changing
// one stored byte: a deterministic workspace (every source kind, seed 4) plus claude-flow 3.x's
// real `.swarm/memory.db` layout is loaded into native PostgreSQL (dialect none) and PGlite with
// pgvector. Pinned, per target table: the sha256 of the COPY text the client sent (first load: the
// direct COPY into the table; second load of a changed workspace: the staging COPY) and of every
// stored row (content hash, provenance, values, search text and its hash, embedding columns), and
// the undo log's pre-images of the second load. Values that depend on when the test ran (the
// snapshot's creation time, now(), run bookkeeping in pre-images) are replaced by placeholders
// or left out before hashing, and lines are hashed in sorted order.
//
// The pins were taken from the loader before its client was made faster (issue 18): a change to
// what a load writes must change them on purpose, never by accident.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyLine } from '../../../functions/db/copy-encoding.js';
import type { DatabaseConnection, Queryable } from '../../../functions/db/database.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { type LoadOutcome, loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { TARGET_TABLES } from '../../../schema/tables/target-tables.js';
import { pushWorkspace, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { createTestDatabase, openTestPglite } from '../../support/postgres.js';
import { writeClaudeFlowSwarmDb } from '../../support/real-formats.js';
import { buildWorkspace } from '../../support/workspace-builder.js';

/** Every COPY a connection sends, as the wire text of its rows, by target table. */
class CopyRecorder {
  readonly text = new Map<string, string[]>();
  wrap(inner: DatabaseConnection): DatabaseConnection {
    const record = (tx: Queryable): Queryable => ({
      query: (sql, params) => tx.query(sql, params),
      exec: (sql) => tx.exec(sql),
      copyRows: (table, columns, rows) => tx.copyRows(table, columns, this.tap(table, columns, rows)),
    });
    return {
      kind: inner.kind,
      description: inner.description,
      query: (sql, params) => inner.query(sql, params),
      exec: (sql) => inner.exec(sql),
      copyRows: (table, columns, rows) => inner.copyRows(table, columns, this.tap(table, columns, rows)),
      transaction: (fn) => inner.transaction((tx) => fn(record(tx))),
      close: () => inner.close(),
    };
  }
  private tap(table: string, columns: readonly string[], rows: AsyncIterable<(string | null)[]> | Iterable<(string | null)[]>) {
    // staging tables are named per call: keyed by the target table they feed
    const key = `${table.replace(/^pg_temp\.aqe_stage_?/, 'stage:').replace(/_\d+$/, '')} (${columns.join(',')})`;
    const lines = this.text.get(key) ?? [];
    this.text.set(key, lines);
    let n = 0;
    if (Symbol.asyncIterator in rows) {
      return (async function* () {
        for await (const row of rows) {
          lines.push(copyLine(row, columns.length, ++n));
          yield row;
        }
      })();
    }
    return (function* () {
      for (const row of rows as Iterable<(string | null)[]>) {
        lines.push(copyLine(row, columns.length, ++n));
        yield row;
      }
    })();
  }
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 24);

/** Run-dependent text (the snapshots' creation times, the transactions' now()) as placeholders. */
function scrubber(times: string[]): (text: string) => string {
  return (text) => times.reduce((t, time, i) => t.split(time).join(`<time${i}>`), text);
}

interface Backend {
  name: string;
  open(): Promise<{ db: DatabaseConnection; close: () => Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'native PostgreSQL',
    async open() {
      const tdb = await createTestDatabase('row_pin');
      const db = new PgDatabase(tdb.url);
      return { db, close: async () => (await db.close(), await tdb.drop()) };
    },
  },
  {
    name: 'PGlite + pgvector',
    async open() {
      const db = await openTestPglite();
      return { db, close: () => db.close() };
    },
  },
];

function loaded(outcome: LoadOutcome): Extract<LoadOutcome, { status: 'loaded' }> {
  if (outcome.status !== 'loaded') throw new Error(`expected a load, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Every stored row of every target table, as text in a fixed order, with run-dependent columns left out. */
async function storedRows(db: Queryable, scrub: (t: string) => string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TARGET_TABLES) {
    const cols = (
      await db.query<{ name: string; type: string }>(
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [`aqe.${t.name}`],
      )
    ).rows.filter((c) => !['first_run_id', 'last_run_id', 'snapshot_at', 'missing_since', 'embedding', 'search_tsv'].includes(c.name));
    // concat_ws would drop NULLs: coalesce each so a NULL and '' differ
    const exprs = cols.map((c) => `coalesce(${c.type === 'bytea' ? `encode(${c.name}, 'hex')` : `${c.name}::text`}, '<null>')`).join(`, `);
    const rows = await db.query<{ line: string }>(`SELECT concat_ws(E'\\t', ${exprs}) AS line FROM aqe.${t.name} ORDER BY source_env, source_id, source_table, source_key`);
    out[t.name] = rows.rows.length === 0 ? '0' : `${rows.rows.length} ${sha(scrub(rows.rows.map((r) => r.line).join('\n')))}`;
  }
  return out;
}

async function undoImages(db: Queryable, runId: number, scrub: (t: string) => string): Promise<string> {
  const rows = await db.query<{ line: string }>(
    `SELECT concat_ws(E'\\t', table_name, source_env, source_id, source_table, source_key, op, coalesce((pre_image - 'snapshot_at' - 'missing_since' - 'first_run_id' - 'last_run_id')::text, '<null>')) AS line FROM aqe.undo_log WHERE run_id = $1 ORDER BY table_name, source_id, source_table, source_key, op`,
    [runId],
  );
  return `${rows.rows.length} ${sha(scrub(rows.rows.map((r) => r.line).join('\n')))}`;
}

function copied(rec: CopyRecorder, scrub: (t: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  // in a fixed order (a redb file's vectors come in no fixed order; a staged row's `ord` is its position)
  for (const [k, lines] of [...rec.text.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    // (the redb extractor hands over a vector's metadata with its keys in no fixed order: that
    // source's COPY text is left out here, its stored jsonb is pinned below)
    const fields = (k.startsWith('stage:') ? lines.map((l) => l.slice(l.indexOf('\t') + 1)) : lines).filter((l) => !l.startsWith('laptop\truvector-patterns\t'));
    out[k] = `${lines.length} ${sha(scrub([...fields].sort().join('')))}`;
  }
  return out;
}

describe.each(BACKENDS)('the bytes a load writes, on $name', (backend) => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const result: Record<string, unknown> = {};

  beforeAll(async () => {
    tmp = await tempDir('aqe-row-pin-');
    const ws = await buildWorkspace(join(tmp.dir, 'ws'), { volume: 'small', seed: 4 });
    // claude-flow 3.x's real layout in place of the builder's older one (memory vectors as JSON text)
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(ws.root, `.swarm/memory.db${suffix}`), { force: true });
    writeClaudeFlowSwarmDb(join(ws.root, '.swarm/memory.db'));
    // text every escaping and normalising fast path must treat as before
    const hostile = new Database(join(ws.root, 'v3/.agentic-qe/memory.db'));
    try {
      const add = hostile.prepare('INSERT INTO kv_store (namespace, key, value, expires_at, created_at) VALUES (?, ?, ?, ?, ?)');
      const texts = [
        'tab\there, back\\slash, new\nline, carriage\rreturn',
        'nul\u0000inside and a bell\u0007 and DEL\u007f',
        '  leading and trailing spaces, double  spaces  ',
        'no-break\u00a0space, ideographic\u3000space, zero\u200bwidth, soft\u00adhyphen, BOM\ufeff',
        'lone \ud800 surrogate and an emoji \ud83d\ude00 and accents: déjà vu, naïve, Straße',
        'x'.repeat(80),
        'aqe/patterns/test_gen:42#1|2',
        '123.5e3',
        '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
        '2025-01-06T10:00:00Z',
        'true',
        'trailing punctuation.;: ,',
      ];
      texts.forEach((t, i) => {
        add.run('pin', `pin-${i}-${t.slice(0, 12).replaceAll('\u0000', '')}`, t, null, 1_736_121_600_000 + i);
        add.run('pin-json', `pin-json-${i}`, JSON.stringify({ note: t, [`k${t.slice(0, 6)}`]: [t, i, null, { deep: t }] }), i % 2 ? 1_736_121_600_000 : null, 1_736_121_600_000 + i);
      });
      add.run('pin', 'pin-bad-json', '{"not": json', null, 1_736_121_600_000);
      add.run('pin', 'pin-json-text-in-string', JSON.stringify(JSON.stringify({ inner: 'double encoded text' })), null, 1_736_121_600_000);
    } finally {
      hostile.close();
    }
    const store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
    const { db: inner, close } = await backend.open();
    try {
      const rec1 = new CopyRecorder();
      const push1 = await pushWorkspace(ws.root, 'laptop', store);
      const first = loaded(await loadSnapshot({ store, db: rec1.wrap(inner) }, push1.manifestKey!));
      // change rows of every kind the second load stages: an update, a delete, an insert
      const v3 = new Database(join(ws.root, 'v3/.agentic-qe/memory.db'));
      try {
        v3.prepare(`UPDATE qe_patterns SET confidence = 0.5, description = 'changed\tby the pin test' WHERE rowid IN (SELECT rowid FROM qe_patterns ORDER BY rowid LIMIT 2)`).run();
        v3.prepare(`DELETE FROM kv_store WHERE rowid IN (SELECT rowid FROM kv_store ORDER BY rowid LIMIT 1)`).run();
        v3.prepare(`UPDATE kv_store SET value = '{"changed":"yes \\\\ really"}' WHERE rowid IN (SELECT rowid FROM kv_store ORDER BY rowid LIMIT 1)`).run();
      } finally {
        v3.close();
      }
      const rec2 = new CopyRecorder();
      const push2 = await pushWorkspace(ws.root, 'laptop', store);
      const second = loaded(await loadSnapshot({ store, db: rec2.wrap(inner) }, push2.manifestKey!));
      const union = TARGET_TABLES.map((t) => `SELECT snapshot_at AS t FROM aqe.${t.name} UNION SELECT missing_since FROM aqe.${t.name}`).join(' UNION ');
      const times = (
        await inner.query<{ t: string; iso: string }>(
          `SELECT t::text AS t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso FROM (${union} UNION SELECT snapshot_created_at FROM aqe.sync_runs) x WHERE t IS NOT NULL ORDER BY 1`,
        )
      ).rows;
      const scrub = scrubber(times.flatMap((t) => [t.t, t.iso]));
      result['first copy'] = copied(rec1, scrub);
      result['second copy'] = copied(rec2, scrub);
      result['stored'] = await storedRows(inner, scrub);
      result['undo'] = await undoImages(inner, second.runId, scrub);
      result['runs'] = [first.runId, second.runId];
    } finally {
      await close();
      await ws.close();
    }
  }, 180_000);
  afterAll(async () => {
    await tmp?.remove();
  });

  it('sends the same COPY text and stores the same bytes as before the client was made faster', () => {
    expect(result).toMatchSnapshot();
  });
});
