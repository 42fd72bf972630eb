// Test support for the infra suite: a fake staged function package in a temp folder, the example
// deployment synthesized in-process, and small helpers over the snake_case JSON.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Testing } from 'cdktf';
import { type DeploymentConfig, type DeploymentConfigInput, loadDeploymentConfigFile, parseDeploymentConfig, resourceNames } from '../../infra/config.js';
import { SyncStack } from '../../infra/stacks/sync-stack.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const EXAMPLE_CONFIG_FILE = join(REPO_ROOT, 'infra', 'deployments', 'example.json');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- synthesized Terraform JSON is untyped by nature
export type Tf = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one resource body
export type Res = Record<string, any>;

/** A folder shaped like the staged function package, without a real build. */
export function fakeStagedSource(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aqe-infra-src-'));
  mkdirSync(join(dir, 'dist', 'functions'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'schema'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'functions', 'index.js'), 'export {};\n');
  writeFileSync(join(dir, 'package.json'), '{"name":"fake","type":"module","main":"dist/functions/index.js"}\n');
  writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n');
  return dir;
}

export function exampleConfig(overrides: Partial<DeploymentConfigInput> = {}): DeploymentConfig {
  const base = loadDeploymentConfigFile(EXAMPLE_CONFIG_FILE);
  if (Object.keys(overrides).length === 0) return base;
  const r = parseDeploymentConfig({ ...base, ...overrides });
  if (!r.ok) throw new Error(r.issues.join('\n'));
  return r.config;
}

export interface Synthesized {
  readonly tf: Tf;
  readonly stack: SyncStack;
  readonly config: DeploymentConfig;
}

/** Synthesizes one deployment in-process (Testing.synth: no backend block, no files written). */
export function synthDeployment(config: DeploymentConfig = exampleConfig(), modelBundled = false): Synthesized {
  const app = Testing.app({ stubVersion: true });
  const stack = new SyncStack(app, resourceNames(config).stack, { config, functionSourceDir: fakeStagedSource(), modelBundled });
  const tf = JSON.parse(Testing.synth(stack, true)) as Tf;
  return { tf, stack, config };
}

/** All resources of one Terraform type, as [logicalId, body] pairs. */
export function resourcesOf(tf: Tf, type: string): Array<[string, Res]> {
  return Object.entries((tf.resource?.[type] ?? {}) as Record<string, Res>);
}

/** The single resource of a type (fails the test when there is not exactly one). */
export function only(tf: Tf, type: string): [string, Res] {
  const all = resourcesOf(tf, type);
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0] as [string, Res];
}

/** Every resource, as [type, logicalId, body]. */
export function allResources(tf: Tf): Array<[string, string, Res]> {
  return Object.entries((tf.resource ?? {}) as Record<string, Record<string, Res>>).flatMap(([type, byId]) =>
    Object.entries(byId).map(([id, body]) => [type, id, body] as [string, string, Res]),
  );
}

/** `${type.id.attr}` interpolation of a resource attribute. */
export const ref = (type: string, id: string, attr: string) => `\${${type}.${id}.${attr}}`;

/** Every string in a JSON value, with its path. */
export function stringsIn(value: unknown, path = ''): Array<{ path: string; value: string }> {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringsIn(v, path ? `${path}.${k}` : k));
  return [];
}

/** Every object key in a JSON value, with its path. */
export function keysIn(value: unknown, path = ''): Array<{ path: string; key: string }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => keysIn(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [{ path, key: k }, ...keysIn(v, path ? `${path}.${k}` : k)]);
  }
  return [];
}
