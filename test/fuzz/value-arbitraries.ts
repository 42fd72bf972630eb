// Generators of arbitrary in-memory values for the pure transforms and the COPY encoders: every JS
// type a row can carry (NaN, ±Infinity, -0, bigints of any size, invalid Dates, BLOBs, typed
// arrays, nested arrays and objects with "__proto__"/"constructor" members as OWN members), and
// values shaped for each column type (number-like strings, 0/1, vectors with gaps).
import fc from 'fast-check';
import type { ColumnType } from '../../schema/tables/target-tables.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import type { TimestampEncoding, TimestampRule } from '../../schema/sources/mappings/values.js';
import { memberName, nastyString } from './json-arbitraries.js';

/** An object with these members as own enumerable properties (`__proto__` included, unlike `{}[k] = v`). */
export function ownObject(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, 1, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2, 1e39, 1e-46, 8.64e15, -8.64e15),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  nastyString,
  fc.constantFrom('1.5', ' 42 ', '+7', '-0', '1e400', '0x10', 'NaN', 'Infinity', 'yes', 'T', '2025-01-06T00:00:00Z', '2025-01-06 00:00:00', '[1,2,3]', '{"a":null}', 'true', 'null', ''),
  fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
  fc.date(),
  fc.date({ noInvalidDate: true, min: new Date(Date.UTC(1999, 0, 1)), max: new Date(Date.UTC(2101, 0, 1)) }),
);

/** Any value a row member can hold (acyclic; nesting bounded). */
export const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(tie('v'), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(memberName, tie('v')), { maxLength: 4 }).map(ownObject) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(null)), { maxLength: 6 }) },
    { weight: 1, arbitrary: fc.float32Array({ maxLength: 6 }) },
    { weight: 1, arbitrary: fc.float64Array({ maxLength: 6 }) },
  ),
})).v;

export const COLUMN_TYPES: readonly ColumnType[] = ['text', 'jsonb', 'double', 'bigint', 'integer', 'boolean', 'timestamptz', 'real[]'];

/** A value and a column type to encode it as. */
export const encoderInput: fc.Arbitrary<{ value: unknown; type: ColumnType }> = fc.record({ value: anyValue, type: fc.constantFrom(...COLUMN_TYPES) });

const TS_ENCODINGS: readonly TimestampEncoding[] = ['unix-ms', 'unix-ms-seconds', 'unix-s', 'sqlite-text', 'iso'];
export const timestampRule: fc.Arbitrary<TimestampRule> = fc.oneof(fc.constantFrom(...TS_ENCODINGS), fc.uniqueArray(fc.constantFrom(...TS_ENCODINGS), { minLength: 1, maxLength: 5 }));

const EMBEDDED = TARGET_TABLES.filter((t) => t.embedded);

/** Input for the value helpers and the text recipes: one value, a rule, a dimension, a row of an embedded table. */
export const valueHelpersInput = fc.record({
  value: anyValue,
  rule: timestampRule,
  dim: fc.oneof(fc.constant(null), fc.constant(undefined), fc.integer({ min: -1, max: 8 }), fc.constantFrom(64, 384)),
  depth: fc.integer({ min: 1, max: 300 }),
  recipe: fc.constantFrom(...EMBEDDED).chain((t) =>
    fc.record({ table: fc.constant(t.name), values: fc.array(fc.tuple(fc.constantFrom(...t.columns.map((c) => c.name)), anyValue), { maxLength: 8 }).map(ownObject) }),
  ),
});
