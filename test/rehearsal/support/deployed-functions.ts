// The functions as Cloud Functions builds and runs them: the archive the stack uploads, unpacked
// and installed the way Cloud Build's Node.js buildpack does (`npm ci` in production mode, install
// scripts run, with the build environment of the synthesized build_config and nothing else from
// this machine's npm setup), then each target started as its own Functions Framework process with
// exactly the environment of its synthesized service_config (references resolved by the
// rehearsal), the variables the Cloud Run runtime adds, and the two endpoint overrides that point
// the real clients at the local stand-ins.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface InstalledSource {
  readonly dir: string;
  /** What `npm ci` printed. */
  readonly log: string;
  readonly seconds: number;
}

/**
 * What the archive holds, without the entries' times: every name with its size and CRC-32 (`unzip
 * -v`). Two syntheses of the same sources (each rehearsal builds its own checkout) zip the same
 * files with other mtimes: the same contents install the same way.
 */
function archiveContentKey(archive: string): string {
  const r = spawnSync('unzip', ['-v', archive], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) return createHash('sha256').update(readFileSync(archive)).digest('hex');
  const entries = r.stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s+([0-9a-f]{8})\s+(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[3]} ${m[1]} ${m[2]}`)
    .sort();
  if (entries.length === 0) return createHash('sha256').update(readFileSync(archive)).digest('hex');
  return createHash('sha256').update(entries.join('\n')).digest('hex');
}

/**
 * Unzips and installs the archive (cached by its contents under the temp folder: the same files
 * install the same way, so the VM and the managed-engine rehearsals share one install).
 * `buildEnv` is the synthesized build_config.environment_variables.
 */
export function installLikeCloudBuild(archive: string, buildEnv: Record<string, string>): InstalledSource {
  const sha = createHash('sha256').update(archiveContentKey(archive)).update(JSON.stringify(buildEnv)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `aqe-rehearsal-install-${sha}`);
  const done = join(dir, '.installed.json');
  // one installer at a time (the rehearsal files may run in parallel workers): the others wait for it
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 900_000;
  for (;;) {
    if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as InstalledSource;
    try {
      mkdirSync(lock);
      break;
    } catch {
      // a lock left by a killed run is stale after 15 minutes
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 900_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 15 min for another install of ${archive} (lock ${lock})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    return installUnlocked(archive, buildEnv, dir, done);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function installUnlocked(archive: string, buildEnv: Record<string, string>, dir: string, done: string): InstalledSource {
  if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as InstalledSource;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const unzip = spawnSync('unzip', ['-q', archive, '-d', join(dir, 'workspace')], { encoding: 'utf8' });
  if (unzip.status !== 0) throw new Error(`unzip ${archive}: ${unzip.stderr}`);
  const started = Date.now();
  // No npm_config_* of the project (the staged package has no .npmrc, and `npm test` exports the
  // project's as variables): only the machine's own npm setup (HOME's .npmrc: where the Node
  // headers are, as Cloud Build's image has its own), the build env of the stack, production mode.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_update_notifier: 'false',
    ...buildEnv,
  };
  const r = spawnSync('npm', ['ci'], { cwd: join(dir, 'workspace'), env, encoding: 'utf8', timeout: 600_000 });
  const log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`npm ci of the function source failed (${r.status}) with build env ${JSON.stringify(buildEnv)}:\n${log.slice(-4000)}`);
  const installed: InstalledSource = { dir: join(dir, 'workspace'), log, seconds: (Date.now() - started) / 1000 };
  writeFileSync(done, JSON.stringify(installed));
  return installed;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface DeployedFunction {
  readonly name: string;
  readonly url: string;
  /** Structured log lines the process printed (one JSON document each). */
  logs(): Array<Record<string, unknown>>;
  /** Lines that were not JSON (there should be none). */
  rawLines(): string[];
  stop(): Promise<void>;
}

/** Where the Cloud Functions (Cloud Run) Node.js runtime puts the built source. */
export const RUNTIME_SOURCE_DIR = '/workspace';

/**
 * Starts one target the way the Cloud Functions Node.js runtime does: `functions-framework` from
 * the installed package, FUNCTION_TARGET / FUNCTION_SIGNATURE_TYPE / PORT / K_SERVICE set, the
 * service's environment variables, and nothing inherited from this process.
 */
export async function startDeployedFunction(options: {
  installed: InstalledSource;
  name: string;
  entryPoint: string;
  signatureType: 'http' | 'cloudevent';
  environment: Record<string, string>;
}): Promise<DeployedFunction> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: '/root',
    NODE_ENV: 'production',
    PORT: String(port),
    K_SERVICE: options.name,
    K_REVISION: `${options.name}-00001-rev`,
    K_CONFIGURATION: options.name,
    FUNCTION_TARGET: options.entryPoint,
    FUNCTION_SIGNATURE_TYPE: options.signatureType,
    ...options.environment,
  };
  // The runtime serves the source from /workspace (the synthesized AQE_MODEL_DIR of a bundled model
  // points there): the installed folder is bind-mounted at that path in a private mount namespace
  // of the function's own, so nothing of it is visible to the rest of the machine.
  mkdirSync(RUNTIME_SOURCE_DIR, { recursive: true });
  const bin = join(RUNTIME_SOURCE_DIR, 'node_modules', '.bin', 'functions-framework');
  const child: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--kill-child=SIGTERM',
      'sh',
      '-c',
      'mount --bind "$1" "$2" && cd "$2" && shift 2 && exec "$@"',
      'runtime',
      options.installed.dir,
      RUNTIME_SOURCE_DIR,
      bin,
      `--target=${options.entryPoint}`,
      `--signature-type=${options.signatureType}`,
      `--port=${port}`,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let buf = '';
  const take = (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited (${child.exitCode}) at start:\n${lines.join('\n')}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`${options.name} did not listen in 60 s:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const parsed = () =>
    lines.flatMap((l) => {
      try {
        const v: unknown = JSON.parse(l);
        return v && typeof v === 'object' ? [v as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  return {
    name: options.name,
    url,
    logs: parsed,
    rawLines: () =>
      lines.filter((l) => {
        if (l.trim() === '') return false;
        try {
          JSON.parse(l);
          return false;
        } catch {
          return true;
        }
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A CloudEvent in binary content mode, as Eventarc pushes it to the function's URL. */
export async function postCloudEvent(url: string, event: { id: string; type: string; source: string; subject?: string; data: unknown }): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': event.id,
      'ce-type': event.type,
      'ce-source': event.source,
      'ce-time': new Date().toISOString(),
      ...(event.subject ? { 'ce-subject': event.subject } : {}),
    },
    body: JSON.stringify(event.data),
  });
  return { status: res.status, body: await res.text() };
}
