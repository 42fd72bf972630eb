// The stack the rehearsal executes: a fresh build of the repository, synthesized by the real app
// entry (`tsx infra/main.ts`, what `cdktf deploy` runs), read back from cdk.tf.json. Nothing here
// is written by hand from expectations: every value the rehearsal runs comes from the synthesized
// JSON, and references (`${type.id.attr}`) are resolved the way `terraform apply` would give them
// values, through one table the rehearsal states (the VM's address → the sandbox VM's address).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const TSC = join(REPO_ROOT, 'node_modules', '.bin', 'tsc');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- synthesized Terraform JSON is untyped by nature
export type Res = Record<string, any>;

export interface CloudInitFile {
  path: string;
  permissions: string;
  owner?: string;
  content: string;
}

export interface RehearsalStack {
  /** Scratch checkout the app ran in (fresh build, staged source, cdktf.out). */
  readonly dir: string;
  readonly stackName: string;
  readonly stackDir: string;
  readonly tf: Res;
  /** The project id of the deployment. */
  readonly project: string;
  /** The function source zip the stack uploads. */
  readonly archive: string;
  /** All resources of a type, by logical id. */
  resources(type: string): Array<[string, Res]>;
  /** The single resource of a type whose `field` equals `value` (throws when not exactly one). */
  find(type: string, field: string, value: unknown): [string, Res];
  /** The database VM's cloud-init document (empty for the managed engine: no database VM). */
  readonly userData: string;
  readonly cloudInit: { files: CloudInitFile[]; runcmd: string[] };
  /** A function by entry point: its build and service configuration. */
  fn(entryPoint: string): Res;
  /** Turns `${type.id.attr}` references into the values the rehearsal gives them. */
  resolve(value: string): string;
  cleanup(): void;
}

export interface RehearsalStackOptions {
  /** The deployment file (default: infra/deployments/example.json). */
  configFile?: string;
  /** Values of computed attributes, keyed `type.attr` (e.g. `google_compute_address.address`) or `type.id.attr`. */
  computed: Record<string, string>;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, CHECKPOINT_DISABLE: '1', ...env }, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Builds the repository into a scratch checkout and synthesizes the deployment there with the real app entry. */
export function synthesizeRehearsalStack(options: RehearsalStackOptions): RehearsalStack {
  const dir = mkdtempSync(join(tmpdir(), 'aqe-rehearsal-stack-'));
  // a fresh build (dist/ of the checkout may be stale): exactly what `npm run build` produces
  run(TSC, ['-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], REPO_ROOT);
  cpSync(join(REPO_ROOT, 'schema', 'migrations'), join(dir, 'dist', 'schema', 'migrations'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(REPO_ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  const configFile = options.configFile ?? join(REPO_ROOT, 'infra', 'deployments', 'example.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { name?: string; project: string };
  const name = config.name ?? configFile.replace(/^.*\//, '').replace(/\.json$/, '');
  run(TSX, [join(REPO_ROOT, 'infra', 'main.ts')], dir, { AQE_DEPLOYMENT_CONFIG: configFile, CDKTF_OUTDIR: join(dir, 'cdktf.out') });
  const stackName = `aqe-${name}`;
  const stackDir = join(dir, 'cdktf.out', 'stacks', stackName);
  const tf = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as Res;

  const resources = (type: string): Array<[string, Res]> => Object.entries((tf.resource?.[type] ?? {}) as Record<string, Res>);
  const find = (type: string, field: string, value: unknown): [string, Res] => {
    const hits = resources(type).filter(([, r]) => r[field] === value);
    if (hits.length !== 1) throw new Error(`expected one ${type} with ${field}=${String(value)}, found ${hits.length}`);
    return hits[0]!;
  };
  const [, object] = resources('google_storage_bucket_object')[0] ?? [];
  if (!object) throw new Error('the stack uploads no function source object');
  const archive = join(stackDir, String(object.source));
  if (!existsSync(archive)) throw new Error(`the function archive ${archive} was not written by the synth`);

  // the database VM (engine vm-ruvector) boots from user-data; the managed engine has none (its
  // only VM, the operators' bastion, runs nothing of ours)
  const [, vm] = resources('google_compute_instance').find(([, r]) => r.metadata?.['user-data'] !== undefined) ?? [];
  const managed = resources('google_sql_database_instance').length > 0;
  const userData = String(vm?.metadata?.['user-data'] ?? '');
  if (!managed && !userData.startsWith('#cloud-config')) throw new Error('the database VM has no #cloud-config user-data');
  const doc = (userData ? parseYaml(userData) : { write_files: [], runcmd: [] }) as { write_files: CloudInitFile[]; runcmd: string[] };

  const resolveRef = (value: string): string =>
    value.replace(/\$\{([a-z0-9_]+)\.([\w-]+)\.([\w.[\]]+)\}/g, (whole, type: string, id: string, attr: string) => {
      const res = (tf.resource?.[type] as Record<string, Res> | undefined)?.[id];
      if (!res) throw new Error(`reference ${whole}: no such resource in the synthesized stack`);
      const computed = options.computed[`${type}.${id}.${attr}`] ?? options.computed[`${type}.${attr}`];
      if (computed !== undefined) return computed;
      // attributes `terraform apply` derives from literal arguments
      if (type === 'google_secret_manager_secret' && attr === 'id') return `projects/${res.project}/secrets/${res.secret_id}`;
      if (type === 'google_pubsub_topic' && attr === 'id') return `projects/${res.project}/topics/${res.name}`;
      if (typeof res[attr] === 'string' && !String(res[attr]).includes('${')) return res[attr] as string;
      throw new Error(`reference ${whole}: the rehearsal gives no value to ${type}.${attr}; add it to RehearsalStackOptions.computed`);
    });

  const fn = (entryPoint: string): Res => {
    const hits = resources('google_cloudfunctions2_function').filter(([, f]) => f.build_config?.entry_point === entryPoint);
    if (hits.length !== 1) throw new Error(`expected one function with entry point ${entryPoint}, found ${hits.length}`);
    return hits[0]![1];
  };

  return {
    dir,
    stackName,
    stackDir,
    tf,
    project: config.project,
    archive,
    resources,
    find,
    userData,
    cloudInit: { files: doc.write_files, runcmd: doc.runcmd },
    fn,
    resolve: resolveRef,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Writes a deployment file derived from another one (for variants of the example). */
export function deploymentVariant(base: string, patch: (config: Res) => Res): string {
  const dir = mkdtempSync(join(tmpdir(), 'aqe-rehearsal-config-'));
  const config = patch(JSON.parse(readFileSync(base, 'utf8')) as Res);
  const file = join(dir, 'rehearsal.json');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Files of a folder, recursively (relative paths). */
export function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}
