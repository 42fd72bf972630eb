// Fuzzing at volume: every target of test/fuzz/targets.ts with 10,000 generated cases (500 with
// --quick) and a random seed, the whole-loader "never write" property on 300 fuzzed snapshots (20),
// and the COPY oracle against PostgreSQL on 2,000 fields (200). Failures are counted, not thrown,
// so every case runs; the first ones are logged with the seed that replays them. Baseline of the
// throughput: generating the same inputs (same seed) without calling anything. Reports, never fails.
// Run alone: `npx tsx test/bench/fuzz-bench.ts [--quick] [--targets NAME,…]`.
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { withinTimeLimit } from '../fuzz/checks.js';
import type { NeverWriteEnv, SnapshotVerdict } from '../fuzz/never-write.js';
import { copyFieldInput, openNeverWriteEnv, runCopyOracleCase, runSnapshotCase, SNAPSHOT_EXAMPLES, snapshotInput } from '../fuzz/never-write.js';
import type { FuzzEnv } from '../fuzz/targets.js';
import { examplesOf, FUZZ_TARGETS, openFuzzEnv, runFuzzCase } from '../fuzz/targets.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';

const REQUIRED_CASES = 10_000;

interface Tally {
  cases: number;
  failures: number;
  ms: number;
}

/** Runs `numRuns` cases of `property`-like `run` over `arbitrary`, counting failures (the first 3 logged). */
async function tally<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  run: (input: T) => Promise<unknown>,
  opts: { numRuns: number; seed: number; examples?: [T][]; log: (line: string) => void },
): Promise<Tally> {
  let failures = 0;
  let cases = 0;
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (input) => {
      cases++;
      try {
        await run(input);
      } catch (err) {
        failures++;
        if (failures <= 3) opts.log(`   FAIL ${name} (seed ${opts.seed}): ${err instanceof Error ? err.message.slice(0, 500) : String(err)}\n     input: ${fc.stringify(input).slice(0, 800)}`);
      }
    }),
    { numRuns: opts.numRuns, seed: opts.seed, ...(opts.examples ? { examples: opts.examples } : {}) },
  );
  return { cases, failures, ms: performance.now() - started };
}

/** Cases per second of generating the same inputs (same seed) with a property that does nothing. */
function generationRate(arbitrary: fc.Arbitrary<unknown>, numRuns: number, seed: number): number {
  const started = performance.now();
  fc.assert(fc.property(arbitrary, () => true), { numRuns, seed });
  return numRuns / ((performance.now() - started) / 1000);
}

function figures(name: string, t: Tally, required: number, genRate: number | null, quick: boolean): BenchFigure[] {
  const rate = t.cases / (t.ms / 1000);
  const out: BenchFigure[] = [
    {
      name: `fuzz ${name}: cases run`,
      value: t.cases,
      unit: 'cases',
      baseline: { name: quick ? 'required (quick run)' : 'required', value: required, unit: 'cases' },
      ratio: t.cases / required,
      target: `>= ${required.toLocaleString('en-US')} cases`,
      pass: t.cases >= required,
    },
    { name: `fuzz ${name}: failures`, value: t.failures, unit: 'cases', target: '0', pass: t.failures === 0 },
  ];
  if (genRate !== null) {
    out.push({
      name: `fuzz ${name}: throughput`,
      value: rate,
      unit: 'cases/s',
      baseline: { name: 'generating the same inputs only', value: genRate, unit: 'cases/s' },
      ratio: rate / genRate,
      ratioLabel: 'of generation speed',
    });
  } else {
    out.push({ name: `fuzz ${name}: throughput`, value: rate, unit: 'cases/s' });
  }
  return out;
}

/**
 * @param targets names (substrings) of the targets to run; given, the loadSnapshot and COPY oracle
 *   parts are left out (`npx tsx test/bench/fuzz-bench.ts --targets redaction,clock`).
 */
export async function run(options: BenchOptions, targets?: readonly string[]): Promise<BenchFigure[]> {
  const { quick, log } = options;
  const cases = quick ? 500 : REQUIRED_CASES;
  const snapshots = quick ? 20 : 300;
  const oracleFields = quick ? 200 : 2_000;
  const seed = randomInt(1, 2 ** 31 - 1);
  log(`fuzz: random seed ${seed} (target i runs with seed ${seed} + i; replay with fc.assert(..., { seed }))`);
  const out: BenchFigure[] = [];

  let env: (FuzzEnv & { close(): void }) | undefined;
  try {
    env = await openFuzzEnv();
    for (const [i, target] of FUZZ_TARGETS.entries()) {
      if (targets && !targets.some((t) => target.name.includes(t))) continue;
      const s = seed + i;
      const genRate = generationRate(target.arbitrary, cases, s);
      const fuzzEnv = env;
      const t = await tally(target.name, target.arbitrary, (input) => runFuzzCase(target, input, fuzzEnv), { numRuns: cases, seed: s, examples: examplesOf(target), log });
      log(`   ${target.name}: ${t.cases} cases, ${t.failures} failures, ${Math.round(t.cases / (t.ms / 1000))} cases/s (seed ${s})`);
      out.push(...figures(target.name, t, cases, genRate, quick));
    }
  } finally {
    env?.close();
  }

  if (targets) return out;
  let load: NeverWriteEnv | undefined;
  try {
    load = await openNeverWriteEnv();
    const db = load;
    const verdicts = new Map<SnapshotVerdict, number>();
    const s = seed + FUZZ_TARGETS.length;
    const t = await tally(
      'loadSnapshot never writes',
      snapshotInput,
      (input) =>
        withinTimeLimit(20_000, async () => {
          const v = await runSnapshotCase(input, db);
          verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
        }),
      { numRuns: snapshots, seed: s, examples: SNAPSHOT_EXAMPLES.map((e) => [e]), log },
    );
    log(`   loadSnapshot: ${t.cases} snapshots, ${t.failures} failures (seed ${s}): ${[...verdicts].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    out.push(...figures('loadSnapshot of fuzzed snapshots (loaded, or quarantined writing nothing)', t, snapshots, null, quick));
    out.push({ name: 'fuzz loadSnapshot: snapshots loaded', value: verdicts.get('loaded') ?? 0, unit: 'snapshots', target: '> 0 (both outcomes exercised)', pass: (verdicts.get('loaded') ?? 0) > 0 });
    const o = await tally('COPY oracle vs PostgreSQL', copyFieldInput, (input) => runCopyOracleCase(input, db), { numRuns: oracleFields, seed: s + 1, log });
    out.push(...figures('COPY oracle agrees with PostgreSQL', o, oracleFields, null, quick));
  } finally {
    await load?.close();
  }
  return out;
}

// `npx tsx test/bench/fuzz-bench.ts [--quick]`: the same run outside `npm run bench`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const workDir = mkdtempSync(join(tmpdir(), 'aqe-fuzz-bench-'));
  try {
    const only = process.argv.indexOf('--targets');
    const targets = only >= 0 ? process.argv[only + 1]?.split(',') : undefined;
    const result = await run({ quick: process.argv.includes('--quick'), workDir, log: (line) => process.stderr.write(`${line}\n`) }, targets);
    for (const f of result) {
      process.stdout.write(`${f.name}: ${Math.round(f.value * 100) / 100} ${f.unit}${f.baseline ? ` (baseline ${f.baseline.name}: ${Math.round(f.baseline.value)} ${f.baseline.unit})` : ''}${f.pass === undefined ? '' : f.pass ? ' ok' : ' NOT OK'}\n`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
