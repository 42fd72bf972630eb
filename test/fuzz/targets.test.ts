// Property-based fuzzing of the parsers, the source readers and the transforms (the targets in
// targets.ts, shared with the 10,000-case bench): for a few hundred generated inputs each, with a
// fixed seed, every call returns well-formed rows or values or throws a clear AppError — never a
// TypeError, RangeError or stack overflow, never a malformed row, never a case over its time limit.
// On failure fast-check prints the seed and path that replay the (shrunk) counterexample.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FuzzEnv } from './targets.js';
import { examplesOf, FUZZ_TARGETS, fuzzProperty, openFuzzEnv } from './targets.js';

const SEED = 20_260_122;

let env: FuzzEnv & { close(): void };
beforeAll(async () => {
  env = await openFuzzEnv();
});
afterAll(() => env?.close());

describe('fuzzing (fast-check, fixed seed)', () => {
  for (const target of FUZZ_TARGETS) {
    it(`${target.name}: ${target.property} (${target.testRuns} cases)`, async () => {
      await fc.assert(fuzzProperty(target, env), { numRuns: target.testRuns, seed: SEED, examples: examplesOf(target) });
    });
  }
});
