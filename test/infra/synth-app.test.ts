// The real app entry synthesizes offline: `tsx infra/main.ts` (what cdktf.json runs) in a scratch
// working directory that looks like a built checkout, so no prior `npm run build` is needed.
// (A missing build fails the same way as a bad config: StageError, unit-tested in stage-and-imports.)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG_FILE, REPO_ROOT } from './synth-support.js';

const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = join(REPO_ROOT, 'infra', 'main.ts');

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function scratchCheckout(withBuild: boolean): string {
  const cwd = mkdtempSync(join(tmpdir(), 'aqe-synth-'));
  scratch.push(cwd);
  if (withBuild) {
    mkdirSync(join(cwd, 'dist', 'functions'), { recursive: true });
    mkdirSync(join(cwd, 'dist', 'schema'), { recursive: true });
    writeFileSync(join(cwd, 'dist', 'functions', 'index.js'), 'export {};\n');
    writeFileSync(join(cwd, 'dist', 'schema', 'index.js'), 'export {};\n');
  }
  cpSync(join(REPO_ROOT, 'package.json'), join(cwd, 'package.json'));
  cpSync(join(REPO_ROOT, 'package-lock.json'), join(cwd, 'package-lock.json'));
  return cwd;
}

function runApp(cwd: string, env: Record<string, string>) {
  return spawnSync(TSX, [MAIN], { cwd, env: { ...process.env, CHECKPOINT_DISABLE: '1', ...env }, encoding: 'utf8', timeout: 60_000 });
}

describe('cdktf app entry (offline synth)', () => {
  let cwd: string;
  let run: ReturnType<typeof runApp>;
  beforeAll(() => {
    cwd = scratchCheckout(true);
    run = runApp(cwd, { AQE_DEPLOYMENT_CONFIG: EXAMPLE_CONFIG_FILE });
  });

  it('writes cdktf.out/stacks/aqe-example/cdk.tf.json with a relative local backend and the source zip', () => {
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const stackDir = join(cwd, 'cdktf.out', 'stacks', 'aqe-example');
    const tf = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8'));
    expect(tf.terraform.backend).toEqual({ local: { path: '../../../terraform.aqe-example.tfstate' } });
    expect(tf.terraform.required_providers.google).toEqual({ source: 'google', version: '6.50.0' });
    const [, obj] = Object.entries(tf.resource.google_storage_bucket_object)[0] as [string, { source: string }];
    expect(existsSync(join(stackDir, obj.source))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(cwd, 'cdktf.out', 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stacks)).toEqual(['aqe-example']);
  });

  it('stages the package under .tmp/function-source/<deployment>', () => {
    expect(readdirSync(join(cwd, '.tmp', 'function-source', 'example')).sort()).toEqual(['dist', 'package-lock.json', 'package.json']);
  });

  it('fails with every config problem and exit code 1, before staging anything', () => {
    const bad = scratchCheckout(true);
    const file = join(bad, 'broken.json');
    writeFileSync(file, JSON.stringify({ project: 'BAD', region: 'x', operators: ['user:a@b.c'] }));
    const r = runApp(bad, { AQE_DEPLOYMENT_CONFIG: file });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('broken.json: invalid deployment config');
    expect(r.stderr).toMatch(/project: .*\n.*region: /s);
    expect(r.stderr).toContain('operators.0');
    expect(existsSync(join(bad, 'cdktf.out'))).toBe(false);
    expect(existsSync(join(bad, '.tmp'))).toBe(false);
  });
});
