import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlitePageCensus } from './sqlite-page-census.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aqe-census-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A database with a deep rowid table, a WITHOUT ROWID table, an empty table and overflow rows, at `pageSize`. */
function build(path: string, pageSize: number): Map<string, { root: number; rows: number }> {
  const db = new Database(path);
  db.pragma(`page_size = ${pageSize}`);
  db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE keyed (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID; CREATE TABLE empty (x); CREATE TABLE wide (id INTEGER PRIMARY KEY, blob BLOB); CREATE INDEX big_v ON big (v)');
  db.transaction(() => {
    const big = db.prepare('INSERT INTO big (v) VALUES (?)');
    for (let i = 0; i < 30_000; i++) big.run(`value ${i} ${'x'.repeat(i % 97)}`);
    const keyed = db.prepare('INSERT INTO keyed (k, v) VALUES (?, ?)');
    for (let i = 0; i < 12_000; i++) keyed.run(`key-${(i * 7919) % 12_000}-${'y'.repeat(i % 41)}`, i);
    const wide = db.prepare('INSERT INTO wide (blob) VALUES (?)');
    for (let i = 0; i < 50; i++) wide.run(Buffer.alloc(3 * pageSize + i, i));
  })();
  db.exec('DELETE FROM big WHERE id % 5 = 0');
  const out = new Map<string, { root: number; rows: number }>();
  for (const [name, root] of db.prepare("SELECT name, rootpage FROM sqlite_schema WHERE type = 'table'").raw().all() as Array<[string, number]>) {
    out.set(name, { root, rows: Number(db.prepare(`SELECT COUNT(*) FROM "${name}"`).pluck().get()) });
  }
  db.close();
  return out;
}

describe('SqlitePageCensus', () => {
  it.each([512, 4096, 65536])('counts every table’s rows from the pages alone as COUNT(*) does (page size %i), however the file is split into blocks', (pageSize) => {
    const path = join(dir, `census-${pageSize}.db`);
    const tables = build(path, pageSize);
    const bytes = readFileSync(path);
    for (const blockSize of [bytes.length, 1 << 20, 1000]) {
      const census = new SqlitePageCensus();
      for (let at = 0; at < bytes.length; at += blockSize) census.add(bytes.subarray(at, at + blockSize), at);
      for (const [name, t] of tables) expect(census.rows(t.root), `${name} in blocks of ${blockSize}`).toBe(t.rows);
    }
  });

  it('answers null (count with SQL) for a page that is no b-tree root, blocks out of order, or a file that is not a database', () => {
    const path = join(dir, 'census-null.db');
    const tables = build(path, 4096);
    const bytes = readFileSync(path);
    const census = new SqlitePageCensus();
    census.add(bytes, 0);
    expect(census.rows(0)).toBeNull();
    expect(census.rows(bytes.length / 4096 + 5)).toBeNull();
    const skipped = new SqlitePageCensus();
    skipped.add(bytes.subarray(0, 8192), 0);
    skipped.add(bytes.subarray(16384), 16384);
    expect(skipped.rows(tables.get('big')!.root)).toBeNull();
    const notDb = new SqlitePageCensus();
    notDb.add(Buffer.alloc(8192, 1), 0);
    expect(notDb.rows(1)).toBeNull();
  });
});
