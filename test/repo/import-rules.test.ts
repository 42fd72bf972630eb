// The one-way import rule, enforced on every source file: schema/ imports nothing of ours,
// functions/ only schema/, uploader/ schema/ and functions/, and no shipped file imports test/
// (infra/ has its own rule in test/infra/stage-and-imports.test.ts). Inside functions/, each
// folder imports only folders on a lower floor, and inside the loader the stages run one way
// (policy → read → map → write → the orchestrator). Inside uploader/ too, each folder imports
// only lower floors: the configuration → what the workspace holds → a snapshot of it → the push →
// the local database → operations → their rendering → watch / IAP → the commands (the top floor)
// → the CLI entry. A new folder must be given a floor here.
// And what differs per vector dialect lives in functions/db/dialects/ only: no other shipped file
// branches on a dialect's name (it asks the dialect module its Database handle carries).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

interface Edge {
  from: string;
  to: string;
}

/** Every relative import of the shipped sources, as repo-relative paths. */
const EDGES: Edge[] = ['schema', 'functions', 'uploader'].flatMap(sourceFiles).flatMap((file) =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => ({
    from: file,
    to: relative(ROOT, resolve(ROOT, dirname(file), (m[1] ?? m[2]) as string)),
  })),
);

const top = (path: string) => path.split('/')[0] as string;
/** The folder of a file right under `base` (a file directly in `base` is its own "folder"). */
const under = (base: string, path: string) => path.slice(base.length + 1).split('/')[0]!.replace(/\.js$/, '.ts');

/** Floors inside functions/: a folder imports only folders on a lower floor (and itself). */
const FUNCTIONS_FLOORS: Record<string, number> = {
  'entry-points.ts': 0,
  observability: 1,
  secrets: 1,
  storage: 1,
  db: 1,
  config: 1,
  embed: 2,
  search: 2,
  runtime: 3,
  loader: 4,
  ops: 5,
  reconcile: 5,
  'load-snapshot': 6,
  'rotate-secret': 6,
  'bootstrap-db': 6,
  'index.ts': 7,
};

/** Floors inside uploader/ (files directly in uploader/ are their own "folder"). */
const UPLOADER_FLOORS: Record<string, number> = {
  config: 0,
  'tool-info.ts': 0,
  'config.ts': 1,
  'cli-io.ts': 1,
  demo: 2,
  workspace: 2,
  snapshot: 3,
  push: 4,
  local: 5,
  ops: 6,
  ui: 7,
  watch: 8,
  iap: 9,
  commands: 10,
  'run-cli.ts': 11,
  'cli.ts': 12,
};

/** The loader's stages, in the order data flows through them. */
const LOADER_FLOORS: Record<string, number> = { policy: 0, read: 1, map: 2, write: 3, 'load-result.ts': 4, 'load-snapshot.ts': 5 };

describe('the one-way import rule', () => {
  it('scans the sources', () => {
    expect(EDGES.length).toBeGreaterThan(500);
  });

  it('schema/ imports nothing of ours; functions/ only schema/; uploader/ schema/ and functions/; nothing shipped imports test/', () => {
    const allowed: Record<string, string[]> = { schema: ['schema'], functions: ['schema', 'functions'], uploader: ['schema', 'functions', 'uploader'] };
    expect(EDGES.filter((e) => !allowed[top(e.from)]!.includes(top(e.to))).map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('inside functions/, every folder has a floor and imports only lower floors', () => {
    const inside = EDGES.filter((e) => top(e.from) === 'functions' && top(e.to) === 'functions');
    const unknown = [...new Set(inside.flatMap((e) => [under('functions', e.from), under('functions', e.to)]))].filter((f) => FUNCTIONS_FLOORS[f] === undefined);
    expect(unknown).toEqual([]);
    const upward = inside.filter((e) => {
      const [a, b] = [under('functions', e.from), under('functions', e.to)];
      return a !== b && FUNCTIONS_FLOORS[b]! >= FUNCTIONS_FLOORS[a]!;
    });
    expect(upward.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('inside the loader, the stages import one way: policy → read → map → write → orchestrator', () => {
    const inside = EDGES.filter((e) => e.from.startsWith('functions/loader/') && e.to.startsWith('functions/loader/'));
    const upward = inside.filter((e) => {
      const [a, b] = [under('functions/loader', e.from), under('functions/loader', e.to)];
      return a !== b && !(LOADER_FLOORS[b]! < LOADER_FLOORS[a]!);
    });
    expect(upward.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('inside uploader/, every folder has a floor and imports only lower floors (commands/ is the top floor)', () => {
    const inside = EDGES.filter((e) => top(e.from) === 'uploader' && top(e.to) === 'uploader');
    const unknown = [...new Set(inside.flatMap((e) => [under('uploader', e.from), under('uploader', e.to)]))].filter((f) => UPLOADER_FLOORS[f] === undefined);
    expect(unknown).toEqual([]);
    const upward = inside
      .filter((e) => {
        const [a, b] = [under('uploader', e.from), under('uploader', e.to)];
        return a !== b && UPLOADER_FLOORS[b]! >= UPLOADER_FLOORS[a]!;
      })
      .map((e) => `${e.from} → ${e.to}`);
    expect([...new Set(upward)]).toEqual([]);
  });
});

/** A branch on a vector dialect's name: `dialect === 'none'`, `'ruvector' !== x.dialect`, `switch (dialect)`, `case 'pgvector'`, `dialectSql('none')`. */
const DIALECT_BRANCH = [
  /\bdialect\w*\s*[!=]==?\s*['"](?:none|pgvector|ruvector)['"]/i,
  /['"](?:none|pgvector|ruvector)['"]\s*[!=]==?\s*[\w.]*dialect\b/i,
  /\bswitch\s*\([^)]*dialect[^)]*\)/i,
  /\bcase\s+['"](?:pgvector|ruvector)['"]/,
  /\bdialectSql\(\s*['"]/,
];

function dialectBranches(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (!/^\s*(\/\/|\*)/.test(line) && DIALECT_BRANCH.some((re) => re.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

describe('dialect knowledge lives in functions/db/dialects/', () => {
  it('recognises a branch on a dialect name (the check can fail)', () => {
    const samples = ["if (dialect === 'none') x();", "if (direct && direct.dialect === 'none') y;", "'ruvector' !== db.dialect.dialect", 'switch (input.dialect) {', "    case 'pgvector':", "const sql = dialectSql('ruvector');"];
    expect(samples.filter((s) => dialectBranches('sample.ts', s).length === 0)).toEqual([]);
    expect(dialectBranches('sample.ts', "if (row.status === 'none') skip();\nconst sql = db.dialect.castText('v');")).toEqual([]);
  });

  it('no shipped file outside functions/db/dialects/ branches on a dialect name: it asks the dialect module on its Database', () => {
    const files = ['schema', 'functions', 'uploader'].flatMap(sourceFiles).filter((f) => !f.startsWith('functions/db/dialects/'));
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap((f) => dialectBranches(f, readFileSync(join(ROOT, f), 'utf8')))).toEqual([]);
  });
});
