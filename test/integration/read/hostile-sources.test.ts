// Real files in temp folders: SQLite variants (WAL with its -wal, keyless tables), damaged and
// hostile sources, each giving its specific AppError that names the file.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshotSource } from '../../../functions/loader/read/read-snapshot-source.js';
import { REDB_MAGIC } from '../../../uploader/workspace/content-kind.js';
import { collectRows } from '../../../functions/loader/read/source-read-result.js';
import type { ErrorCode } from '../../../schema/errors.js';
import { isAppError } from '../../../schema/errors.js';
import type { SourceFormat } from '../../../schema/sources/catalogue.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aqe-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (v: number[]) => {
  const b = Buffer.alloc(v.length * 4);
  for (const [i, x] of v.entries()) b.writeFloatLE(x, i * 4);
  return b;
};

function sqliteFile(name: string, sql: string, fill?: (db: Database.Database) => void): string {
  const file = join(dir, name);
  const db = new Database(file);
  db.exec(sql);
  fill?.(db);
  db.close();
  return file;
}

async function readAll(file: string, format: SourceFormat = 'sqlite', path = 'v3/.agentic-qe/memory.db') {
  const result = readSnapshotSource({ sourceId: 'v3-memory', path, format }, file);
  try {
    return { result, rows: await collectRows(result) };
  } finally {
    result.close();
  }
}

async function expectError(run: () => unknown, code: ErrorCode, message: RegExp): Promise<void> {
  try {
    await run();
  } catch (err) {
    expect(isAppError(err, code), String(err)).toBe(true);
    expect((err as Error).message).toMatch(message);
    return;
  }
  expect.unreachable(`expected ${code}`);
}

describe('SQLite variants', () => {
  it('reads a WAL database together with its -wal file, without changing its journal mode', async () => {
    const file = join(dir, 'wal.db');
    const writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE kv_store (namespace TEXT, key TEXT, value TEXT, created_at INTEGER, PRIMARY KEY (namespace, key))');
    const ins = writer.prepare('INSERT INTO kv_store VALUES (?, ?, ?, ?)');
    for (let i = 0; i < 5; i++) ins.run('ns', `k${i}`, JSON.stringify({ i }), 1736121600000 + i);
    expect(existsSync(`${file}-wal`)).toBe(true);
    // A copy with its -wal, as a snapshot of a live file would be taken
    const copy = join(dir, 'wal-copy.db');
    copyFileSync(file, copy);
    copyFileSync(`${file}-wal`, `${copy}-wal`);
    writer.close();
    const { rows } = await readAll(copy);
    expect(rows.get('kv_entries')?.map((r) => r.sourceKey)).toEqual(['["ns","k0"]', '["ns","k1"]', '["ns","k2"]', '["ns","k3"]', '["ns","k4"]']);
    const check = new Database(copy, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
  });

  it('keeps identical rows of a keyless table as distinct rows with stable keys', async () => {
    const file = sqliteFile('keyless.db', 'CREATE TABLE hints (hint TEXT, weight REAL)', (db) => {
      const ins = db.prepare('INSERT INTO hints VALUES (?, ?)');
      for (const [h, w] of [['b', 1], ['a', 2], ['b', 1], ['b', 1]] as const) ins.run(h, w);
    });
    const first = (await readAll(file)).rows.get('source_rows') ?? [];
    const again = (await readAll(file)).rows.get('source_rows') ?? [];
    expect(first).toHaveLength(4);
    expect(new Set(first.map((r) => r.sourceKey)).size).toBe(4);
    expect(again.map((r) => r.sourceKey)).toEqual(first.map((r) => r.sourceKey));
  });

  it('skips FTS5 virtual tables, their shadow tables and sqlite_sequence', async () => {
    const file = sqliteFile(
      'fts.db',
      `CREATE TABLE qe_patterns (id TEXT PRIMARY KEY, name TEXT);
       CREATE VIRTUAL TABLE qe_patterns_fts USING fts5(id UNINDEXED, name);
       CREATE TABLE qe_pattern_usage (id INTEGER PRIMARY KEY AUTOINCREMENT, pattern_id TEXT);
       INSERT INTO qe_patterns VALUES ('p1', 'n'); INSERT INTO qe_patterns_fts VALUES ('p1', 'n'); INSERT INTO qe_pattern_usage (pattern_id) VALUES ('p1');`,
    );
    const { result } = await readAll(file);
    expect(result.parts.map((p) => p.sourceTable)).toEqual(['qe_pattern_usage', 'qe_patterns']);
    expect(result.skipped.map((s) => s.name).sort()).toEqual(['qe_patterns_fts', 'qe_patterns_fts_config', 'qe_patterns_fts_content', 'qe_patterns_fts_data', 'qe_patterns_fts_docsize', 'qe_patterns_fts_idx', 'sqlite_sequence']);
  });

  it('keeps SQL-looking keys and values verbatim', async () => {
    const evil = "x'); DROP TABLE aqe.memory_entries; --";
    const file = sqliteFile('sql.db', 'CREATE TABLE kv_store (namespace TEXT, key TEXT, value TEXT, PRIMARY KEY (namespace, key))', (db) => {
      db.prepare('INSERT INTO kv_store VALUES (?, ?, ?)').run('"ns"', evil, evil);
    });
    const row = (await readAll(file)).rows.get('kv_entries')?.[0];
    expect(row?.values).toMatchObject({ namespace: '"ns"', key: evil, value: evil });
    expect(JSON.parse(row?.sourceKey ?? '')).toEqual(['"ns"', evil]);
  });

  it('reads patterns with and without the embedding TEXT column', async () => {
    const withEmb = sqliteFile('pat1.db', 'CREATE TABLE patterns (id TEXT PRIMARY KEY, pattern TEXT UNIQUE, confidence REAL, created_at INTEGER, embedding TEXT)', (db) => {
      db.prepare('INSERT INTO patterns VALUES (?, ?, ?, ?, ?)').run('p1', 'pat', 0.5, 1736121600000, '[0.25,0.5]');
      db.prepare('INSERT INTO patterns VALUES (?, ?, ?, ?, ?)').run('p2', 'pat2', 0.5, 1736121600000, null);
    });
    const without = sqliteFile('pat2.db', 'CREATE TABLE patterns (id TEXT PRIMARY KEY, pattern TEXT UNIQUE, confidence REAL, created_at INTEGER)', (db) => {
      db.prepare('INSERT INTO patterns VALUES (?, ?, ?, ?)').run('p1', 'pat', 0.5, 1736121600000);
    });
    const a = (await readAll(withEmb)).rows.get('patterns') ?? [];
    expect(a.map((r) => r.values['source_embedding'])).toEqual([[0.25, 0.5], undefined]);
    const b = (await readAll(without)).rows.get('patterns') ?? [];
    expect(b[0]?.values).toMatchObject({ pattern: 'pat', confidence: 0.5, created_at: new Date(1736121600000) });
  });
});

describe('hostile SQLite files', () => {
  it('refuses a file that claims to be SQLite but is not', async () => {
    const file = join(dir, 'fake.db');
    writeFileSync(file, '{"not":"sqlite"} padding padding');
    await expectError(() => readAll(file), 'SOURCE_CORRUPT', /^v3\/\.agentic-qe\/memory\.db: expected a SQLite database \(header "SQLite format 3\\0"\), got a file that does not start with it/);
  });

  it('refuses a database with corrupted pages, naming the path', async () => {
    const file = sqliteFile('corrupt.db', 'CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT, payload TEXT)', (db) => {
      const ins = db.prepare('INSERT INTO events VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let i = 0; i < 3000; i++) ins.run(`evt-${i}`, 'task:completed', JSON.stringify({ i, pad: 'x'.repeat(100) }));
      })();
    });
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    for (let p = 3; p < 12; p++) bytes.fill(0xa5, p * pageSize, p * pageSize + pageSize);
    writeFileSync(file, bytes);
    await expectError(() => readAll(file), 'SOURCE_CORRUPT', /^v3\/\.agentic-qe\/memory\.db: expected an intact SQLite database, got an error during PRAGMA quick_check/);
  });

  it('keeps the integer 1 and the text "1" of an untyped key column apart', async () => {
    const file = sqliteFile('untyped.db', 'CREATE TABLE kv_store (key PRIMARY KEY, value TEXT); CREATE TABLE other_things (id BLOB PRIMARY KEY, v TEXT); CREATE TABLE typed (id TEXT PRIMARY KEY, v TEXT)', (db) => {
      for (const k of [1, '1', 2.5, '2.5', 'abc', '01']) db.prepare('INSERT INTO kv_store VALUES (?, ?)').run(k, String(k));
      db.prepare('INSERT INTO other_things VALUES (?, ?)').run(7, 'a');
      db.prepare('INSERT INTO other_things VALUES (?, ?)').run('7', 'b');
      db.prepare('INSERT INTO typed VALUES (?, ?)').run(7n, 'text affinity: stored as "7"');
    });
    const { rows } = await readAll(file);
    expect(rows.get('kv_entries')?.map((r) => r.sourceKey).sort()).toEqual(['"1"', '"2.5"', '01', '1', '2.5', 'abc']);
    expect(rows.get('source_rows')?.map((r) => r.sourceKey).sort()).toEqual(['other_things:"7"', 'other_things:7', 'typed:7']);
  });

  it('counts the warnings of a table read twice once (the loader re-reads a source after a duplicate key)', async () => {
    const file = sqliteFile('reread.db', 'CREATE TABLE kv_store (key TEXT PRIMARY KEY, value TEXT)', (db) => {
      db.prepare('INSERT INTO kv_store VALUES (?, ?)').run('a', 'x\u0000');
      db.prepare('INSERT INTO kv_store VALUES (?, ?)').run('b', 'y\u0000\u0000');
    });
    const result = readSnapshotSource({ sourceId: 'v3-memory', path: 'v3/.agentic-qe/memory.db', format: 'sqlite' }, file);
    try {
      const keys = () => [...(result.rows('kv_entries') as Iterable<{ sourceKey: string }>)].map((r) => r.sourceKey);
      expect(keys()).toEqual(['a', 'b']);
      expect(result.warnings).toEqual([expect.objectContaining({ kind: 'nul-stripped', sourceTable: 'kv_store', column: 'value', count: 3 })]);
      expect(keys()).toEqual(['a', 'b']);
      expect(result.warnings).toEqual([expect.objectContaining({ kind: 'nul-stripped', sourceTable: 'kv_store', column: 'value', count: 3 })]);
      expect(result.tables()).toEqual([{ sourceTable: 'kv_store', targetTable: 'kv_entries', rows: 2 }]);
    } finally {
      result.close();
    }
  });

  it('refuses a table name that is not a plain identifier', async () => {
    const file = sqliteFile('names.db', 'CREATE TABLE "evil; DROP TABLE x" (id TEXT PRIMARY KEY)');
    await expectError(() => readAll(file), 'VALUE_INVALID', /table "evil; DROP TABLE x": expected a plain identifier/);
  });

  it('refuses a NUL character in a key but strips and counts it in values', async () => {
    const file = sqliteFile('nul.db', 'CREATE TABLE kv_store (namespace TEXT, key TEXT, value TEXT, PRIMARY KEY (namespace, key))', (db) => {
      db.prepare('INSERT INTO kv_store VALUES (?, ?, ?)').run('ns', 'ok', 'a\u0000b\u0000');
    });
    const { result, rows } = await readAll(file);
    expect(rows.get('kv_entries')?.[0]?.values['value']).toBe('ab');
    expect(result.warnings).toEqual([expect.objectContaining({ kind: 'nul-stripped', sourceTable: 'kv_store', column: 'value', count: 2 })]);
    const bad = sqliteFile('nulkey.db', 'CREATE TABLE kv_store (namespace TEXT, key TEXT, value TEXT, PRIMARY KEY (namespace, key))', (db) => {
      db.prepare('INSERT INTO kv_store VALUES (?, ?, ?)').run('ns', 'k\u0000ey', 'v');
    });
    await expectError(() => readAll(bad), 'VALUE_INVALID', /memory\.db: table "kv_store", row "k\\\\0ey", field "key": expected a key without NUL characters/);
  });

  it('refuses a value larger than the limit, naming the row', async () => {
    const file = sqliteFile('big.db', 'CREATE TABLE memory_entries (key TEXT, partition TEXT, value TEXT, PRIMARY KEY (key, partition))', (db) => {
      db.prepare('INSERT INTO memory_entries VALUES (?, ?, ?)').run('huge', 'default', 'x'.repeat(9 * 1024 * 1024));
    });
    await expectError(() => readAll(file), 'VALUE_INVALID', /table "memory_entries", row "\[\\"huge\\",\\"default\\"\]", field "value": expected a value of at most 8388608 bytes, got 9437184 bytes/);
  });

  it('refuses an embedding whose length does not match its dimension column', async () => {
    const file = sqliteFile('dim.db', 'CREATE TABLE vectors (id TEXT PRIMARY KEY, namespace TEXT, embedding BLOB, dimensions INTEGER, created_at INTEGER)', (db) => {
      db.prepare('INSERT INTO vectors VALUES (?, ?, ?, ?, ?)').run('v1', 'default', f32(new Array(128).fill(0.1)), 384, 1736121600000);
    });
    await expectError(() => readAll(file), 'VALUE_INVALID', /table "vectors", row "vectors:v1", field "embedding": expected a Float32 .* got 512 bytes = 128 Float32 values, but the row records dimension 384/);
  });
});

describe('hostile JSON files', () => {
  const json = async (name: string, content: Buffer | string, format: SourceFormat = 'ruvector-intelligence') => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return readAll(file, format, 'v3/.ruvector/intelligence.json');
  };
  it('refuses invalid UTF-8', async () => {
    await expectError(() => json('u.json', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])), 'PARSE_FAILED', /intelligence\.json: expected UTF-8 JSON/);
  });
  it('refuses numbers beyond double range', async () => {
    await expectError(() => json('n.json', '{"patterns":{"s|a":{"q_value":1e999}}}'), 'VALUE_INVALID', /table "patterns", row "s\|a", field "\$\.q_value": expected a number within the double range/);
  });
  it('refuses nesting deeper than 256', async () => {
    await expectError(() => json('d.json', `{"x":${'['.repeat(1000)}${']'.repeat(1000)}}`), 'PARSE_FAILED', /nested at most 256 levels deep/);
  });
  it('refuses truncated JSON', async () => {
    await expectError(() => json('t.json', '{"memories":[{"id":'), 'PARSE_FAILED', /intelligence\.json: expected valid JSON, got a document that ends before it is complete/);
  });
  it('refuses a memory embedding that is not an array of finite numbers', async () => {
    await expectError(() => json('e.json', '{"memories":[{"id":"mem_1","embedding":[0.1,"x"]}]}'), 'VALUE_INVALID', /table "memories", row "mem_1#[0-9a-f]{12}", field "embedding"/);
  });
  it('reads unknown JSON into source_rows', async () => {
    const { rows } = await json('other.json', '[{"id":1},{"id":1},{"x":true}]', 'json');
    expect(rows.get('source_rows')).toHaveLength(3);
  });
});

describe('redb files', () => {
  it('refuses a file that is not redb', async () => {
    const file = join(dir, 'not-redb.db');
    writeFileSync(file, 'SQLite format 3\u0000 not redb');
    await expectError(() => readAll(file, 'ruvector-redb', 'v2/data/ruvector-patterns.db'), 'SOURCE_CORRUPT', /ruvector-patterns\.db: expected a @ruvector\/core VectorDb \(redb\) file/);
  });

  /** A redb header and the binding's config record, nothing else. */
  function redbWithConfig(name: string, config: object): string {
    const file = join(dir, name);
    writeFileSync(file, Buffer.concat([REDB_MAGIC, Buffer.alloc(64), Buffer.from(`__ruvector_db_config__${JSON.stringify(config)}`, 'latin1'), Buffer.alloc(64)]));
    return file;
  }

  it('reads a redb header with a config record and nothing else as an incomplete read: no vectors, a warning', async () => {
    const file = redbWithConfig('huge-dims.db', { dimensions: 2_000_000_000, distance_metric: 'Cosine' });
    const { result, rows } = await readAll(file, 'ruvector-redb', 'v2/data/ruvector-patterns.db');
    expect(rows.get('source_vectors') ?? []).toHaveLength(0);
    expect(result.parts.every((p) => p.complete())).toBe(false);
    expect(result.warnings).toEqual([
      expect.objectContaining({ kind: 'source', message: expect.stringMatching(/ruvector-patterns\.db: incomplete read \(what was read is kept, no vector is marked missing\): not a readable redb 2\.x file/) }),
    ]);
  });
});
