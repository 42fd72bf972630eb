// The "never write" property, end to end: a fuzzed snapshot (1–3 generated SQLite / JSON / redb
// sources, maybe a mutated manifest or a damaged blob) is written by hand into a local-directory
// bucket and loaded by loadSnapshot into PGlite; it must load (every row it reports inserted is in
// the database) or be quarantined with nothing of it in any aqe target table. Plus the check of the
// COPY oracle in checks.ts against PostgreSQL itself: what it calls acceptable, COPY accepts.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { encodeCopyValue, escapeCopyText } from '../../functions/db/copy-encoding.js';
import type { DatabaseConnection } from '../../functions/db/database.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { loadSnapshot } from '../../functions/loader/load-snapshot.js';
import { QUARANTINE_CODES as LOADER_QUARANTINE_CODES } from '../../functions/loader/write/quarantine-snapshot.js';
import { LocalDirBlobStore } from '../../functions/storage/local-dir-blob-store.js';
import type { ErrorCode } from '../../schema/errors.js';
import { manifestKey, quarantineReportKey } from '../../schema/snapshot/object-keys.js';
import type { SourceFormat } from '../../schema/sources/catalogue.js';
import type { ColumnType } from '../../schema/tables/target-tables.js';
import { capturedEntry, cloudCounts, type HandSource, snapshotIdFor } from '../e2e/support/e2e-fixtures.js';
import { openTestPglite } from '../support/postgres.js';
import { FuzzFailure, pgInputProblem } from './checks.js';
import type { ByteDamage, JsonNode } from './json-arbitraries.js';
import { anyJsonNode, byteDamage, damagedBytes, formatAndDocument, jsonTextOf, numberText, sometimes, timestampNode } from './json-arbitraries.js';
import type { TreeMutation } from './manifest-arbitraries.js';
import { mutateTree, nodeOf, treeMutation } from './manifest-arbitraries.js';
import type { RedbInput } from './redb-arbitraries.js';
import { makeRedbTemplate, redbBytes, redbInput } from './redb-arbitraries.js';
import type { SqliteSpec } from './sqlite-arbitraries.js';
import { sqliteSpec, writeSqliteFile } from './sqlite-arbitraries.js';
import { encoderInput } from './value-arbitraries.js';

/** What loadSnapshot may quarantine on, less DB_DATA: a row PostgreSQL refuses is a transform bug. */
const QUARANTINE_CODES: ReadonlySet<ErrorCode> = new Set([...LOADER_QUARANTINE_CODES].filter((c) => c !== 'DB_DATA'));

export type SnapshotSource =
  | { kind: 'sqlite'; spec: SqliteSpec }
  | { kind: 'json'; format: SourceFormat; doc: JsonNode; damage: ByteDamage }
  | { kind: 'redb'; input: RedbInput };

export interface SnapshotInput {
  sources: SnapshotSource[];
  /** A structural change to the manifest JSON (null: the manifest as written). */
  manifestEdit: TreeMutation | null;
  /** A blob stored wrong: other content than its sha256, cut gzip, or not gzip at all. */
  blobFault: { index: number; kind: 'sha' | 'truncated-gzip' | 'not-gzip' } | null;
}

const snapshotSource: fc.Arbitrary<SnapshotSource> = fc.oneof(
  // damage in one SQLite source out of four (a damaged source quarantines the whole snapshot; most should load)
  { weight: 3, arbitrary: fc.tuple(sqliteSpec, fc.nat(3)).map(([spec, n]) => ({ kind: 'sqlite' as const, spec: n === 0 ? spec : { ...spec, damage: null } })) },
  { weight: 3, arbitrary: fc.tuple(formatAndDocument, byteDamage).map(([{ format, doc }, damage]) => ({ kind: 'json' as const, format, doc, damage })) },
  { weight: 1, arbitrary: redbInput.map((input) => ({ kind: 'redb' as const, input })) },
);

export const snapshotInput: fc.Arbitrary<SnapshotInput> = fc.record({
  sources: fc.array(snapshotSource, { minLength: 1, maxLength: 3 }),
  manifestEdit: sometimes(treeMutation, 6),
  blobFault: sometimes(fc.record({ index: fc.nat(2), kind: fc.constantFrom('sha' as const, 'truncated-gzip' as const, 'not-gzip' as const) }), 8),
});

/** Snapshots always loaded first: before their fixes, each made loadSnapshot throw a TypeError (never quarantined: retried forever). */
export const SNAPSHOT_EXAMPLES: SnapshotInput[] = [
  { sources: [{ kind: 'json', format: 'claude-flow-daemon', doc: nodeOf({ workers: { w: { runCount: { toString: 1 } } } }), damage: { kind: 'none' } }], manifestEdit: null, blobFault: null },
  {
    sources: [{ kind: 'sqlite', spec: { tables: [{ name: 'notes', kind: 'table', columns: [{ name: '__proto__', decl: 'BLOB' }], pkColumns: 0, rows: [[{ blob: Uint8Array.of(7) }]] }], wal: false, damage: null } }],
    manifestEdit: null,
    blobFault: null,
  },
  // quoted in the quarantine reason, a lone surrogate made PostgreSQL refuse the quarantine record itself
  {
    sources: [{ kind: 'json', format: 'ruvector-intelligence', doc: { t: 'obj', entries: [['\udc8e', { t: 'arr', items: [{ t: 'raw', text: '1e400' }] }]] }, damage: { kind: 'none' } }],
    manifestEdit: null,
    blobFault: null,
  },
];

export interface NeverWriteEnv {
  db: DatabaseConnection;
  store: LocalDirBlobStore;
  dir: string;
  redbTemplate: Buffer;
  /** Environments used so far (each case loads into a fresh one). */
  cases: number;
  close(): Promise<void>;
}

/** An in-memory PGlite (migrated), a local bucket and a scratch folder. */
export async function openNeverWriteEnv(): Promise<NeverWriteEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'aqe-fuzz-load-'));
  const db = await openTestPglite();
  try {
    await ensureMigrated(db);
    await db.exec('CREATE TABLE public.fuzz_copy (k int, t text, j jsonb, d double precision, b bigint, i integer, o boolean, ts timestamptz, r real[], r8 double precision[], hx bytea)');
    const redbTemplate = await makeRedbTemplate(dir);
    const env: NeverWriteEnv = {
      db,
      store: new LocalDirBlobStore(join(dir, 'bucket')),
      dir,
      redbTemplate,
      cases: 0,
      close: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return env;
  } catch (err) {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

const JSON_SOURCE_IDS: Record<string, string> = {
  'claude-flow-store': 'claude-flow-store',
  'claude-flow-daemon': 'claude-flow-daemon',
  'claude-flow-metrics': 'claude-flow-metrics',
  'ruvector-intelligence': 'ruvector-intelligence',
  'ruvector-redb-meta': 'ruvector-patterns',
  json: 'team-notes',
};

function handSource(s: SnapshotSource, i: number, env: NeverWriteEnv): HandSource {
  switch (s.kind) {
    case 'sqlite': {
      const file = join(env.dir, `source-${env.cases}-${i}.db`);
      try {
        writeSqliteFile(file, s.spec);
        return { path: `w${i}/.agentic-qe/memory.db`, sourceId: 'v3-memory', format: 'sqlite', kind: 'sqlite', role: 'PRIMARY', bytes: readFileSync(file) };
      } finally {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      }
    }
    case 'json':
      return { path: `w${i}/${s.format}.json`, sourceId: JSON_SOURCE_IDS[s.format] ?? 'fuzz-json', format: s.format, kind: 'json', bytes: damagedBytes(jsonTextOf(s.doc), s.damage) };
    case 'redb':
      return { path: `w${i}/ruvector-patterns.db`, sourceId: 'ruvector-patterns', format: 'ruvector-redb', kind: 'redb', role: 'LEGACY', bytes: redbBytes(s.input, env.redbTemplate) };
  }
}

/**
 * How a case ended: loaded, or quarantined (with its code). Text the loader stores outside COPY
 * (quarantine reasons, warnings, run records) quoting a member name with a lone surrogate or a NUL
 * once made PostgreSQL refuse the record itself (fixed: functions/db/db-text.ts); no tolerance is left.
 */
export type SnapshotVerdict = 'loaded' | `quarantined ${ErrorCode}`;

/**
 * One case: write the snapshot, load it into a fresh environment, check the outcome and what the
 * database holds for that environment.
 */
export async function runSnapshotCase(input: SnapshotInput, env: NeverWriteEnv): Promise<SnapshotVerdict> {
  const n = ++env.cases;
  const envName = `fuzz-${n}`;
  const snapshotId = snapshotIdFor(n);
  const sources = input.sources.map((s, i) => handSource(s, i, env));
  const fault = input.blobFault && sources.length > 0 ? input.blobFault : null;
  if (fault) {
    const s = sources[fault.index % sources.length]!;
    const gz = gzipSync(s.bytes);
    if (fault.kind === 'sha') s.sha256 = createHash('sha256').update(Buffer.concat([s.bytes, Buffer.from('x')])).digest('hex');
    else s.storedBytes = fault.kind === 'not-gzip' ? s.bytes : gz.subarray(0, Math.floor(gz.length / 2));
  }
  for (const s of sources) {
    const entry = capturedEntry(s);
    await env.store.put(entry.blobKey, s.storedBytes ?? gzipSync(s.bytes), { contentType: 'application/gzip' });
  }
  const manifest = {
    formatVersion: 1,
    snapshotId,
    env: envName,
    createdAt: '2025-02-01T00:00:00.000Z',
    tool: { name: 'aqe-upload', version: '0.0.0-fuzz' },
    sources: sources.map((s) => capturedEntry(s)),
  };
  const tree = input.manifestEdit ? mutateTree(nodeOf(manifest), input.manifestEdit) : nodeOf(manifest);
  const key = manifestKey(envName, snapshotId);
  await env.store.put(key, Buffer.from(jsonTextOf(tree), 'utf8'), { contentType: 'application/json' });

  let outcome: Awaited<ReturnType<typeof loadSnapshot>> | null = null;
  let thrown: unknown = null;
  try {
    outcome = await loadSnapshot({ store: env.store, db: env.db, tmpDir: env.dir }, key);
  } catch (err) {
    thrown = err;
  }
  const stored = await cloudCounts(env.db, envName);
  const storedRows = Object.values(stored).reduce((a, b) => a + b, 0);
  if (outcome === null) {
    const message = thrown instanceof Error ? `${thrown.constructor.name}: ${thrown.message}` : String(thrown);
    throw new FuzzFailure(`loadSnapshot threw instead of loading or quarantining: ${message.slice(0, 400)}`, { cause: thrown });
  } else if (outcome.status === 'loaded') {
    if (storedRows !== outcome.totals.inserted) throw new FuzzFailure(`loaded, reporting ${outcome.totals.inserted} rows inserted, but the database holds ${storedRows} for ${envName}`);
    return 'loaded';
  } else if (outcome.status !== 'quarantined') {
    throw new FuzzFailure(`outcome ${outcome.status} for a new snapshot (expected loaded or quarantined)`);
  } else {
    if (outcome.code === 'DB_DATA') throw new FuzzFailure(`PostgreSQL refused a row the transforms produced (quarantined as DB_DATA): ${outcome.reason.slice(0, 400)}`);
    if (!QUARANTINE_CODES.has(outcome.code) || outcome.reason.trim() === '') throw new FuzzFailure(`quarantined with code ${outcome.code} and reason ${JSON.stringify(outcome.reason.slice(0, 200))}`);
    if (storedRows !== 0) throw new FuzzFailure(`quarantined (${outcome.code}) but ${storedRows} row(s) of ${envName} are in the target tables: ${JSON.stringify(stored)}`);
    await env.store.get(quarantineReportKey(envName, snapshotId));
    return `quarantined ${outcome.code}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The COPY oracle against PostgreSQL

const COPY_COLUMN: Record<ColumnType, string> = { text: 't', jsonb: 'j', double: 'd', bigint: 'b', integer: 'i', boolean: 'o', timestamptz: 'ts', 'real[]': 'r', 'double[]': 'r8', bytea: 'hx' };

/** A COPY field for a column type: what the encoders make of a value, or hand-made text near the edges of what PostgreSQL reads. */
export const copyFieldInput: fc.Arbitrary<{ type: ColumnType; field: string }> = fc.oneof(
  encoderInput.chain(({ value, type }) => {
    let field: string | null;
    try {
      field = encodeCopyValue(value, type);
    } catch {
      field = null;
    }
    return fc.constant({ type, field: field ?? '' });
  }),
  fc.record({ type: fc.constantFrom<ColumnType>('double', 'bigint', 'integer'), field: numberText }),
  fc.record({ type: fc.constant<ColumnType>('real[]'), field: fc.array(fc.oneof(numberText, fc.constantFrom('NULL', 'NaN', '-Infinity')), { maxLength: 4 }).map((a) => `{${a.join(',')}}`) }),
  fc.record({ type: fc.constant<ColumnType>('timestamptz'), field: timestampNode.map((n) => (n.t === 'str' ? n.s : jsonTextOf(n))) }),
  fc.record({ type: fc.constant<ColumnType>('jsonb'), field: anyJsonNode.map((n) => escapeCopyText(jsonTextOf(n))) }),
  fc.record({ type: fc.constant<ColumnType>('boolean'), field: fc.constantFrom('t', 'f', 'true', 'x', '') }),
);

/** The form the encoders write for each type (the oracle refuses other forms PostgreSQL may read, e.g. 'true' or '2025-01-06 10:00'). */
const ENCODER_FORM: Record<ColumnType, RegExp> = {
  text: /^/,
  jsonb: /^/,
  double: /^(NaN|-?Infinity|-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)$/i,
  bigint: /^-?\d+$/,
  integer: /^-?\d+$/,
  boolean: /^[tf]$/,
  timestamptz: /^([+-]\d{6}|\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  'real[]': /^\{((NULL|NaN|-?Infinity|-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)(,(NULL|NaN|-?Infinity|-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?))*)?\}$/i,
  bytea: /^\\\\x([0-9a-f]{2})*$/,
  'double[]': /^\{((NULL|NaN|-?Infinity|-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)(,(NULL|NaN|-?Infinity|-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?))*)?\}$/i,
};

/**
 * The oracle against PostgreSQL: what pgInputProblem accepts, COPY accepts; and what it refuses
 * in the encoders' own form (out of range, year 0, ±YYYYYY years, NUL…), COPY refuses too.
 */
export async function runCopyOracleCase(input: { type: ColumnType; field: string }, env: NeverWriteEnv): Promise<void> {
  const problem = pgInputProblem(input.type, input.field);
  let refused: string | null = null;
  try {
    await env.db.copyRows('public.fuzz_copy', ['k', COPY_COLUMN[input.type]], [[String(++env.cases), input.field]]);
  } catch (err) {
    refused = err instanceof Error ? err.message : String(err);
  }
  if (problem === null && refused !== null) throw new FuzzFailure(`the oracle accepts ${input.type} ${JSON.stringify(input.field.slice(0, 120))} but PostgreSQL refused it: ${refused.slice(0, 300)}`);
  if (problem !== null && refused === null && ENCODER_FORM[input.type].test(input.field)) throw new FuzzFailure(`the oracle refuses ${input.type} ${JSON.stringify(input.field.slice(0, 120))} (${problem}) but PostgreSQL accepted it`);
}
