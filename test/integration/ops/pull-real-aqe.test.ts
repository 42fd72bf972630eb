// The real client: agentic-qe 3.14 (the pinned devDependency, its own CLI) learns a pattern in one
// environment; that workspace is pushed; another workspace's agentic-qe database receives it
// with `aqe-upload pull`; then agentic-qe itself lists the pattern, its FTS index holds it, and its
// semantic search (`aqe hooks search`) finds it by meaning, and its
// embedding check finds the qe_pattern_embeddings row pull wrote (the vector the source
// environment's agentic-qe made, byte for byte) in the same space as its own vectors. Both agentic-qe runs embed through the same OpenAI-compatible endpoint (the
// wire format agentic-qe speaks to an embedding server), served here by our embedder with the
// stand-in model, so both live in one embedding space as two machines sharing a model would.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Embedder, loadEmbedder } from '../../../functions/embed/embedder.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { STANDIN_MODEL_DIR } from '../../../uploader/local/local-sync.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { agenticQeCli } from '../../support/real-formats.js';
import { runCliInProcess, tempFolder } from '../uploader/cli-harness.js';

const V3 = 'v3/.agentic-qe/memory.db';

/** An OpenAI-compatible /v1/embeddings endpoint over `embedder`. */
async function embeddingServer(embedder: Embedder): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          const { input, model } = JSON.parse(body || '{}') as { input: string | string[]; model?: string };
          const texts = Array.isArray(input) ? input : [input];
          const vectors = await embedder.embed(texts.map(String));
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ object: 'list', model: model ?? embedder.modelId, data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: Array.from(v) })) }));
        } catch (err) {
          res.statusCode = 500;
          res.end(String(err));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('pull into the real agentic-qe', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;
  let endpoint: { url: string; close: () => Promise<void> };
  let root: string;
  let remove: () => Promise<void>;
  let learned: { id: string; name: string };

  /** Runs agentic-qe's CLI with `project` as its project root (its database: <project>/.agentic-qe/memory.db). */
  const aqe = (project: string, ...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AQE_')) env[k] = v;
      execFile(process.execPath, [agenticQeCli(), ...args], { cwd: project, env: { ...env, AQE_PROJECT_ROOT: project, AQE_EMBEDDER_ENDPOINT: endpoint.url, NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  /** The JSON document agentic-qe prints (after its log lines). */
  const jsonOf = <T>(out: string): T => JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)) as T;
  const ours = (ws: string, ...args: string[]) => runCliInProcess([...args, '--workspace', ws, '--database', tdb.url], { AQE_EMBED_BUDGET_SECONDS: '0' });

  beforeAll(async () => {
    const embedder = await loadEmbedder({ modelDir: STANDIN_MODEL_DIR });
    endpoint = await embeddingServer(embedder);
    tdb = await createTestDatabase('ops_pull_real');
    db = new PgDatabase(tdb.url);
    const tmp = await tempFolder('aqe-pull-real-');
    root = tmp.dir;
    remove = tmp.remove;
    for (const ws of ['devpod', 'laptop']) mkdirSync(join(root, ws, 'v3'), { recursive: true });
    // devpod: agentic-qe learns a pattern, and the workspace is pushed
    const learn = await aqe(join(root, 'devpod', 'v3'), 'hooks', 'learn', '-n', 'Quarantine flaky payment webhook tests', '-d', 'Move webhook signature timeout tests into a nightly quarantine suite with retries', '--json');
    expect(learn.code, learn.stderr + learn.stdout).toBe(0);
    learned = jsonOf<{ pattern: { id: string; name: string } }>(learn.stdout).pattern;
    const push = await ours(join(root, 'devpod'), 'push', '--env', 'devpod', '--json');
    expect(push.code, push.stderr).toBe(0);
    // laptop: agentic-qe in use with its own patterns (same embedding space)
    const own = await aqe(join(root, 'laptop', 'v3'), 'hooks', 'learn', '-n', 'Cache the schema between test runs', '-d', 'Reuse the migrated schema across suites', '--json');
    expect(own.code, own.stderr + own.stdout).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await endpoint?.close();
    await db?.close();
    await tdb?.drop();
    await remove?.();
  });

  it('pull writes the pattern with the vector the source environment\'s agentic-qe made', async () => {
    const r = await ours(join(root, 'laptop'), 'pull', '--env', 'laptop', '--from-env', 'devpod', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { added: Array<{ id: string; name: string }>; embeddings: { written: number; without: unknown[] } };
    const pulled = out.added.find((a) => a.name === learned.name);
    expect(pulled).toBeDefined();
    expect(out.embeddings.written).toBe(out.added.length);
    // the row agentic-qe wrote in devpod and the one pull wrote in laptop: same model, dimension, space, vector
    const read = (ws: string, id: string) => {
      const s = new Sqlite(join(root, ws, V3), { readonly: true });
      try {
        return s.prepare('SELECT embedding, dimension, model, space_id FROM qe_pattern_embeddings WHERE pattern_id = ?').get(id) as { embedding: Buffer; dimension: number; model: string; space_id: string };
      } finally {
        s.close();
      }
    };
    const source = read('devpod', learned.id);
    const local = read('laptop', pulled!.id);
    expect(source.space_id).toMatch(/^[0-9a-f]{64}$/);
    expect({ ...local, embedding: local.embedding.toString('hex') }).toEqual({ ...source, embedding: source.embedding.toString('hex') });
  });

  it('agentic-qe lists the pulled pattern, and its own embedding check puts the pulled vector in the space of its own', async () => {
    const laptop = join(root, 'laptop', 'v3');
    const list = await aqe(laptop, 'learning', 'export', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(learned.name);
    const stats = await aqe(laptop, 'learning', 'stats', '--json');
    expect(stats.code, stats.stderr).toBe(0);
    // agentic-qe's own provenance check over every stored vector, the pulled one included: one space, none unverified
    const health = jsonOf<{ storedSpaceIds: string[]; unverifiedVectors: number; verifiedVectors: number; mismatchedVectors: number }>((await aqe(laptop, 'learning', 'embedding-health', '--json')).stdout);
    expect(health.storedSpaceIds).toHaveLength(1);
    expect(health.unverifiedVectors).toBe(0);
    const s = new Sqlite(join(root, 'laptop', V3), { readonly: true });
    try {
      const n = (s.prepare('SELECT count(*) AS n FROM qe_pattern_embeddings').get() as { n: number }).n;
      expect(health.verifiedVectors + health.mismatchedVectors).toBe(n);
      expect((s.prepare(`SELECT count(*) AS n FROM qe_pattern_embeddings WHERE pattern_id LIKE 'aqe-pull-%'`).get() as { n: number }).n).toBe(1);
      // and its FTS index holds the pulled pattern (kept by the tool's own triggers)
      expect((s.prepare(`SELECT count(*) AS n FROM qe_patterns_fts WHERE qe_patterns_fts MATCH '"payment webhook"'`).get() as { n: number }).n).toBe(1);
    } finally {
      s.close();
    }
  });

  it('agentic-qe\'s own semantic search (`aqe hooks search`) finds the pulled pattern by meaning, as it finds its own', async () => {
    const laptop = join(root, 'laptop', 'v3');
    type Found = { patterns: Array<{ id: string; name: string; score: number; matchType: string }> };
    // agentic-qe 3.14 offline: its RVF index stays closed ("without runtime provenance"), and its
    // fallback compares the query with the best (limit x 4) patterns by quality score; --limit 25
    // covers the ~70 patterns it seeds itself, the pulled one and its own
    const search = async (query: string) => {
      const r = await aqe(laptop, 'hooks', 'search', '-q', query, '--limit', '25', '--json');
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return jsonOf<Found>(r.stdout).patterns;
    };
    const pulled = await search('quarantine the flaky payment webhook tests');
    expect(pulled[0], JSON.stringify(pulled.slice(0, 3))).toMatchObject({ name: learned.name, matchType: 'vector', id: expect.stringMatching(/^aqe-pull-/) });
    const own = await search('cache the migrated schema between test runs');
    expect(own[0], JSON.stringify(own.slice(0, 3))).toMatchObject({ name: 'Cache the schema between test runs', matchType: 'vector' });
  });

  it('the pulled pattern is never published as the pulling environment\'s own', async () => {
    const push = await ours(join(root, 'laptop'), 'push', '--env', 'laptop', '--json');
    expect(push.code, push.stderr).toBe(0);
    const bounced = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.qe_patterns WHERE source_env = 'laptop' AND (source_key LIKE 'aqe-pull-%' OR name = $1)`, [learned.name]);
    expect(Number(bounced.rows[0]?.n)).toBe(0);
    const vectors = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.source_vectors WHERE source_env = 'laptop' AND owner_key LIKE 'aqe-pull-%'`);
    expect(Number(vectors.rows[0]?.n)).toBe(0);
    // still the devpod's, once
    const devpod = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.qe_patterns WHERE name = $1`, [learned.name]);
    expect(Number(devpod.rows[0]?.n)).toBe(1);
  });
});
