// The function package staging step, and the import rules of infra/ (deep provider imports only,
// nothing from functions/ but the shared entry-point names).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUCKET_PREFIXES } from '../../infra/constructs/snapshot-bucket.js';
import { StageError, stageFunctionSource } from '../../infra/stage-functions.js';
import { BLOB_PREFIX, QUARANTINE_PREFIX, SNAPSHOT_PREFIX } from '../../schema/snapshot/object-keys.js';
import { REPO_ROOT } from './synth-support.js';

function fakeRepo(): string {
  const root = mkdtempSync(join(tmpdir(), 'aqe-stage-'));
  mkdirSync(join(root, 'dist', 'functions', 'loader'), { recursive: true });
  mkdirSync(join(root, 'dist', 'schema'), { recursive: true });
  mkdirSync(join(root, 'dist', 'uploader'), { recursive: true });
  writeFileSync(join(root, 'dist', 'functions', 'index.js'), 'export {};\n');
  writeFileSync(join(root, 'dist', 'functions', 'index.js.map'), '{}');
  writeFileSync(join(root, 'dist', 'functions', 'loader', 'x.test.js'), '');
  writeFileSync(join(root, 'dist', 'schema', 'errors.js'), '');
  writeFileSync(join(root, 'dist', 'uploader', 'cli.js'), '');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'p', main: 'dist/functions/index.js', scripts: { prepare: 'tsc' }, bin: { a: 'x' }, dependencies: { pg: '^8' } }));
  writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}');
  return root;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

describe('function source staging', () => {
  it('copies dist/functions, dist/schema and the package files; drops install scripts, maps and tests', () => {
    const root = fakeRepo();
    const out = join(root, '.tmp', 'stage');
    const staged = stageFunctionSource({ root, outDir: out });
    expect(staged.modelBundled).toBe(false);
    expect(listFiles(out).map((f) => relative(out, f)).sort()).toEqual(['dist/functions/index.js', 'dist/schema/errors.js', 'package-lock.json', 'package.json']);
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
    expect(pkg).toEqual({ name: 'p', main: 'dist/functions/index.js', dependencies: { pg: '^8' } });
  });

  it('bundles a model folder under model/ when configured', () => {
    const root = fakeRepo();
    const model = join(root, 'model-src');
    mkdirSync(join(model, 'onnx'), { recursive: true });
    writeFileSync(join(model, 'tokenizer.json'), '{}');
    writeFileSync(join(model, 'onnx', 'model.onnx'), 'x');
    const staged = stageFunctionSource({ root, outDir: join(root, 'out'), modelDir: model });
    expect(staged.modelBundled).toBe(true);
    expect(existsSync(join(root, 'out', 'model', 'onnx', 'model.onnx'))).toBe(true);
  });

  it('lists every missing input and says to build first', () => {
    const root = mkdtempSync(join(tmpdir(), 'aqe-stage-empty-'));
    expect(() => stageFunctionSource({ root, outDir: join(root, 'out'), modelDir: join(root, 'nope') })).toThrow(StageError);
    try {
      stageFunctionSource({ root, outDir: join(root, 'out'), modelDir: join(root, 'nope') });
    } catch (e) {
      expect((e as StageError).missing).toHaveLength(5);
      expect((e as Error).message).toMatch(/Try: npm run build$/);
    }
  });

  it('uses the same bucket layout as schema/snapshot/object-keys.ts', () => {
    expect(BLOB_PREFIX.startsWith(BUCKET_PREFIXES.blobs)).toBe(true);
    expect(SNAPSHOT_PREFIX).toBe(BUCKET_PREFIXES.snapshots);
    expect(QUARANTINE_PREFIX).toBe(BUCKET_PREFIXES.quarantine);
  });
});

describe('infra import rules', () => {
  const sources = listFiles(join(REPO_ROOT, 'infra')).filter((f) => f.endsWith('.ts'));
  const imports = sources.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => ({
      file: relative(REPO_ROOT, file),
      spec: (m[1] ?? m[2]) as string,
    })),
  );

  it('scans the infra sources', () => {
    expect(sources.length).toBeGreaterThan(10);
    expect(imports.length).toBeGreaterThan(30);
  });

  it('never imports the @cdktf/provider-google barrel (1.5 s and 470 MB per process)', () => {
    expect(imports.filter((i) => /^@cdktf\/provider-google(-beta)?\/?$/.test(i.spec))).toEqual([]);
  });

  it('deep-imports provider modules by their full file path (native ESM has no directory imports)', () => {
    const bad = imports.filter((i) => i.spec.startsWith('@cdktf/provider-google/') && !/^@cdktf\/provider-google\/lib\/[a-z0-9-]+\/index\.js$/.test(i.spec));
    expect(bad).toEqual([]);
  });

  it('imports nothing from functions/, schema/ or uploader/ except functions/entry-points.js', () => {
    const crossing = imports.filter((i) => /(^|\/)(functions|schema|uploader)\//.test(i.spec) && !i.spec.endsWith('functions/entry-points.js'));
    expect(crossing).toEqual([]);
  });

  it('uses .js suffixes on relative imports', () => {
    expect(imports.filter((i) => i.spec.startsWith('.') && !i.spec.endsWith('.js'))).toEqual([]);
  });
});
