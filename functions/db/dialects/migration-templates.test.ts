import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dialectSql, VECTOR_DIALECTS } from '../dialect.js';
import { defaultMigrationsDir, migrationChecksum } from '../migrate.js';
import { MIGRATION_TEMPLATES, renderMigration } from './migration-templates.js';

const dir = defaultMigrationsDir();
const perDialectSteps = [...new Set(readdirSync(dir).map((f) => /^(\d{3}_[a-z0-9_]+)\.(pgvector|ruvector|none)\.sql$/.exec(f)?.[1]).filter((s): s is string => s !== undefined))].sort();

describe('per-dialect migrations rendered from one template', () => {
  it('every step that differs per dialect has a template (a new one is written as a template first)', () => {
    expect(MIGRATION_TEMPLATES.map((t) => t.name).sort()).toEqual(perDialectSteps);
  });

  for (const template of MIGRATION_TEMPLATES) {
    for (const dialect of VECTOR_DIALECTS) {
      it(`${template.name} renders for ${dialect} exactly as the file databases applied (same checksum)`, () => {
        const file = readFileSync(path.join(dir, `${template.name}.${dialect}.sql`), 'utf8');
        const rendered = renderMigration(template, dialectSql(dialect));
        expect(rendered).toBe(file);
        expect(migrationChecksum(rendered)).toBe(migrationChecksum(file));
      });
    }
  }
});
