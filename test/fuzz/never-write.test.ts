// The "never write" property on the whole loader: fuzzed snapshots (generated SQLite / JSON / redb
// sources, mutated manifests, damaged blobs) written into a local bucket and loaded by loadSnapshot
// into PGlite either load — exactly the rows reported inserted are stored — or are quarantined with
// no row of theirs in any aqe target table. And the COPY oracle the other fuzz targets rely on
// (checks.ts) agrees with PostgreSQL itself.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withinTimeLimit } from './checks.js';
import type { NeverWriteEnv, SnapshotVerdict } from './never-write.js';
import { copyFieldInput, openNeverWriteEnv, runCopyOracleCase, runSnapshotCase, SNAPSHOT_EXAMPLES, snapshotInput } from './never-write.js';

const SEED = 20_260_122;

let env: NeverWriteEnv;
beforeAll(async () => {
  env = await openNeverWriteEnv();
});
afterAll(async () => {
  await env?.close();
});

describe('a fuzzed snapshot', () => {
  it('loads, or is quarantined writing nothing (30 snapshots)', async () => {
    const verdicts: SnapshotVerdict[] = [];
    await fc.assert(
      fc.asyncProperty(snapshotInput, async (input) => {
        await withinTimeLimit(20_000, async () => {
          verdicts.push(await runSnapshotCase(input, env));
        });
      }),
      { numRuns: 30, seed: SEED, examples: SNAPSHOT_EXAMPLES.map((e) => [e]) },
    );
    // the sample exercises both outcomes (a generator that only made broken snapshots would prove little)
    expect(verdicts.filter((v) => v === 'loaded').length).toBeGreaterThan(0);
    expect(verdicts.filter((v) => v.startsWith('quarantined')).length).toBeGreaterThan(0);
  });
});

describe('the COPY oracle', () => {
  it('accepts exactly the fields PostgreSQL COPY accepts (200 fields)', async () => {
    await fc.assert(fc.asyncProperty(copyFieldInput, (input) => runCopyOracleCase(input, env)), { numRuns: 200, seed: SEED });
  });
});
