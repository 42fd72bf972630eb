// The ruvector-postgres image's contract, written down as data with the source of every fact, and
// a pure check of a `docker run` command line against it. The stack checks its own run line at
// synth time; the deploy rehearsal (test/rehearsal/) checks the line it extracts from the
// synthesized user-data and starts a real PostgreSQL the way this contract says the container would.

/** A fact about the image, and where it was read. */
export interface Sourced<T> {
  readonly value: T;
  readonly source: string;
}

const RUVECTOR = 'github.com/ruvnet/RuVector@20aca12a (2026-04-27)';
const POSTGRES = 'github.com/docker-library/postgres@6edb0a8c (2026-02-26) 17/bookworm';

/** Variables the official entrypoint reads through `file_env` (each may come from <VAR>_FILE). */
export const FILE_ENV_VARIABLES = ['POSTGRES_PASSWORD', 'POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_INITDB_ARGS'] as const;

export const RUVECTOR_POSTGRES_IMAGE = {
  repository: { value: 'ruvnet/ruvector-postgres', source: `${RUVECTOR} crates/ruvector-postgres/Dockerfile.prebuilt:1-10 (the image it says it builds)` },
  baseImage: { value: 'postgres:17-bookworm', source: `${RUVECTOR} crates/ruvector-postgres/Dockerfile:149, Dockerfile.prebuilt:11` },
  pgMajor: { value: 17, source: `${POSTGRES}/Dockerfile:89 (ENV PG_MAJOR 17)` },
  /**
   * ENV baked into the image. Which Dockerfile built a given tag is not published, so every variant
   * is kept: a run line must hold against all of them.
   */
  bakedEnvVariants: [
    {
      value: { POSTGRES_USER: 'ruvector', POSTGRES_PASSWORD: 'ruvector', POSTGRES_DB: 'ruvector' },
      source: `${RUVECTOR} crates/ruvector-postgres/Dockerfile.prebuilt:45-47`,
    },
    {
      value: { POSTGRES_USER: 'ruvector', POSTGRES_PASSWORD: 'ruvector', POSTGRES_DB: 'ruvector_test', POSTGRES_INITDB_ARGS: '--data-checksums' },
      source: `${RUVECTOR} crates/ruvector-postgres/docker/Dockerfile:181-187`,
    },
  ] as ReadonlyArray<Sourced<Readonly<Record<string, string>>>>,
  baseEnv: { value: { PGDATA: '/var/lib/postgresql/data', LANG: 'en_US.utf8' } as Readonly<Record<string, string>>, source: `${POSTGRES}/Dockerfile:64,184` },
  volume: { value: '/var/lib/postgresql/data', source: `${POSTGRES}/Dockerfile:187 (VOLUME)` },
  postgresUid: { value: 999, source: `${POSTGRES}/Dockerfile:11-13 (groupadd/useradd --uid=999)` },
  port: { value: 5432, source: `${POSTGRES}/Dockerfile:217 (EXPOSE 5432); the server listens on PGPORT` },
  extension: { value: 'ruvector', source: `${RUVECTOR} crates/ruvector-postgres/ruvector.control (CREATE EXTENSION ruvector; no type named vector)` },
  /** What the image's /docker-entrypoint-initdb.d/01-init.sql does on an empty PGDATA. */
  initScript: {
    value: { createsExtension: 'ruvector', createsLoginRole: { name: 'ruvector', password: 'ruvector' }, database: 'POSTGRES_DB' },
    source: `${RUVECTOR} crates/ruvector-postgres/docker/init.sql:5,23 (copied by Dockerfile:179 / Dockerfile.prebuilt:42)`,
  },
  entrypoint: {
    fileEnvExclusive: {
      value: 'for each of POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS: VAR and VAR_FILE both non-empty → "error: both VAR and VAR_FILE are set (but are exclusive)", exit 1, at every start',
      source: `${POSTGRES}/docker-entrypoint.sh:9-16, 235-239 (docker_setup_env runs before the data directory is looked at)`,
    },
    fileReadAsPostgres: {
      value: 'the _FILE is read as root, then again after `exec gosu postgres`: it must be readable by uid 999',
      source: `${POSTGRES}/docker-entrypoint.sh:333-338`,
    },
    passwordRequiredOnInit: {
      value: 'on an empty PGDATA, an empty POSTGRES_PASSWORD exits 1 unless POSTGRES_HOST_AUTH_METHOD=trust',
      source: `${POSTGRES}/docker-entrypoint.sh:102-119`,
    },
    initOnlyOnEmptyPgdata: {
      value: 'initdb, POSTGRES_DB creation and the init scripts run only when PGDATA/PG_VERSION is missing; later starts ignore the password variables',
      source: `${POSTGRES}/docker-entrypoint.sh:246-247, 342-358`,
    },
    superuser: {
      value: 'POSTGRES_USER (default "postgres") is created by `initdb --username` as the superuser, with POSTGRES_PASSWORD; POSTGRES_DB defaults to POSTGRES_USER',
      source: `${POSTGRES}/docker-entrypoint.sh:92, 237-238`,
    },
    hostAuth: {
      value: 'pg_hba.conf gets `host all all all <POSTGRES_HOST_AUTH_METHOD, default: password_encryption = scram-sha-256>`; local socket connections keep initdb\'s default, trust',
      source: `${POSTGRES}/docker-entrypoint.sh:261-280; initdb defaults`,
    },
  },
} as const;

/** A `docker run` command line, parsed. */
export interface DockerRun {
  readonly image: string;
  readonly name: string | null;
  readonly network: string | null;
  /** `-e K=V` in order (a later one wins). */
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly volumes: ReadonlyArray<{ readonly host: string; readonly container: string; readonly readOnly: boolean }>;
  readonly flags: readonly string[];
  /** Arguments after the image (the container command). */
  readonly command: readonly string[];
}

/** What the stack expects of its own container (compared with the effective configuration). */
export interface ContainerExpectations {
  readonly superuser: string;
  readonly database: string;
  readonly port: number;
  /** Roles that connect over TCP: none of them may be the superuser. */
  readonly connectingRoles: readonly string[];
}

export interface ContainerCheck {
  readonly violations: string[];
  /** Effective environment of the container (image ENV overlaid by -e), per baked-ENV variant. */
  readonly effectiveEnv: ReadonlyArray<Readonly<Record<string, string>>>;
}

/** Splits a systemd ExecStart/ExecStartPre value into words (our units use no quotes; `\`+newline joins lines). */
export function splitCommandLine(line: string): string[] {
  const joined = line.replace(/\\\n\s*/g, ' ').trim();
  if (/["']/.test(joined)) throw new Error(`command line uses quotes, which this parser does not model: ${joined}`);
  return joined.split(/\s+/).filter((w) => w.length > 0);
}

/** Parses `docker run …` argv (argv[0] may be the docker binary). Throws on an option it does not model. */
export function parseDockerRun(argv: readonly string[]): DockerRun {
  const words = [...argv];
  if (words[0] && /(^|\/)docker$/.test(words[0])) words.shift();
  if (words.shift() !== 'run') throw new Error(`not a docker run command: ${argv.join(' ')}`);
  const env: Array<[string, string]> = [];
  const volumes: Array<{ host: string; container: string; readOnly: boolean }> = [];
  const flags: string[] = [];
  let name: string | null = null;
  let network: string | null = null;
  while (words.length > 0 && words[0]!.startsWith('-')) {
    const w = words.shift()!;
    const [opt, inline] = w.includes('=') && w.startsWith('--') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
    const value = () => inline ?? words.shift() ?? '';
    switch (opt) {
      case '-e':
      case '--env': {
        const kv = value();
        const i = kv.indexOf('=');
        // `-e NAME` without "=" passes the host's value: not modelled (and never used by the stack)
        if (i < 0) throw new Error(`docker run -e ${kv}: a variable without "=" takes the host's value, which the contract cannot see`);
        env.push([kv.slice(0, i), kv.slice(i + 1)]);
        break;
      }
      case '-v':
      case '--volume': {
        const [host = '', container = '', mode = ''] = value().split(':');
        volumes.push({ host, container, readOnly: mode.split(',').includes('ro') });
        break;
      }
      case '--name':
        name = value();
        break;
      case '--network':
        network = value();
        break;
      case '--rm':
        flags.push('--rm');
        break;
      case '--shm-size':
      case '--log-driver':
      case '--user':
      case '-u':
        flags.push(`${opt}=${value()}`);
        break;
      default:
        throw new Error(`docker run option ${opt} is not modelled by the container contract; add it to parseDockerRun`);
    }
  }
  const image = words.shift();
  if (!image) throw new Error('docker run without an image');
  return { image, name, network, env, volumes, flags, command: words };
}

/** True when `path` lies on one of the volumes (so it survives the container and is shared with the host). */
function volumeOf(run: DockerRun, path: string): DockerRun['volumes'][number] | undefined {
  return run.volumes.find((v) => path === v.container || path.startsWith(`${v.container.replace(/\/+$/, '')}/`));
}

/**
 * Applies a `docker run` to the image contract: the effective environment of each baked-ENV
 * variant, then every rule of the entrypoint and of our deployment. Pure; returns the violations.
 */
export function checkDockerRun(run: DockerRun, expect: ContainerExpectations, contract = RUVECTOR_POSTGRES_IMAGE): ContainerCheck {
  const violations: string[] = [];
  const repo = contract.repository.value;
  if (!run.image.includes(repo)) violations.push(`image ${run.image} is not ${repo} (or a mirror of it): the contract does not describe it`);
  if (!/(:(?!latest$)[\w][\w.-]*$)|(@sha256:[0-9a-f]{64}$)/.test(run.image)) violations.push(`image ${run.image} is not pinned by tag or digest (the publisher changed the contents behind :latest)`);
  if (run.network !== 'host') violations.push(`--network=${run.network ?? '(default bridge)'}: the functions reach the VM's ${expect.port}, which only --network=host exposes without -p`);

  const overrides = Object.fromEntries(run.env);
  const effectiveEnv = contract.bakedEnvVariants.map((variant) => ({ ...contract.baseEnv.value, ...variant.value, ...overrides }));
  effectiveEnv.forEach((env, i) => {
    const where = `with the ENV of ${contract.bakedEnvVariants[i]!.source}`;
    for (const v of FILE_ENV_VARIABLES) {
      if (env[v] && env[`${v}_FILE`]) {
        violations.push(`${v} and ${v}_FILE are both set ${where} (${v}=${v === 'POSTGRES_PASSWORD' ? '[baked value]' : env[v]}): the entrypoint exits 1 at every start ("both ${v} and ${v}_FILE are set (but are exclusive)"); add -e ${v}= beside ${v}_FILE`);
      }
    }
    const user = env.POSTGRES_USER || 'postgres';
    if (user !== expect.superuser) violations.push(`the superuser would be "${user}" ${where}, expected "${expect.superuser}" (set -e POSTGRES_USER)`);
    const db = env.POSTGRES_DB || user;
    if (db !== expect.database) violations.push(`the database would be "${db}" ${where}, expected "${expect.database}" (set -e POSTGRES_DB)`);
    const auth = env.POSTGRES_HOST_AUTH_METHOD || 'scram-sha-256';
    if (auth !== 'scram-sha-256') violations.push(`POSTGRES_HOST_AUTH_METHOD=${auth}: remote logins must use scram-sha-256`);
    if (!env.POSTGRES_PASSWORD && !env.POSTGRES_PASSWORD_FILE && auth !== 'trust') violations.push(`no password ${where}: initdb on an empty disk exits 1`);
    const port = Number(env.PGPORT || contract.port.value);
    if (port !== expect.port) violations.push(`the server would listen on ${port}, the functions connect to ${expect.port}`);
    const pgdata = env.PGDATA ?? contract.volume.value;
    const vol = volumeOf(run, pgdata);
    if (!vol) violations.push(`PGDATA ${pgdata} is not on a volume: with --rm every restart starts from an empty database`);
    else if (pgdata.replace(/\/+$/, '') === vol.container.replace(/\/+$/, '')) violations.push(`PGDATA ${pgdata} is the mount point itself: initdb refuses a non-empty directory (ext4 puts lost+found there); use a subdirectory`);
    else if (vol.readOnly) violations.push(`PGDATA ${pgdata} is on a read-only volume`);
    const pwFile = env.POSTGRES_PASSWORD_FILE;
    if (pwFile && !volumeOf(run, pwFile)) violations.push(`POSTGRES_PASSWORD_FILE ${pwFile} is not on a volume: the container cannot read it`);
  });
  for (const role of expect.connectingRoles) {
    if (role === expect.superuser) violations.push(`role "${role}" connects over TCP but is the superuser; the superuser is for the bootstrap only`);
    if (role === contract.initScript.value.createsLoginRole.name) violations.push(`role "${role}" is the image's demo login (password "${contract.initScript.value.createsLoginRole.password}"), which the bootstrap locks`);
  }
  return { violations: [...new Set(violations)], effectiveEnv };
}
