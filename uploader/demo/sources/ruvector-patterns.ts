// Sample workspace, one catalogue source: v2/data/ruvector-patterns.db: a real @ruvector/core VectorDb (redb), written and counted in child processes.
// Deterministic for the generator it is given (see fixture-kit.ts).
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BASE_S, SPAN_S, sourcePath, Rng, enc, QE_DOMAINS, PATTERN_TYPES, sentence } from './fixture-kit.js';

/**
 * The binding has no close() and redb locks the file per process, so the file is written by a short
 * child process: when it exits, the lock is gone and any process can open the file.
 */
const REDB_WRITER = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try {
    const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const { VectorDb } = require(job.corePath);
    const db = new VectorDb({ dimensions: job.dimensions, storagePath: job.path, distanceMetric: 'Cosine', hnswConfig: { m: 32, efConstruction: 200, efSearch: 100 } });
    const entries = job.entries.map((e) => {
      const out = { id: e.id, vector: Float32Array.from(e.vector) };
      if (e.metadata !== undefined) out.metadata = e.metadata;
      return out;
    });
    if (entries.length > 0) await db.insertBatch(entries);
    process.stdout.write(JSON.stringify({ count: await db.len() }));
    process.exit(0);
  } catch (err) {
    process.stderr.write(String(err && err.stack || err));
    process.exit(1);
  }
});
`;

export async function buildRuvectorPatterns(root: string, rng: Rng, count: number): Promise<{ files: string[]; count: number }> {
  const rel = sourcePath('ruvector-patterns');
  const path = join(root, rel);
  await mkdir(dirname(path), { recursive: true });
  const entries = Array.from({ length: count }, (_, i) => {
    const s = rng.seconds();
    const id = `pattern-${s * 1000 + rng.int(0, 999)}-${rng.hex(9)}`;
    const vector = rng.unitVector(384);
    // The v2 store kept metadata beside the binding; some entries carry none.
    const metadata =
      i % 11 === 10
        ? undefined
        : JSON.stringify({ type: rng.pick(PATTERN_TYPES), domain: rng.pick(QE_DOMAINS), content: sentence(rng, 8), framework: rng.pick(['jest', 'vitest']), createdAt: enc.ms(s, rng), usageCount: rng.int(0, 30) });
    return { id, vector, metadata };
  });
  const corePath = createRequire(import.meta.url).resolve('@ruvector/core');
  const result = await runNode(REDB_WRITER, JSON.stringify({ corePath, path, dimensions: 384, entries }));
  const written = (JSON.parse(result) as { count: number }).count;
  if (written !== count) throw new Error(`ruvector-patterns: wrote ${count} vectors, the file holds ${written}`);
  const metaRel = `${rel}.meta.json`;
  await writeFile(
    join(root, metaRel),
    JSON.stringify({ version: '2.0.0', dimension: 384, metric: 'cosine', count, hnsw: { m: 32, efConstruction: 200, efSearch: 100 }, createdAt: enc.iso(BASE_S, rng), updatedAt: enc.iso(BASE_S + SPAN_S, rng) }, null, 2),
  );
  return { files: [rel, metaRel], count };
}

/** Runs a CommonJS snippet in a child Node process with `input` on stdin; resolves with its stdout. */
function runNode(script: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`child process exited with ${code}: ${err.trim()}`));
    });
    child.stdin.end(input);
  });
}

const REDB_COUNTER = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try {
    const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const { VectorDb } = require(job.corePath);
    const db = new VectorDb({ dimensions: 384, storagePath: job.path, distanceMetric: 'Cosine' });
    process.stdout.write(JSON.stringify({ count: await db.len() }));
    process.exit(0);
  } catch (err) {
    process.stderr.write(String(err && err.stack || err));
    process.exit(1);
  }
});
`;

/**
 * Number of vectors in a @ruvector/core (redb) file, read in a child process.
 *
 * Why a child: opening a VectorDb whose stored config has the default HNSW `maxElements` (10M)
 * reserves ~37 GB of virtual memory, after which `spawn()` from that process fails with ENOMEM
 * (overcommit heuristic), and redb keeps the file locked until the process exits.
 */
export async function redbVectorCount(path: string): Promise<number> {
  const corePath = createRequire(import.meta.url).resolve('@ruvector/core');
  const out = await runNode(REDB_COUNTER, JSON.stringify({ corePath, path }));
  return (JSON.parse(out) as { count: number }).count;
}
