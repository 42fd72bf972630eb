// A stand-in of systemd for the subset the database VM's units use, run inside the rehearsal's VM
// sandbox: unit files from /etc/systemd/system, Requires=/Wants=/After= ordering, Type=oneshot
// (RemainAfterExit) and simple services, ExecStartPre/ExecStart/ExecStop with the `-` prefix,
// Environment=, Restart=always with RestartSec, and timers (OnActiveSec/OnUnitActiveSec). Times are
// multiplied by SANDBOX_TIME_SCALE. Every line a unit prints goes to the journal
// ($SANDBOX_STATE/journal.jsonl); unit states to $SANDBOX_STATE/units.json.
//
//   systemd.ts manager                   the service manager (started by the sandbox driver)
//   systemd.ts systemctl <args…>         the `systemctl` command (talks to the manager's socket)
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { basename, join } from 'node:path';

const STATE = process.env.SANDBOX_STATE ?? '';
const BIN = process.env.SANDBOX_BIN ?? '';
const SCALE = Number(process.env.SANDBOX_TIME_SCALE ?? '1');
const SOCKET = join(STATE, 'systemd.sock');
const UNIT_DIR = '/etc/systemd/system';
/** Units the VM image provides (not written by cloud-init): always active here. */
const BUILT_IN = new Set(['docker.service', 'network-online.target', 'network.target']);
/** A crash-looping service stops being restarted after this many restarts (systemd's start limit, simplified). */
const MAX_RESTARTS = 40;

type ActiveState = 'inactive' | 'activating' | 'active' | 'deactivating' | 'failed';

interface UnitFile {
  name: string;
  sections: Record<string, Array<[string, string]>>;
}

interface UnitState {
  state: ActiveState;
  result: string;
  restarts: number;
  starts: number;
  mainPid: number | null;
}

function parseUnit(name: string, text: string): UnitFile {
  const sections: UnitFile['sections'] = {};
  let current = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      current = sec[1]!;
      sections[current] ??= [];
      continue;
    }
    const i = line.indexOf('=');
    if (i < 0) continue;
    (sections[current] ??= []).push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return { name, sections };
}

function values(u: UnitFile, section: string, key: string): string[] {
  return (u.sections[section] ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

function seconds(v: string | undefined, fallback: number): number {
  if (!v) return fallback;
  if (v === 'infinity') return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)?$/.exec(v);
  if (!m) return fallback;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'min' ? n * 60 : n;
}

function journal(unit: string, stream: string, line: string): void {
  appendFileSync(join(STATE, 'journal.jsonl'), `${JSON.stringify({ t: Date.now(), unit, stream, line })}\n`);
}

function record(tool: string, argv: string[]): void {
  appendFileSync(join(STATE, 'calls.jsonl'), `${JSON.stringify({ t: Date.now(), tool, argv })}\n`);
}

/** An Exec line as systemd runs it: no shell; `-` ignores failure; a binary the VM image ships runs as its stand-in. */
function execWords(line: string): { ignoreFailure: boolean; argv: string[] } {
  let l = line.trim();
  const ignoreFailure = l.startsWith('-');
  if (ignoreFailure) l = l.slice(1);
  const argv = l.split(/\s+/).filter(Boolean);
  const stub = BIN ? join(BIN, basename(argv[0]!)) : '';
  if (stub && existsSync(stub)) argv[0] = stub;
  return { ignoreFailure, argv };
}

class Manager {
  private readonly states = new Map<string, UnitState>();
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly mains = new Map<string, ChildProcess>();
  private readonly stopping = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private files = new Map<string, UnitFile>();

  reload(): void {
    this.files = new Map();
    if (!existsSync(UNIT_DIR)) return;
    for (const f of readdirSync(UNIT_DIR)) {
      if (/\.(service|timer|target)$/.test(f)) this.files.set(f, parseUnit(f, readFileSync(join(UNIT_DIR, f), 'utf8')));
    }
  }

  state(unit: string): UnitState {
    let s = this.states.get(unit);
    if (!s) {
      s = { state: BUILT_IN.has(unit) ? 'active' : 'inactive', result: 'success', restarts: 0, starts: 0, mainPid: null };
      this.states.set(unit, s);
    }
    return s;
  }

  private save(): void {
    // atomically: the rehearsal reads it while units change
    writeFileSync(join(STATE, 'units.json.tmp'), JSON.stringify(Object.fromEntries(this.states), null, 1));
    renameSync(join(STATE, 'units.json.tmp'), join(STATE, 'units.json'));
  }

  private set(unit: string, patch: Partial<UnitState>): void {
    Object.assign(this.state(unit), patch);
    this.save();
  }

  /** Starts a unit and what it requires; resolves when it is active (oneshot: exited) or failed. */
  start(unit: string): Promise<void> {
    const running = this.jobs.get(unit);
    if (running) return running;
    const s = this.state(unit);
    if (s.state === 'active' || BUILT_IN.has(unit)) return Promise.resolve();
    const job = this.run(unit).finally(() => this.jobs.delete(unit));
    this.jobs.set(unit, job);
    return job;
  }

  private async run(unit: string): Promise<void> {
    const file = this.files.get(unit);
    if (!file) {
      this.set(unit, { state: 'failed', result: 'not-found' });
      journal(unit, 'systemd', `Unit ${unit} not found.`);
      return;
    }
    this.set(unit, { state: 'activating' });
    const requires = [...values(file, 'Unit', 'Requires'), ...values(file, 'Unit', 'Wants')].flatMap((v) => v.split(/\s+/)).filter(Boolean);
    const after = values(file, 'Unit', 'After').flatMap((v) => v.split(/\s+/)).filter(Boolean);
    await Promise.all(requires.map((d) => this.start(d)));
    // After= orders against units in this transaction (being started or requested)
    await Promise.all(after.map((d) => this.jobs.get(d)?.catch(() => undefined)));
    const failedDep = values(file, 'Unit', 'Requires').flatMap((v) => v.split(/\s+/)).find((d) => this.state(d).state === 'failed');
    if (failedDep) {
      journal(unit, 'systemd', `Dependency failed for ${unit} (${failedDep}).`);
      this.set(unit, { state: 'failed', result: 'dependency' });
      return;
    }
    if (unit.endsWith('.timer')) return this.startTimer(unit, file);
    if (unit.endsWith('.target')) return this.set(unit, { state: 'active' });
    const env = { ...process.env, ...Object.fromEntries(values(file, 'Service', 'Environment').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])) };
    const type = values(file, 'Service', 'Type')[0] ?? 'simple';
    this.state(unit).starts++;
    for (const pre of values(file, 'Service', 'ExecStartPre')) {
      const { ignoreFailure, argv } = execWords(pre);
      const code = await this.exec(unit, argv, env);
      if (code !== 0 && !ignoreFailure) {
        journal(unit, 'systemd', `${unit}: control process exited, code=exited, status=${code}`);
        return this.set(unit, { state: 'failed', result: 'exit-code' });
      }
    }
    if (type === 'oneshot') {
      for (const line of values(file, 'Service', 'ExecStart')) {
        const { ignoreFailure, argv } = execWords(line);
        const code = await this.exec(unit, argv, env);
        if (code !== 0 && !ignoreFailure) {
          journal(unit, 'systemd', `${unit}: Main process exited, code=exited, status=${code}/FAILURE`);
          return this.set(unit, { state: 'failed', result: 'exit-code' });
        }
      }
      const remain = values(file, 'Service', 'RemainAfterExit')[0] === 'yes';
      journal(unit, 'systemd', `Finished ${unit}.`);
      return this.set(unit, { state: remain ? 'active' : 'inactive', result: 'success' });
    }
    this.spawnMain(unit, file, env);
  }

  private spawnMain(unit: string, file: UnitFile, env: NodeJS.ProcessEnv): void {
    const { argv } = execWords(values(file, 'Service', 'ExecStart')[0] ?? '');
    const child = this.spawnLogged(unit, argv, env);
    this.mains.set(unit, child);
    this.set(unit, { state: 'active', mainPid: child.pid ?? null });
    journal(unit, 'systemd', `Started ${unit}.`);
    child.on('exit', (code, signal) => {
      this.mains.delete(unit);
      if (this.stopping.has(unit)) return;
      journal(unit, 'systemd', `${unit}: Main process exited, code=${signal ? 'killed' : 'exited'}, status=${code ?? signal}`);
      const s = this.state(unit);
      if (values(file, 'Service', 'Restart')[0] === 'always' && s.restarts < MAX_RESTARTS) {
        this.set(unit, { state: 'activating', result: 'exit-code', mainPid: null, restarts: s.restarts + 1 });
        const delay = seconds(values(file, 'Service', 'RestartSec')[0], 0.1) * SCALE * 1000;
        setTimeout(() => {
          if (this.stopping.has(unit)) return;
          journal(unit, 'systemd', `${unit}: Scheduled restart job, restart counter is at ${this.state(unit).restarts}.`);
          void (async () => {
            for (const pre of values(file, 'Service', 'ExecStartPre')) {
              const { argv: a } = execWords(pre);
              await this.exec(unit, a, env);
            }
            this.spawnMain(unit, file, env);
          })();
        }, delay);
      } else {
        this.set(unit, { state: 'failed', result: 'exit-code', mainPid: null });
      }
    });
  }

  private startTimer(unit: string, file: UnitFile): void {
    const service = values(file, 'Timer', 'Unit')[0] ?? unit.replace(/\.timer$/, '.service');
    const first = seconds(values(file, 'Timer', 'OnActiveSec')[0], 0) * SCALE * 1000;
    const every = seconds(values(file, 'Timer', 'OnUnitActiveSec')[0], 0) * SCALE * 1000;
    const fire = () => {
      this.set(service, { state: 'inactive' });
      void this.start(service).then(() => {
        if (every > 0 && this.timers.has(unit)) this.timers.set(unit, setTimeout(fire, every));
      });
    };
    this.timers.set(unit, setTimeout(fire, first));
    this.set(unit, { state: 'active' });
  }

  private spawnLogged(unit: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
    record('systemd-exec', [unit, ...argv]);
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [stream, s] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
      let buf = '';
      s?.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          journal(unit, stream, buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      s?.on('end', () => buf && journal(unit, stream, buf));
    }
    child.on('error', (err) => journal(unit, 'systemd', `Failed to execute ${argv[0]}: ${err.message}`));
    return child;
  }

  private exec(unit: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    return new Promise((resolve) => {
      const child = this.spawnLogged(unit, argv, env);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      child.on('error', () => resolve(127));
    });
  }

  async stop(unit: string): Promise<void> {
    const file = this.files.get(unit);
    const timer = this.timers.get(unit);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(unit);
      return this.set(unit, { state: 'inactive' });
    }
    this.stopping.add(unit);
    this.set(unit, { state: 'deactivating' });
    const main = this.mains.get(unit);
    const env = { ...process.env };
    for (const line of file ? values(file, 'Service', 'ExecStop') : []) {
      const { argv } = execWords(line);
      await this.exec(unit, argv, env);
    }
    if (main && main.exitCode === null && main.signalCode === null) {
      const timeout = seconds(file ? values(file, 'Service', 'TimeoutStopSec')[0] : undefined, 90) * 1000;
      const exited = new Promise<void>((r) => main.once('exit', () => r()));
      main.kill('SIGTERM');
      const killer = setTimeout(() => main.kill('SIGKILL'), Math.min(timeout, 30_000));
      await exited;
      clearTimeout(killer);
    }
    this.stopping.delete(unit);
    this.set(unit, { state: 'inactive', mainPid: null });
    journal(unit, 'systemd', `Stopped ${unit}.`);
  }

  /** Stops every unit in reverse start order, then exits: the VM powering off. */
  async poweroff(): Promise<void> {
    for (const t of [...this.timers.keys()]) await this.stop(t);
    const order = [...this.states.keys()].reverse();
    for (const u of order) if (this.state(u).state === 'active' || this.mains.has(u)) await this.stop(u);
  }
}

async function serve(): Promise<void> {
  rmSync(SOCKET, { force: true });
  const m = new Manager();
  m.reload();
  const server = net.createServer((conn) => {
    let buf = '';
    conn.on('data', (d) => {
      buf += d.toString('utf8');
      if (!buf.endsWith('\n')) return;
      const req = JSON.parse(buf) as { cmd: string; units: string[]; block: boolean };
      void (async () => {
        const reply = (code: number, out = '') => conn.end(`${JSON.stringify({ code, out })}\n`);
        switch (req.cmd) {
          case 'daemon-reload':
            m.reload();
            return reply(0);
          case 'start': {
            const jobs = req.units.map((u) => m.start(u));
            if (req.block) {
              await Promise.all(jobs);
              const failed = req.units.filter((u) => m.state(u).state === 'failed');
              return reply(failed.length ? 1 : 0, failed.length ? `Job for ${failed.join(', ')} failed.` : '');
            }
            return reply(0);
          }
          case 'stop':
            for (const u of req.units) await m.stop(u);
            return reply(0);
          case 'is-active': {
            const s = m.state(req.units[0]!).state;
            return reply(s === 'active' ? 0 : 3, s);
          }
          case 'poweroff':
            await m.poweroff();
            reply(0);
            server.close();
            setTimeout(() => process.exit(0), 50);
            return;
          default:
            return reply(1, `unknown command ${req.cmd}`);
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(SOCKET, r));
  writeFileSync(join(STATE, 'systemd.ready'), String(process.pid));
}

async function systemctl(args: string[]): Promise<number> {
  record('systemctl', args);
  const block = !args.includes('--no-block');
  const words = args.filter((a) => !a.startsWith('-'));
  const [cmd = '', ...units] = words;
  const reply = await new Promise<{ code: number; out: string }>((resolve, reject) => {
    const c = net.connect(SOCKET);
    let buf = '';
    c.on('connect', () => c.write(`${JSON.stringify({ cmd, units, block })}\n`));
    c.on('data', (d) => (buf += d.toString('utf8')));
    c.on('end', () => resolve(JSON.parse(buf) as { code: number; out: string }));
    c.on('error', reject);
  });
  if (reply.out) (reply.code === 0 ? process.stdout : process.stderr).write(`${reply.out}\n`);
  return reply.code;
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'manager') {
  void serve();
} else if (mode === 'systemctl') {
  systemctl(rest).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`System has not been booted with the stand-in manager: ${String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  process.stderr.write('usage: systemd.ts manager | systemctl <args…>\n');
  process.exit(2);
}
