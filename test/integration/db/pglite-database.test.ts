// The Database contract on PGlite (in-process, pgvector), plus what only PGlite shows.
import { describe, expect, it } from 'vitest';
import { dialectSql } from '../../../functions/db/dialect.js';
import { detectDialect, ensureDialectExtension } from '../../../functions/db/dialects/detect-dialect.js';
import { ensureMigrated, loadMigrations } from '../../../functions/db/migrate.js';
import { openDatabase, openMigratedDatabase } from '../../../functions/db/open-database.js';
import { PgliteDatabase } from '../../../functions/db/pglite-database.js';
import { openTestPglite } from '../../support/postgres.js';
import { describeDatabaseContract } from './database-contract.js';

describeDatabaseContract({
  name: 'PGlite',
  dialect: 'pgvector',
  fresh: async () => ({ db: await openTestPglite(), dispose: async () => {} }),
});

describe('PgliteDatabase', () => {
  it('openMigratedDatabase opens, migrates once and returns a Database carrying its dialect, and so does each transaction', async () => {
    const db = await openMigratedDatabase('pglite://memory');
    try {
      expect(db.kind).toBe('pglite');
      expect(db.dialect).toBe(dialectSql('pgvector'));
      expect(await db.transaction(async (tx) => tx.dialect)).toBe(db.dialect);
      const applied = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM aqe.schema_migrations')).rows[0]?.n;
      expect(applied).toBe((await loadMigrations()).length);
      // already migrated: the same handle, nothing run again
      expect(await ensureMigrated(db)).toBe(db);
    } finally {
      await db.close();
    }
  });

  it('detects pgvector from the installed extension and refuses to add ruvector beside it, naming both and the fix', async () => {
    const db = await openTestPglite();
    try {
      expect(await detectDialect(db)).toBe('pgvector');
      const err = await ensureDialectExtension(db, 'ruvector').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DB_SCHEMA' });
      expect((err as Error).message).toBe('cannot use dialect "ruvector": extension "vector" is installed in this database and the two cannot coexist. Use dialect "pgvector" or drop "vector".');
      // nothing was created
      expect((await db.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname IN ('vector', 'ruvector') ORDER BY 1`)).rows).toEqual([{ extname: 'vector' }]);
    } finally {
      await db.close();
    }
  });

  it('refuses a call on the database from inside its own transaction instead of hanging', async () => {
    const db = await openTestPglite();
    try {
      await expect(db.transaction(() => db.query('SELECT 1'))).rejects.toMatchObject({ code: 'INTERNAL' });
      expect((await db.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('serialises concurrent transactions on its single connection', async () => {
    const db = await openTestPglite();
    try {
      await db.exec('CREATE TABLE log (i serial, who text)');
      await Promise.all(
        ['a', 'b', 'c'].map((who) =>
          db.transaction(async (tx) => {
            await tx.query('INSERT INTO log (who) VALUES ($1)', [who]);
            await new Promise((r) => setTimeout(r, 20));
            await tx.query('INSERT INTO log (who) VALUES ($1)', [who]);
          }),
        ),
      );
      const who = (await db.query<{ who: string }>('SELECT who FROM log ORDER BY i')).rows.map((r) => r.who).join('');
      expect(who).toBe('aabbcc');
    } finally {
      await db.close();
    }
  });

  it('opens pglite://memory and persists pglite://<dir>', async () => {
    const mem = await openDatabase('pglite://memory');
    expect(mem).toBeInstanceOf(PgliteDatabase);
    expect(mem.description).toBe('pglite://memory');
    await mem.close();
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/aqe-pglite-`);
    try {
      const a = await openDatabase(`pglite://${dir}`);
      await a.exec('CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$x$$)');
      await a.close();
      const b = await openDatabase(`pglite://${dir}`);
      expect((await b.query('SELECT v FROM kept')).rows).toEqual([{ v: 'x' }]);
      await b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
