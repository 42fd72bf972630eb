// The database embedding cache round-trips vectors on every dialect: native PostgreSQL without an
// extension (real[], printed as `{…}`) and PGlite with pgvector (`[…]`). A cache hit once threw on
// `none`, leaving every cached text's rows pending after a load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { PgEmbeddingCache } from '../../../functions/embed/pg-embedding-cache.js';
import { createTestDatabase, openTestPglite, type TestDatabase } from '../../support/postgres.js';

const vector = Float32Array.from({ length: 384 }, (_, i) => Math.fround(Math.sin(i + 1) / 3));

describe.each([
  ['native PostgreSQL (dialect none)', 'none'],
  ['PGlite (dialect pgvector)', 'pgvector'],
] as const)('PgEmbeddingCache on %s', (_name, expected) => {
  let db: DatabaseConnection;
  let tdb: TestDatabase | undefined;
  beforeAll(async () => {
    if (expected === 'none') {
      tdb = await createTestDatabase('embedding_cache');
      db = new PgDatabase(tdb.url);
    } else {
      db = await openTestPglite();
    }
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('returns exactly the vectors it stored, and nothing for unknown hashes', async () => {
    const migrated = await ensureMigrated(db);
    expect(migrated.dialect.dialect).toBe(expected);
    const cache = new PgEmbeddingCache(migrated);
    await cache.putMany([{ hash: 'h1', vector }], 'm');
    const got = await cache.getMany(['h1', 'unknown']);
    expect([...got.keys()]).toEqual(['h1']);
    expect(Array.from(got.get('h1')!)).toEqual(Array.from(vector));
  });
});
