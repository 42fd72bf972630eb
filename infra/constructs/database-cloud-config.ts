// Renders the Container-Optimized OS cloud-config (`user-data`) that runs ruvector-postgres:
// systemd units that mount the data disk (formatting only a blank one), fetch the roles' passwords
// from Secret Manager, run the container, bootstrap the database (extension, roles, schema, grants)
// and report PostgreSQL's health. Pure: the same input gives the same text, with no secret in it.
// test/rehearsal/ runs these scripts and units for real, against stand-ins of the machine's tools.
import { checkDockerRun, type ContainerExpectations, parseDockerRun, splitCommandLine } from '../container-contract.js';

export interface DatabaseCloudConfigInput {
  /** Project id of the secrets and of the metrics. */
  readonly project: string;
  /** Secret Manager secret id of the functions' role password (read at boot, latest version). */
  readonly syncSecretId: string;
  /** Secret Manager secret id of the read-only role password. */
  readonly readerSecretId: string;
  /** Docker image to run, pinned by tag or digest (the Artifact Registry mirror of Docker Hub). */
  readonly image: string;
  /** Registry host docker must authenticate to (e.g. europe-west1-docker.pkg.dev), or null for Docker Hub. */
  readonly registryHost: string | null;
  readonly dbName: string;
  /** The image's POSTGRES_USER: the superuser, used by the bootstrap only. */
  readonly adminUser: string;
  /** The functions' role: owns schema aqe. */
  readonly syncUser: string;
  /** The operators' read-only role. */
  readonly readerUser: string;
  /** Device name of the attached data disk (appears as /dev/disk/by-id/google-<name>). */
  readonly dataDeviceName: string;
  readonly port: string;
}

/** Container name, mount point, password files and units on the VM. */
export const VM_PATHS = {
  container: 'aqe-postgres',
  mount: '/mnt/disks/ruvector-data',
  /** tmpfs: the passwords never touch a disk. */
  runDir: '/run/aqe',
  /** Where runDir appears inside the container (read-only). */
  containerSecretsDir: '/run/secrets',
  adminPasswordFile: 'admin-password',
  syncPasswordFile: 'sync-password',
  readerPasswordFile: 'reader-password',
  /** PGDATA: a subdirectory of the mount (ext4 puts lost+found at the top). */
  pgdata: '/var/lib/postgresql/data/pgdata',
  /** docker-credential-gcr writes its docker config under this HOME (COS: /home is writable). */
  dockerHome: '/home/aqe-docker',
} as const;

/** The units the VM starts, in dependency order. */
export const VM_UNITS = {
  dataDisk: 'aqe-data-disk.service',
  secrets: 'aqe-db-secrets.service',
  postgres: 'aqe-postgres.service',
  bootstrap: 'aqe-db-init.service',
  health: 'aqe-pg-health.service',
  healthTimer: 'aqe-pg-health.timer',
} as const;

/** Custom metrics the health unit writes every minute (the alerts watch them). */
export const VM_METRICS = {
  postgresUp: 'custom.googleapis.com/aqe/postgres_up',
  dataDiskUsedPercent: 'custom.googleapis.com/aqe/data_disk_used_percent',
} as const;

const mountScript = `#!/bin/bash
# Formats the data disk only when a low-level probe finds nothing on it (blkid -p exits 2), then
# mounts it. Any other answer (a filesystem, a partition table, RAID, an ambivalent or failed probe)
# never formats: a populated disk is the database. Idempotent: runs at every boot.
set -euo pipefail
DEV=/dev/disk/by-id/google-@@DEVICE@@
MNT=@@MOUNT@@
for _ in $(seq 1 60); do [ -e "$DEV" ] && break; sleep 2; done
if [ ! -e "$DEV" ]; then
  echo "data disk $DEV is not attached" >&2
  exit 1
fi
rc=0
blkid -p "$DEV" > /dev/null 2>&1 || rc=$?
case "$rc" in
  0) echo "data disk $DEV holds a filesystem: mounting it as is" ;;
  2)
    echo "data disk $DEV is blank (blkid -p found nothing): formatting it ext4"
    mkfs.ext4 -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard "$DEV"
    ;;
  *)
    echo "blkid -p $DEV exited $rc (not 0 = found, not 2 = blank): refusing to format or mount a disk it cannot identify" >&2
    exit 1
    ;;
esac
mkdir -p "$MNT"
mountpoint -q "$MNT" || mount -o discard,defaults,nodev,nosuid "$DEV" "$MNT"
resize2fs "$DEV" || echo "resize2fs $DEV failed; the filesystem keeps its size" >&2
`;

const secretsScript = `#!/bin/bash
# Reads the two connecting roles' passwords from Secret Manager (the VM service account's token
# from the metadata server; Private Google Access, no external IP) into 0600 files on tmpfs, owned
# by the image's postgres user (uid 999). The superuser gets a random password made here: it only
# initialises an empty disk, is never stored, and nobody logs in with it (the bootstrap uses the
# container's local socket). No password or token is ever a process argument or a log line.
set -euo pipefail
OUT=@@RUN_DIR@@
PROJECT=@@PROJECT@@
umask 077
mkdir -p "$OUT"
chown 999:999 "$OUT"
chmod 0700 "$OUT"
token() {
  curl -sSf -H 'Metadata-Flavor: Google' \\
    http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token \\
    | tr -d '\\n ' | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p'
}
fetch() {
  local secret="$1" file="$2" tok data
  tok="$(token)" || return 1
  [ -n "$tok" ] || return 1
  data="$(printf 'header = "Authorization: Bearer %s"\\n' "$tok" \\
    | curl -sSf -K - "https://secretmanager.googleapis.com/v1/projects/$PROJECT/secrets/$secret/versions/latest:access" \\
    | tr -d '\\n ' | sed -n 's/.*"data":"\\([^"]*\\)".*/\\1/p')" || return 1
  [ -n "$data" ] || return 1
  printf '%s' "$data" | base64 -d > "$file.tmp"
  chown 999:999 "$file.tmp"
  chmod 0600 "$file.tmp"
  mv "$file.tmp" "$file"
}
# The first versions are added out of band (DEPLOY.md): until then, wait instead of failing the boot.
until fetch @@SYNC_SECRET_ID@@ "$OUT/@@SYNC_PASSWORD_FILE@@" && fetch @@READER_SECRET_ID@@ "$OUT/@@READER_PASSWORD_FILE@@"; do
  echo "cannot read @@SYNC_SECRET_ID@@ and @@READER_SECRET_ID@@ yet (no version, or IAM not propagated); retrying in 30s" >&2
  sleep 30
done
if [ ! -s "$OUT/@@ADMIN_PASSWORD_FILE@@" ]; then
  od -An -tx1 -N32 /dev/urandom | tr -d ' \\n' > "$OUT/@@ADMIN_PASSWORD_FILE@@.tmp"
  chown 999:999 "$OUT/@@ADMIN_PASSWORD_FILE@@.tmp"
  chmod 0600 "$OUT/@@ADMIN_PASSWORD_FILE@@.tmp"
  mv "$OUT/@@ADMIN_PASSWORD_FILE@@.tmp" "$OUT/@@ADMIN_PASSWORD_FILE@@"
fi
echo "database passwords ready in $OUT"
`;

const initScript = `#!/bin/bash
# Waits until the server accepts TCP connections (not the entrypoint's socket-only init server),
# then applies the bootstrap as the superuser over the container's local socket: the superuser's
# only use. Idempotent: runs at every boot.
set -euo pipefail
until docker exec @@CONTAINER@@ pg_isready -q -h 127.0.0.1 -p @@PORT@@ -U @@ADMIN_USER@@ -d @@DB_NAME@@; do sleep 5; done
docker exec -i @@CONTAINER@@ psql -X -q -v ON_ERROR_STOP=1 -U @@ADMIN_USER@@ -d @@DB_NAME@@ \\
  -v db=@@DB_NAME@@ -v sync_role=@@SYNC_USER@@ -v reader_role=@@READER_USER@@ \\
  -v sync_password_file=@@CONTAINER_SECRETS_DIR@@/@@SYNC_PASSWORD_FILE@@ \\
  -v reader_password_file=@@CONTAINER_SECRETS_DIR@@/@@READER_PASSWORD_FILE@@ \\
  < /etc/aqe/init-db.sql
echo "database bootstrap applied"
`;

/**
 * The database bootstrap (psql script, run by the superuser at every boot): the extension, the
 * image's demo login locked, the functions' role owning schema aqe, a read-only role, and nothing
 * for PUBLIC. Roles get their password once, at creation; afterwards rotateSecret owns it.
 */
export const BOOTSTRAP_SQL = `-- aqe database bootstrap (idempotent; variables: db, sync_role, reader_role, *_password_file)
-- A failing statement is never written to the server log: one of them may carry a password.
SET log_min_error_statement = panic;
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'ruvector') AS has_ruvector \\gset
\\if :has_ruvector
CREATE EXTENSION IF NOT EXISTS ruvector;
\\else
\\warn 'aqe bootstrap: extension ruvector is not available on this server: the loader uses dialect none (exact search, no vector index)'
\\endif
-- The superuser logs in only here, over the local socket: no password, so no network login at all.
ALTER ROLE CURRENT_USER PASSWORD NULL;
-- The image's init script creates LOGIN role ruvector with the well-known password "ruvector".
DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ruvector') AND current_user <> 'ruvector' THEN
    ALTER ROLE ruvector NOLOGIN;
  END IF;
END
$do$;
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'sync_role') AS create_sync_role \\gset
\\if :create_sync_role
\\set sync_password \`cat :'sync_password_file'\`
CREATE ROLE :"sync_role" LOGIN PASSWORD :'sync_password';
\\unset sync_password
\\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader_role') AS create_reader_role \\gset
\\if :create_reader_role
\\set reader_password \`cat :'reader_password_file'\`
CREATE ROLE :"reader_role" LOGIN PASSWORD :'reader_password';
\\unset reader_password
\\endif
ALTER ROLE :"sync_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"reader_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"reader_role" SET default_transaction_read_only = on;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
-- TEMPORARY: the loader stages rows in temporary tables. CREATE: migration 001 runs
-- CREATE SCHEMA IF NOT EXISTS aqe, and PostgreSQL checks that right before it sees the schema exists.
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE :"db" TO :"sync_role";
GRANT CONNECT ON DATABASE :"db" TO :"reader_role";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS aqe AUTHORIZATION :"sync_role";
ALTER SCHEMA aqe OWNER TO :"sync_role";
GRANT USAGE ON SCHEMA aqe TO :"reader_role";
GRANT SELECT ON ALL TABLES IN SCHEMA aqe TO :"reader_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"sync_role" IN SCHEMA aqe GRANT SELECT ON TABLES TO :"reader_role";
`;

const healthScript = `#!/bin/bash
# Every minute: is PostgreSQL accepting connections, and how full is the data disk? Written as
# custom metrics on this instance; the "PostgreSQL down" and "data disk" alerts watch them.
set -euo pipefail
MD=http://metadata.google.internal/computeMetadata/v1
md() { curl -sSf -H 'Metadata-Flavor: Google' "$MD/$1"; }
up=0
if docker exec @@CONTAINER@@ pg_isready -q -h 127.0.0.1 -p @@PORT@@ -U @@ADMIN_USER@@ -d @@DB_NAME@@; then up=1; fi
used="$(df --output=pcent @@MOUNT@@ 2> /dev/null | tail -n 1 | tr -dc '0-9')" || used=""
tok="$(md instance/service-accounts/default/token | tr -d '\\n ' | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')"
id="$(md instance/id)"
zone="$(md instance/zone)"
zone="\${zone##*/}"
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
series() {
  printf '{"metric":{"type":"%s"},"resource":{"type":"gce_instance","labels":{"project_id":"%s","instance_id":"%s","zone":"%s"}},"points":[{"interval":{"endTime":"%s"},"value":{"int64Value":"%s"}}]}' \\
    "$1" "@@PROJECT@@" "$id" "$zone" "$now" "$2"
}
body="{\\"timeSeries\\":[$(series @@METRIC_UP@@ "$up"),$(series @@METRIC_DISK@@ "\${used:-0}")]}"
printf 'header = "Authorization: Bearer %s"\\nheader = "Content-Type: application/json"\\n' "$tok" \\
  | curl -sSf -K - -X POST --data-binary "$body" "https://monitoring.googleapis.com/v3/projects/@@PROJECT@@/timeSeries" > /dev/null
echo "postgres_up=$up data_disk_used_percent=\${used:-unknown}"
`;

const diskUnit = `[Unit]
Description=Format (only a blank disk) and mount the ruvector data disk
Before=aqe-postgres.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/bash /etc/aqe/mount-data-disk.sh
`;

const secretsUnit = `[Unit]
Description=Fetch the database roles' passwords from Secret Manager into @@RUN_DIR@@
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
ExecStart=/bin/bash /etc/aqe/fetch-db-secrets.sh
`;

const initUnit = `[Unit]
Description=Bootstrap the database (extension, roles, schema, grants) once Postgres is ready
Requires=aqe-postgres.service
After=aqe-postgres.service

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=1800
ExecStart=/bin/bash /etc/aqe/init-db.sh
`;

const healthUnit = `[Unit]
Description=Report PostgreSQL health and data disk use as custom metrics
After=aqe-postgres.service

[Service]
Type=oneshot
ExecStart=/bin/bash /etc/aqe/pg-health.sh
`;

const healthTimer = `[Unit]
Description=Report PostgreSQL health every minute

[Timer]
OnActiveSec=60
OnUnitActiveSec=60
AccuracySec=5
`;

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l.length > 0 ? pad + l : l))
    .join('\n');
}

function fill(template: string, input: DatabaseCloudConfigInput): string {
  const values: Record<string, string> = {
    PROJECT: input.project,
    SYNC_SECRET_ID: input.syncSecretId,
    READER_SECRET_ID: input.readerSecretId,
    IMAGE: input.image,
    DB_NAME: input.dbName,
    ADMIN_USER: input.adminUser,
    SYNC_USER: input.syncUser,
    READER_USER: input.readerUser,
    DEVICE: input.dataDeviceName,
    PORT: input.port,
    CONTAINER: VM_PATHS.container,
    MOUNT: VM_PATHS.mount,
    RUN_DIR: VM_PATHS.runDir,
    CONTAINER_SECRETS_DIR: VM_PATHS.containerSecretsDir,
    ADMIN_PASSWORD_FILE: VM_PATHS.adminPasswordFile,
    SYNC_PASSWORD_FILE: VM_PATHS.syncPasswordFile,
    READER_PASSWORD_FILE: VM_PATHS.readerPasswordFile,
    METRIC_UP: VM_METRICS.postgresUp,
    METRIC_DISK: VM_METRICS.dataDiskUsedPercent,
  };
  return template.replace(/@@([A-Z_]+)@@/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`cloud-config template: unknown placeholder @@${key}@@`);
    return v;
  });
}

/** The `docker run` argv of the database container (the password itself never appears: only the file). */
export function databaseDockerRun(input: DatabaseCloudConfigInput): string[] {
  const secrets = VM_PATHS.containerSecretsDir;
  return [
    '/usr/bin/docker', 'run', '--rm', `--name=${VM_PATHS.container}`, '--network=host', '--shm-size=256m', '--log-driver=gcplogs',
    '-v', `${VM_PATHS.mount}:/var/lib/postgresql/data`,
    '-v', `${VM_PATHS.runDir}:${secrets}:ro`,
    // The image bakes POSTGRES_PASSWORD in: empty it, or the entrypoint refuses _FILE and exits.
    '-e', 'POSTGRES_PASSWORD=',
    '-e', `POSTGRES_PASSWORD_FILE=${secrets}/${VM_PATHS.adminPasswordFile}`,
    '-e', `POSTGRES_USER=${input.adminUser}`,
    '-e', `POSTGRES_DB=${input.dbName}`,
    '-e', 'POSTGRES_INITDB_ARGS=--data-checksums',
    '-e', 'POSTGRES_HOST_AUTH_METHOD=scram-sha-256',
    '-e', `PGDATA=${VM_PATHS.pgdata}`,
    '-e', `PGPORT=${input.port}`,
    input.image,
  ];
}

/** What the stack expects of the container (see container-contract.ts). */
export function containerExpectations(input: DatabaseCloudConfigInput): ContainerExpectations {
  return { superuser: input.adminUser, database: input.dbName, port: Number(input.port), connectingRoles: [input.syncUser, input.readerUser] };
}

function postgresUnit(input: DatabaseCloudConfigInput): string {
  const run = databaseDockerRun(input);
  // one option (and its value) per line, for review
  const first = run.indexOf('-v');
  const lines = [run.slice(0, first).join(' ')];
  for (let i = first; i < run.length; i++) {
    const w = run[i]!;
    lines.push(w === '-v' || w === '-e' ? `${w} ${run[++i]}` : w);
  }
  const login = input.registryHost
    ? `Environment=HOME=${VM_PATHS.dockerHome}\nExecStartPre=/usr/bin/docker-credential-gcr configure-docker --registries=${input.registryHost}\n`
    : '';
  return `[Unit]
Description=ruvector-postgres (${input.image})
Requires=docker.service aqe-data-disk.service aqe-db-secrets.service
After=docker.service aqe-data-disk.service aqe-db-secrets.service

[Service]
${login}ExecStartPre=-/usr/bin/docker rm -f ${VM_PATHS.container}
ExecStart=${lines.join(' \\\n  ')}
ExecStop=/usr/bin/docker stop -t 60 ${VM_PATHS.container}
Restart=always
RestartSec=10
TimeoutStartSec=900
TimeoutStopSec=90
`;
}

/** A file cloud-init writes. */
export interface CloudConfigFile {
  readonly path: string;
  readonly permissions: string;
  readonly content: string;
}

/** The files of the cloud-config, rendered (exposed for the rehearsal and for review). */
export function databaseBootFiles(input: DatabaseCloudConfigInput): CloudConfigFile[] {
  return [
    { path: '/etc/aqe/mount-data-disk.sh', permissions: '0700', content: fill(mountScript, input) },
    { path: '/etc/aqe/fetch-db-secrets.sh', permissions: '0700', content: fill(secretsScript, input) },
    { path: '/etc/aqe/init-db.sh', permissions: '0700', content: fill(initScript, input) },
    { path: '/etc/aqe/init-db.sql', permissions: '0600', content: BOOTSTRAP_SQL },
    { path: '/etc/aqe/pg-health.sh', permissions: '0700', content: fill(healthScript, input) },
    { path: `/etc/systemd/system/${VM_UNITS.dataDisk}`, permissions: '0644', content: diskUnit },
    { path: `/etc/systemd/system/${VM_UNITS.secrets}`, permissions: '0644', content: fill(secretsUnit, input) },
    { path: `/etc/systemd/system/${VM_UNITS.postgres}`, permissions: '0644', content: postgresUnit(input) },
    { path: `/etc/systemd/system/${VM_UNITS.bootstrap}`, permissions: '0644', content: initUnit },
    { path: `/etc/systemd/system/${VM_UNITS.health}`, permissions: '0644', content: healthUnit },
    { path: `/etc/systemd/system/${VM_UNITS.healthTimer}`, permissions: '0644', content: healthTimer },
  ];
}

/**
 * The `#cloud-config` document for the database VM's `user-data` metadata key. Throws when the
 * container's run line breaks the image contract (so a bad line fails `cdktf synth`, not a boot).
 */
export function renderDatabaseCloudConfig(input: DatabaseCloudConfigInput): string {
  const check = checkDockerRun(parseDockerRun(splitCommandLine(databaseDockerRun(input).join(' '))), containerExpectations(input));
  if (check.violations.length > 0) throw new Error(`the database container breaks the image contract:\n  - ${check.violations.join('\n  - ')}`);
  const writeFiles = databaseBootFiles(input)
    .map((f) => `- path: ${f.path}\n  permissions: '${f.permissions}'\n  owner: root\n  content: |\n${indent(f.content, 4)}`)
    .join('\n');
  // COS drops unsolicited inbound traffic in its host firewall except SSH: open the DB port.
  // cloud-init runs on every boot on COS (/etc is stateless), so these commands must be idempotent.
  const port = input.port;
  const runcmd = [
    `iptables -w -C INPUT -p tcp --dport ${port} -j ACCEPT || iptables -w -I INPUT 1 -p tcp --dport ${port} -j ACCEPT`,
    'systemctl daemon-reload',
    `systemctl start --no-block ${VM_UNITS.postgres} ${VM_UNITS.bootstrap} ${VM_UNITS.healthTimer}`,
  ];
  return `#cloud-config\n\nwrite_files:\n${writeFiles}\n\nruncmd:\n${runcmd.map((c) => `- '${c}'`).join('\n')}\n`;
}
