// One source id with two paths (the README's own config example: `"v3-memory": { "paths":
// ["v3/.agentic-qe/memory.db", "v3-old/.agentic-qe/memory.db"] }`): each path is its own source
// identity, so the two files' rows never overwrite each other and neither marks the other's rows
// missing. The example is read from README.md itself, so the README keeps doing what it says.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import { WORKSPACE_CONFIG_FILE } from '../../../schema/config/workspace-config.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import { tempDir } from '../../e2e/support/e2e-fixtures.js';
import { openTestPglite } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { sqliteAll, sqliteRun } from '../ops/ops-support.js';

const V3 = 'v3/.agentic-qe/memory.db';
const OLD = 'v3-old/.agentic-qe/memory.db';

/** The JSON config example of README.md's Configuration section. */
function readmeConfigExample(): Record<string, unknown> {
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
  const block = /```json\n(\{[\s\S]*?"sources"[\s\S]*?\})\n```/.exec(readme);
  if (!block) throw new Error('README.md has no ```json config example with "sources"');
  return JSON.parse(block[1]!) as Record<string, unknown>;
}

describe("the README's config example: one source id with two paths", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let db: DatabaseConnection;
  let ws: string;
  let shared: { id: string; v3: string; old: string };
  let onlyOld: string;
  let onlyV3: string;

  beforeAll(async () => {
    tmp = await tempDir('aqe-two-paths-');
    ws = join(tmp.dir, 'ws');
    await buildWorkspace(ws, { volume: 'small', seed: 5 });
    // the old copy of the database: same tables and keys, some values differ, some rows only in one
    mkdirSync(join(ws, 'v3-old/.agentic-qe'), { recursive: true });
    copyFileSync(join(ws, V3), join(ws, OLD));
    const ids = sqliteAll<{ id: string }>(ws, V3, 'SELECT id FROM qe_patterns ORDER BY id LIMIT 2');
    shared = { id: ids[0]!.id, v3: 'current description', old: 'old description' };
    onlyV3 = ids[1]!.id;
    sqliteRun(ws, V3, 'UPDATE qe_patterns SET description = ? WHERE id = ?', shared.v3, shared.id);
    sqliteRun(ws, OLD, 'UPDATE qe_patterns SET description = ? WHERE id = ?', shared.old, shared.id);
    sqliteRun(ws, OLD, 'DELETE FROM qe_patterns WHERE id = ?', onlyV3);
    onlyOld = 'pattern-only-in-the-old-copy';
    sqliteRun(ws, OLD, `INSERT INTO qe_patterns (id, pattern_type, qe_domain, domain, name, description) SELECT ?, pattern_type, qe_domain, domain, 'old one', 'kept from v3-old' FROM qe_patterns WHERE id = ?`, onlyOld, shared.id);
    mkdirSync(join(ws, 'notes'), { recursive: true });
    writeFileSync(join(ws, 'notes/learning.json'), JSON.stringify({ notes: [{ id: 'n1', text: 'retry flaky tests once' }] }));
    writeFileSync(join(ws, WORKSPACE_CONFIG_FILE), JSON.stringify(readmeConfigExample(), null, 2));
    db = await openTestPglite();
  });
  afterAll(async () => {
    await db?.close();
    await tmp?.remove();
  });

  it('captures each path under its own source id and loads both files whole, nothing overwritten or marked missing', async () => {
    const bucket = `file://${join(tmp.dir, 'bucket')}`;
    const config = loadConfig({ flags: { bucket }, env: {}, workspace: ws, configText: readFileSync(join(ws, WORKSPACE_CONFIG_FILE), 'utf8') });
    expect(config.env).toBe('laptop');
    const store = await openBlobStore(bucket);
    const pushed = await runPush({ config, store });
    const v3Entry = pushed.manifest.sources.find((s) => s.path === V3)!;
    const oldEntry = pushed.manifest.sources.find((s) => s.path === OLD)!;
    expect(v3Entry).toMatchObject({ status: 'captured', sourceId: 'v3-memory' });
    expect(oldEntry).toMatchObject({ status: 'captured' });
    expect(oldEntry.sourceId).toMatch(/^v3-memory-v3-old-agentic-qe-memory-db-[0-9a-f]{6}$/);
    expect(pushed.manifest.sources.find((s) => s.path === 'notes/learning.json')).toMatchObject({ status: 'captured', sourceId: 'team-notes' });
    expect(pushed.manifest.sources.some((s) => s.path.startsWith('.swarm/'))).toBe(false);

    const out = await loadSnapshot({ store, db }, pushed.manifestKey!);
    expect(out.status).toBe('loaded');
    const rows = await db.query<{ source_id: string; source_key: string; description: string | null; missing: boolean }>(
      `SELECT source_id, source_key, description, missing_since IS NOT NULL AS missing FROM aqe.qe_patterns WHERE source_env = 'laptop' ORDER BY 1, 2`,
    );
    const of = (sourceId: string) => rows.rows.filter((r) => r.source_id === sourceId);
    const v3Rows = of('v3-memory');
    const oldRows = of(oldEntry.sourceId);
    expect(v3Rows).toHaveLength(sqliteAll(ws, V3, 'SELECT id FROM qe_patterns').length);
    expect(oldRows).toHaveLength(sqliteAll(ws, OLD, 'SELECT id FROM qe_patterns').length);
    expect(rows.rows.filter((r) => r.missing)).toEqual([]);
    const desc = (list: typeof v3Rows, id: string) => list.find((r) => r.source_key.includes(id))?.description;
    expect(desc(v3Rows, shared.id)).toBe(shared.v3);
    expect(desc(oldRows, shared.id)).toBe(shared.old);
    expect(desc(oldRows, onlyOld)).toBe('kept from v3-old');
    expect(desc(v3Rows, onlyV3)).toBeDefined();
    expect(desc(oldRows, onlyV3)).toBeUndefined();
  });
});
