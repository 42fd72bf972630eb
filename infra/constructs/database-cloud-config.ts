// Renders the Container-Optimized OS cloud-config (`user-data`) that runs ruvector-postgres:
// systemd units to mount the data disk, fetch the password from Secret Manager, run the container
// and create the extension. Pure: the same input gives the same text (no secrets ever in it).

export interface DatabaseCloudConfigInput {
  /** Project id of the secret. */
  readonly project: string;
  /** Secret Manager secret id holding the password (read at boot, latest version). */
  readonly secretId: string;
  /** Docker image, pinned by tag or digest. */
  readonly image: string;
  readonly dbName: string;
  readonly dbUser: string;
  /** Device name of the attached data disk (appears as /dev/disk/by-id/google-<name>). */
  readonly dataDeviceName: string;
  readonly port: string;
}

/** Container name, mount point and password file on the VM. */
export const VM_PATHS = {
  container: 'aqe-postgres',
  mount: '/mnt/disks/ruvector-data',
  passwordFile: '/run/aqe/pg-password',
  containerPasswordFile: '/run/secrets/pg-password',
} as const;

const mountScript = `#!/bin/bash
# Formats the data disk only when it holds no filesystem yet, then mounts it. Idempotent.
set -euo pipefail
DEV=/dev/disk/by-id/google-@@DEVICE@@
MNT=@@MOUNT@@
for _ in $(seq 1 60); do [ -e "$DEV" ] && break; sleep 2; done
if [ -z "$(lsblk -fn -o FSTYPE "$DEV" | tr -d '[:space:]')" ]; then
  mkfs.ext4 -m 0 -F -E lazy_itable_init=0,lazy_journal_init=0,discard "$DEV"
fi
mkdir -p "$MNT"
mountpoint -q "$MNT" || mount -o discard,defaults,nodev,nosuid "$DEV" "$MNT"
resize2fs "$DEV" || true
`;

const passwordScript = `#!/bin/bash
# Reads the DB password from Secret Manager with the VM service account's token (metadata server,
# Private Google Access: no external IP needed) into a 0600 file under /run (tmpfs, never on disk).
set -euo pipefail
SECRET=projects/@@PROJECT@@/secrets/@@SECRET_ID@@/versions/latest
OUT=@@PASSWORD_FILE@@
umask 077
mkdir -p "$(dirname "$OUT")"
fetch() {
  local token data
  token="$(curl -sSf -H 'Metadata-Flavor: Google' \\
    http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token \\
    | tr -d '\\n ' | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')"
  [ -n "$token" ] || return 1
  data="$(curl -sSf -H "Authorization: Bearer $token" "https://secretmanager.googleapis.com/v1/$SECRET:access" \\
    | tr -d '\\n ' | sed -n 's/.*"data":"\\([^"]*\\)".*/\\1/p')"
  [ -n "$data" ] || return 1
  printf '%s' "$data" | base64 -d > "$OUT.tmp"
}
# The first version is added out of band (DEPLOY.md); until then, wait instead of failing the boot.
until fetch; do echo "cannot read $SECRET yet (no version, or IAM not propagated); retrying in 30s" >&2; sleep 30; done
chown 999:999 "$OUT.tmp"   # uid/gid of postgres in the image
chmod 0600 "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
`;

const initScript = `#!/bin/bash
# Waits until the server accepts TCP connections (not the entrypoint's socket-only init server),
# then applies /etc/aqe/init-db.sql over the container's local socket.
set -euo pipefail
until docker exec @@CONTAINER@@ pg_isready -q -h 127.0.0.1 -p @@PORT@@ -U @@DB_USER@@ -d @@DB_NAME@@; do sleep 5; done
docker exec -i @@CONTAINER@@ psql -v ON_ERROR_STOP=1 -U @@DB_USER@@ -d @@DB_NAME@@ < /etc/aqe/init-db.sql
`;

// The image's own init script creates a LOGIN role "ruvector" with a well-known password: lock it.
const initSql = `CREATE EXTENSION IF NOT EXISTS ruvector;
DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ruvector') AND current_user <> 'ruvector' THEN
    ALTER ROLE ruvector NOLOGIN;
  END IF;
END
$do$;
`;

const diskUnit = `[Unit]
Description=Format (if needed) and mount the ruvector data disk
Before=aqe-postgres.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/bash /etc/aqe/mount-data-disk.sh
`;

const passwordUnit = `[Unit]
Description=Fetch the database password from Secret Manager into /run/aqe
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
ExecStart=/bin/bash /etc/aqe/fetch-db-password.sh
`;

const postgresUnit = `[Unit]
Description=ruvector-postgres (@@IMAGE@@)
Requires=docker.service aqe-data-disk.service aqe-db-password.service
After=docker.service aqe-data-disk.service aqe-db-password.service

[Service]
ExecStartPre=-/usr/bin/docker rm -f @@CONTAINER@@
ExecStart=/usr/bin/docker run --rm --name=@@CONTAINER@@ --network=host --shm-size=256m --log-driver=gcplogs \\
  -v @@MOUNT@@:/var/lib/postgresql/data \\
  -v @@PASSWORD_FILE@@:@@CONTAINER_PASSWORD_FILE@@:ro \\
  -e POSTGRES_PASSWORD_FILE=@@CONTAINER_PASSWORD_FILE@@ \\
  -e POSTGRES_USER=@@DB_USER@@ \\
  -e POSTGRES_DB=@@DB_NAME@@ \\
  -e PGDATA=/var/lib/postgresql/data/pgdata \\
  -e PGPORT=@@PORT@@ \\
  @@IMAGE@@
ExecStop=/usr/bin/docker stop -t 60 @@CONTAINER@@
Restart=always
RestartSec=10
TimeoutStartSec=900
TimeoutStopSec=90
`;

const initUnit = `[Unit]
Description=Create the ruvector extension once Postgres is ready
Requires=aqe-postgres.service
After=aqe-postgres.service

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=1800
ExecStart=/bin/bash /etc/aqe/init-db.sh
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
    SECRET_ID: input.secretId,
    IMAGE: input.image,
    DB_NAME: input.dbName,
    DB_USER: input.dbUser,
    DEVICE: input.dataDeviceName,
    PORT: input.port,
    CONTAINER: VM_PATHS.container,
    MOUNT: VM_PATHS.mount,
    PASSWORD_FILE: VM_PATHS.passwordFile,
    CONTAINER_PASSWORD_FILE: VM_PATHS.containerPasswordFile,
  };
  return template.replace(/@@([A-Z_]+)@@/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`cloud-config template: unknown placeholder @@${key}@@`);
    return v;
  });
}

/** The `#cloud-config` document for the database VM's `user-data` metadata key. */
export function renderDatabaseCloudConfig(input: DatabaseCloudConfigInput): string {
  const files: Array<{ path: string; permissions: string; content: string }> = [
    { path: '/etc/aqe/mount-data-disk.sh', permissions: '0700', content: mountScript },
    { path: '/etc/aqe/fetch-db-password.sh', permissions: '0700', content: passwordScript },
    { path: '/etc/aqe/init-db.sh', permissions: '0700', content: initScript },
    { path: '/etc/aqe/init-db.sql', permissions: '0600', content: initSql },
    { path: '/etc/systemd/system/aqe-data-disk.service', permissions: '0644', content: diskUnit },
    { path: '/etc/systemd/system/aqe-db-password.service', permissions: '0644', content: passwordUnit },
    { path: '/etc/systemd/system/aqe-postgres.service', permissions: '0644', content: postgresUnit },
    { path: '/etc/systemd/system/aqe-db-init.service', permissions: '0644', content: initUnit },
  ];
  const writeFiles = files
    .map((f) => `- path: ${f.path}\n  permissions: '${f.permissions}'\n  owner: root\n  content: |\n${indent(fill(f.content, input), 4)}`)
    .join('\n');
  // COS drops unsolicited inbound traffic in its host firewall except SSH: open the DB port.
  // cloud-init runs on every boot on COS (/etc is stateless), so these commands must be idempotent.
  const port = input.port;
  const runcmd = [
    `iptables -w -C INPUT -p tcp --dport ${port} -j ACCEPT || iptables -w -I INPUT 1 -p tcp --dport ${port} -j ACCEPT`,
    'systemctl daemon-reload',
    'systemctl start --no-block aqe-postgres.service aqe-db-init.service',
  ];
  return `#cloud-config\n\nwrite_files:\n${writeFiles}\n\nruncmd:\n${runcmd.map((c) => `- '${c}'`).join('\n')}\n`;
}
