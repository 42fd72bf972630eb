// The consistent copy of a SQLite source takes the cheapest safe way (a file copy under a read
// lock, the copy of a cleanly closed WAL database, or SQLite's backup API for a live WAL
// database); each gives byte for byte what the backup API writes, so the way never changes a
// snapshot's chunks, and the source is left as it was.

import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { copySqliteConsistently } from '../../../uploader/snapshot/sqlite-snapshot.js';
import { writeLargeSqlite } from '../../support/large-sources.js';
import { tempFolder } from './cli-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function folder(): Promise<string> {
  const t = await tempFolder();
  cleanups.push(t.remove);
  return t.dir;
}

/** What SQLite's backup API writes for `source`. */
async function backupOf(source: string, dest: string): Promise<Buffer> {
  const db = new Database(source, { readonly: true });
  try {
    await db.backup(dest);
  } finally {
    db.close();
  }
  return readFile(dest);
}

describe('a consistent SQLite copy', () => {
  it.each(['delete', 'wal'] as const)('of a closed database (%s journal) is a file copy equal to the backup API’s, and leaves nothing beside the source', async (journal) => {
    const dir = await folder();
    const source = join(dir, 'memory.db');
    await writeLargeSqlite(source, { rows: 20_000, payloadBytes: 100, journal });
    const db = new Database(source);
    db.prepare('UPDATE large_rows SET value = ? WHERE id = ?').run('changed', 10); // the change counter moves past 1
    db.close();
    const before = await readFile(source);
    await copySqliteConsistently(source, join(dir, 'copy.db'));
    const copy = await readFile(join(dir, 'copy.db'));
    expect(copy.readUInt32BE(24)).toBe(1);
    expect((await readFile(source)).equals(before)).toBe(true);
    expect(existsSync(`${source}-wal`) || existsSync(`${source}-shm`) || existsSync(`${source}-journal`)).toBe(false);
    // (the backup API reading the source in place leaves -wal/-shm beside a WAL file: checked above first)
    expect(copy.equals(await backupOf(source, join(dir, 'backup.db')))).toBe(true);
  });

  it('of a live WAL database includes the commits only its -wal holds, as the backup API gives them', async () => {
    const dir = await folder();
    const source = join(dir, 'memory.db');
    await writeLargeSqlite(source, { rows: 5_000, payloadBytes: 100, journal: 'wal' });
    const writer = new Database(source);
    cleanups.push(async () => {
      writer.close();
    });
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare('INSERT INTO large_rows (id, key, value, created_at) VALUES (?, ?, ?, ?)').run(900_001, 'only-in-wal', 'x', 1);
    expect(existsSync(`${source}-wal`)).toBe(true);
    await copySqliteConsistently(source, join(dir, 'copy.db'));
    const copy = await readFile(join(dir, 'copy.db'));
    expect(copy.equals(await backupOf(source, join(dir, 'backup.db')))).toBe(true);
    const read = new Database(join(dir, 'copy.db'), { readonly: true });
    expect(read.prepare('SELECT key FROM large_rows WHERE id = 900001').pluck().get()).toBe('only-in-wal');
    read.close();
  });

  it('of a database whose header does not describe it (a legacy writer) is taken by the backup API', async () => {
    const dir = await folder();
    const source = join(dir, 'memory.db');
    await writeLargeSqlite(source, { rows: 2_000, payloadBytes: 100, journal: 'delete' });
    // "version valid for" unlike the change counter: the in-header page count is not to be trusted
    const bytes = await readFile(source);
    bytes.writeUInt32BE(bytes.readUInt32BE(24) + 7, 92);
    await writeFile(source, bytes);
    await copySqliteConsistently(source, join(dir, 'copy.db'));
    expect((await readFile(join(dir, 'copy.db'))).equals(await backupOf(source, join(dir, 'backup.db')))).toBe(true);
  });
});
