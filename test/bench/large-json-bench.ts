// Bounded memory and disk per load: one large JSON source (intelligence.json; ~367 MiB in the full
// run, ~55 MiB quick: the size target counts characters, the text has multi-byte ones) pushed and
// loaded end to end, each in its own process, with the deployed function's limits (1 GiB of
// memory: 384 MiB of expanded source per load). Peak RSS is compared with a process that only
// reads the same file whole (bytes → text → JSON.parse), measured in the same run. Also prints
// the limits themselves.
import { mkdirSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LOAD_LIMITS, formatBytes } from '../../functions/loader/policy/load-limits.js';
import { STREAM_JSON_ABOVE_BYTES } from '../../functions/loader/read/json-source.js';
import { PgDatabase } from '../../functions/db/pg-database.js';
import { createTestDatabase, startPostgresCluster } from '../support/postgres.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';
import { runChild } from './child-run.js';

/** Writes an intelligence.json of about `bytes` bytes (long memories), streaming; returns its record count. */
function writeLargeIntelligence(file: string, bytes: number): number {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, '{"memories": [');
    let written = 15;
    let n = 0;
    while (written < bytes) {
      const rec = JSON.stringify({ id: `m${n}`, memory_type: 'episodic', content: `memory ${n}: a flaky test retried after a timeout; ünïcödé 测试 🔁 `.repeat(60), metadata: { tags: ['retry', 'timeout'], n }, timestamp: 1_700_000_000 + n });
      writeSync(fd, `${n > 0 ? ',' : ''}${rec}`);
      written += rec.length + 1;
      n++;
    }
    writeSync(fd, '], "patterns": {"retry|timeout": {"q_value": 0.5, "visits": 3}}, "stats": {"total": 1}}');
    return n;
  } finally {
    closeSync(fd);
  }
}

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  const target = opts.quick ? 48 * 1024 * 1024 : 320 * 1024 * 1024;
  const ws = join(opts.workDir, 'ws-large-json');
  const bucket = join(opts.workDir, 'bucket-large-json');
  mkdirSync(join(ws, 'v3/.ruvector'), { recursive: true });
  const file = join(ws, 'v3/.ruvector/intelligence.json');
  const records = writeLargeIntelligence(file, target);
  const size = statSync(file).size;
  opts.log(`large-json: ${formatBytes(size)} intelligence.json, ${records} memories (streamed above ${formatBytes(STREAM_JSON_ABOVE_BYTES)})`);

  const whole = await runChild('test/bench/child-json-whole.ts', [file]);
  opts.log(`large-json baseline (read whole + JSON.parse): peak RSS ${whole.maxRssMb.toFixed(0)} MB in ${(Number(whole['ms']) / 1000).toFixed(1)} s (ok: ${String(whole['ok'])})`);
  const pushed = await runChild('test/bench/child-push.ts', [ws, bucket, 'bench']);
  opts.log(`large-json push: peak RSS ${pushed.maxRssMb.toFixed(0)} MB in ${(Number(pushed['ms']) / 1000).toFixed(1)} s`);

  const cluster = await startPostgresCluster({ durable: true });
  try {
    const tdb = await createTestDatabase('bench_large_json', cluster.adminUrl);
    // the deployed function's limits
    const limitsEnv = { AQE_LOAD_MAX_SOURCE_BYTES: String(DEFAULT_LOAD_LIMITS.maxSourceBytes), AQE_LOAD_MAX_SNAPSHOT_BYTES: String(DEFAULT_LOAD_LIMITS.maxSnapshotBytes), AQE_LOAD_MAX_SOURCES: String(DEFAULT_LOAD_LIMITS.maxSources) };
    const loaded = await runChild('test/bench/child-load.ts', [bucket, String(pushed['manifestKey']), tdb.url], { env: limitsEnv });
    opts.log(`large-json load: peak RSS ${loaded.maxRssMb.toFixed(0)} MB in ${(Number(loaded['ms']) / 1000).toFixed(1)} s; ${JSON.stringify(loaded['totals'])}`);
    const db = new PgDatabase(tdb.url);
    try {
      const count = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.intelligence_memories WHERE source_env = 'bench'`);
      if (Number(count.rows[0]?.n) !== records) throw new Error(`large-json: ${String(count.rows[0]?.n)} memories loaded, expected ${records}`);
    } finally {
      await db.close();
      await tdb.drop();
    }
    const budget = 1024 - DEFAULT_LOAD_LIMITS.maxSnapshotBytes / 1024 / 1024;
    return [
      { name: 'largest JSON source pushed and loaded (streamed)', value: Math.round(size / 1024 / 1024), unit: 'MB', target: `<= ${formatBytes(DEFAULT_LOAD_LIMITS.maxSourceBytes)} (the function's limit)`, pass: size <= DEFAULT_LOAD_LIMITS.maxSourceBytes },
      {
        name: `peak RSS pushing a ${formatBytes(size)} JSON source`,
        value: Math.round(pushed.maxRssMb),
        unit: 'MB',
        baseline: { name: 'a process that only reads it whole (bytes, text, JSON.parse)', value: Math.round(whole.maxRssMb), unit: 'MB' },
        ratio: Number((pushed.maxRssMb / whole.maxRssMb).toFixed(2)),
        ratioLabel: 'of the whole read',
        target: '< 300 MB, independent of the file size',
        pass: pushed.maxRssMb < 300,
      },
      {
        name: `peak RSS loading a ${formatBytes(size)} JSON source (${records.toLocaleString('en-US')} records, native PG)`,
        value: Math.round(loaded.maxRssMb),
        unit: 'MB',
        baseline: { name: 'a process that only reads it whole (bytes, text, JSON.parse)', value: Math.round(whole.maxRssMb), unit: 'MB' },
        ratio: Number((loaded.maxRssMb / whole.maxRssMb).toFixed(2)),
        ratioLabel: 'of the whole read',
        target: `< ${Math.round(budget)} MB (1 GiB less the ${formatBytes(DEFAULT_LOAD_LIMITS.maxSnapshotBytes)} scratch limit)`,
        pass: loaded.maxRssMb < budget,
      },
      { name: 'load limits (deployed function, 1 GiB)', value: DEFAULT_LOAD_LIMITS.maxSourceBytes / 1024 / 1024, unit: `MiB per source, ${DEFAULT_LOAD_LIMITS.maxSnapshotBytes / 1024 / 1024} MiB per snapshot, ${DEFAULT_LOAD_LIMITS.maxSources} sources` },
    ];
  } finally {
    await cluster.stop();
  }
}
