// The soak driver (used by test/integration/soak/soak.test.ts and `npm run soak`): a realistic
// workspace, writer processes committing to its SQLite sources (inserts, updates, deletes) for
// the duration, the real `aqe-upload watch` CLI pushing to a file:// bucket and loading each
// snapshot into PostgreSQL, the database polled for each writer's newest marker (lag from commit to
// visible), the watch's RSS sampled; then writers stopped, the last snapshot loaded, the watch
// stopped with SIGTERM, and the real `aqe-upload verify` run against the workspace and database.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { buildWorkspace } from '../support/workspace-builder.js';
import type { SoakWriterConfig, SoakWriterKind, WriterCounts } from './soak-writer-process.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'uploader', 'cli.ts');
const WRITER_SCRIPT = fileURLToPath(new URL('./soak-writer-process.ts', import.meta.url));
/** tsx's loader by absolute URL, so children do not depend on the working directory. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const ENV_NAME = 'soak';

export interface SoakWriterSpec {
  kind: SoakWriterKind;
  commitsPerSecond: number;
}

export interface SoakOptions {
  /** How long the writers commit (ms). */
  durationMs: number;
  /** postgres:// URL of an empty database the loads go into (the driver never drops it). */
  databaseUrl: string;
  /** Workspace volume (see buildWorkspace); default `plan`. */
  volume?: 'small' | 'plan';
  /** Default: v3-memory (WAL) at 20 commits/s and root-memory (rollback journal) at 8 commits/s. */
  writers?: SoakWriterSpec[];
  /** Flags of the watch (durations as the CLI takes them). */
  watch?: { debounce?: string; maxWait?: string; poll?: string };
  /** Database poll period for the markers (default 250 ms). */
  pollMs?: number;
  /** RSS sample period of the watch process (default 2 s). */
  rssEveryMs?: number;
  /**
   * After verify: each writer commits once more (the watch is stopped, so nothing pushes it) and
   * verify runs again; it must now see those rows missing (proof the first verify compared).
   */
  negativeControl?: boolean;
  /** Keep the temporary folder (workspace + bucket) and report it. */
  keep?: boolean;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
}

export interface LagStats {
  /** Markers whose lag is known (seen in the database). */
  samples: number;
  /** Markers committed but never seen in the database. */
  unseen: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface RssSample {
  /** ms since the soak started (writers started). */
  tMs: number;
  kb: number;
}

export interface VerifyOutcome {
  exitCode: number;
  equal: boolean;
  totals: { pairs: number; differingPairs: number; missing: number; extra: number; different: number } | null;
  /** The pairs (source, table) that differ. */
  differing: unknown[];
  /** stdout + stderr when not equal. */
  output: string;
}

export interface SoakSummary {
  env: string;
  volume: 'small' | 'plan';
  /** The writers' committing time, and the whole run (build → verify). */
  soakMs: number;
  totalMs: number;
  workspace: string | null;
  pushes: {
    total: number;
    ok: number;
    failed: number;
    partial: number;
    byReason: Record<string, number>;
    /** Push + load time of the pushes after the first (full) one. */
    durationP50Ms: number;
    durationMaxMs: number;
    errors: string[];
  };
  /** Load status per push (watch lines), and the database's sync_runs per status. */
  loads: { byStatus: Record<string, number>; syncRuns: Record<string, number> };
  writers: Array<{ kind: SoakWriterKind } & WriterCounts & { visibleMarker: number; lag: LagStats }>;
  /** Rows the writers inserted, updated or deleted. */
  rowsCommitted: number;
  lag: LagStats;
  rss: { samples: RssSample[]; minKb: number; maxKb: number; lastKb: number; firstThirdMaxKb: number };
  watch: { exitCode: number | null; signal: string | null; pid: number };
  verify: VerifyOutcome;
  /** With `negativeControl`: verify after unpushed commits (should differ), or null. */
  control: (VerifyOutcome & { commits: number }) | null;
  /**
   * Processes still running at the end: those the soak started (then killed), and any other new
   * child of this process (reported only).
   */
  leakedPids: number[];
  /** Times (ms) of the phases. */
  phases: Record<string, number>;
}

/** A child process whose stdout is handed over line by line. */
interface Child {
  pid: number;
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  done(): boolean;
}

function startChild(args: string[], onLine: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Child {
  const proc = spawn(process.execPath, ['--import', TSX_LOADER, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let buffer = '';
  let errText = '';
  let finished = false;
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let i = buffer.indexOf('\n');
    while (i !== -1) {
      onLine(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf('\n');
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    errText = (errText + d).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      finished = true;
      resolve({ code, signal });
    }),
  );
  return { pid: proc.pid ?? -1, proc, stderr: () => errText, exited, done: () => finished };
}

/** A clean environment for the CLI: none of the caller's AQE_* settings; embeddings left pending. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AQE_') && k !== 'STORAGE_EMULATOR_HOST') env[k] = v;
  return { ...env, AQE_EMBED_BUDGET_SECONDS: '0' };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`soak: ${what}: not after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Nearest-rank percentile of sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

function lagStats(lags: number[], unseen: number): LagStats {
  const sorted = [...lags].sort((a, b) => a - b);
  return { samples: sorted.length, unseen, p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95), maxMs: sorted.at(-1) ?? Number.NaN };
}

/** Resident set size of a process in kB (/proc/<pid>/status VmRSS), or null when it is gone. */
export function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The processes whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "<pid> (<comm>) <state> <ppid> …": comm may hold spaces and parentheses
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

/** Where each writer kind's markers land in the cloud: the newest one present, as a number. */
const MARKER_QUERIES: Record<SoakWriterKind, string> = {
  'v3-memory': `SELECT MAX(substr(key, 8)::bigint) AS m FROM aqe.kv_entries WHERE source_env = $1 AND source_id = 'v3-memory' AND namespace = 'soak'`,
  'root-memory': `SELECT MAX(substr(key, 13)::bigint) AS m FROM aqe.memory_entries WHERE source_env = $1 AND source_id = 'root-memory' AND partition = 'soak'`,
};
const WRITER_PATHS: Record<SoakWriterKind, string> = {
  'v3-memory': join('v3', '.agentic-qe', 'memory.db'),
  'root-memory': join('.agentic-qe', 'memory.db'),
};

interface WriterRun {
  kind: SoakWriterKind;
  child: Child;
  /** Commit time (epoch ms) per marker, from the writer's `c` lines. */
  committedAt: Map<number, number>;
  /** Each time the newest marker seen in the database went up: when and to what. */
  visibility: Array<{ at: number; marker: number }>;
  counts: WriterCounts | null;
  error: string | null;
  stop(): Promise<WriterCounts>;
}

async function startWriter(kind: SoakWriterKind, dbPath: string, commitsPerSecond: number, seed: number): Promise<WriterRun> {
  const config: SoakWriterConfig = { kind, dbPath, commitsPerSecond, seed };
  let stoppedLine: ((counts: WriterCounts) => void) | null = null;
  const run: WriterRun = {
    kind,
    committedAt: new Map(),
    visibility: [],
    counts: null,
    error: null,
    child: startChild([WRITER_SCRIPT, JSON.stringify(config)], (line) => {
      if (line.startsWith('c ')) {
        const [, marker, at] = line.split(' ');
        run.committedAt.set(Number(marker), Number(at));
      } else if (line.startsWith('stopped ')) {
        run.counts = JSON.parse(line.slice('stopped '.length)) as WriterCounts;
        stoppedLine?.(run.counts);
      } else if (line.startsWith('error ')) run.error = line.slice('error '.length);
    }),
    async stop() {
      if (run.counts) return run.counts;
      const got = new Promise<WriterCounts>((resolve) => (stoppedLine = resolve));
      run.child.proc.stdin?.write('stop\n');
      const result = await Promise.race([got, run.child.exited.then(() => null), sleep(30_000).then(() => null)]);
      await run.child.exited;
      if (result === null && run.counts === null) throw new Error(`soak: the ${kind} writer did not stop cleanly: ${run.error ?? 'no "stopped" line'}; stderr: ${run.child.stderr().trim()}`);
      return run.counts ?? (result as WriterCounts);
    },
  };
  await until(`the ${kind} writer's first commit`, 30_000, () => run.committedAt.size > 0 || run.child.done()).catch(() => undefined);
  if (run.committedAt.size === 0) {
    run.child.proc.kill('SIGKILL');
    await run.child.exited;
    throw new Error(`soak: the ${kind} writer on ${dbPath} did not start: ${run.error ?? 'no commit'}; stderr: ${run.child.stderr().trim()}`);
  }
  return run;
}

/** One JSON line of `aqe-upload watch --json` (the fields read here). */
interface WatchLine {
  at: string;
  reason: string;
  ok: boolean;
  partial: boolean;
  durationMs: number;
  load: { status: string; reason?: string } | null;
  error: { code: string; message: string } | null;
}

/** `aqe-upload verify --json --details` (the real CLI) on the workspace and database. */
async function runVerify(ws: string, databaseUrl: string, spawned: Child[]): Promise<VerifyOutcome> {
  const out: string[] = [];
  const child = startChild([CLI, 'verify', '-w', ws, '--env', ENV_NAME, '--database', databaseUrl, '--json', '--details'], (line) => out.push(line), cliEnv());
  spawned.push(child);
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 180_000);
  const exit = await child.exited;
  clearTimeout(timer);
  let json: { equal?: boolean; totals?: VerifyOutcome['totals']; pairs?: Array<{ equal: boolean }> } = {};
  try {
    json = JSON.parse(out.join('\n')) as typeof json;
  } catch {
    // reported through `output`
  }
  return {
    exitCode: exit.code ?? -1,
    equal: json.equal === true,
    totals: json.totals ?? null,
    differing: (json.pairs ?? []).filter((p) => !p.equal),
    output: json.equal === true ? '' : `${out.join('\n').slice(0, 4000)}\n${child.stderr().slice(-2000)}`,
  };
}

/**
 * Runs one soak and returns its summary; it throws only when the setup fails (a child that does
 * not start, a database that cannot be reached): the outcomes are for the caller to judge.
 * @example const s = await runSoak({ durationMs: 60_000, databaseUrl }); expect(s.verify.equal).toBe(true)
 */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const log = options.log ?? (() => undefined);
  const volume = options.volume ?? 'plan';
  const specs = options.writers ?? [
    { kind: 'v3-memory', commitsPerSecond: 20 },
    { kind: 'root-memory', commitsPerSecond: 8 },
  ];
  const pollMs = options.pollMs ?? 250;
  const rssEveryMs = options.rssEveryMs ?? 2000;
  const phases: Record<string, number> = {};
  const t0 = Date.now();
  const mark = (phase: string, since: number) => (phases[phase] = Date.now() - since);

  const tmp = await mkdtemp(join(tmpdir(), 'aqe-soak-'));
  const ws = join(tmp, 'ws');
  const bucket = pathToFileURL(join(tmp, 'bucket')).href;
  // every process started here (killed by handle, never by a pid that may have been reused)
  const spawned: Child[] = [];
  const childrenBefore = new Set(childPids(process.pid));
  const writers: WriterRun[] = [];
  let watch: Child | null = null;
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  let poller: NodeJS.Timeout | null = null;
  let sampler: NodeJS.Timeout | null = null;
  // if this process exits mid-soak (a test timeout, Ctrl-C), its children go with it
  const killAll = () => {
    for (const c of spawned) if (!c.done()) c.proc.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    let t = Date.now();
    await buildWorkspace(ws, { volume, seed: 11 });
    mark('buildWorkspace', t);
    log(`workspace (${volume}) built in ${phases['buildWorkspace']} ms: ${ws}`);

    // ---- the watch, and its first (full) push + load
    t = Date.now();
    const lines: Array<WatchLine & { receivedAt: number }> = [];
    const w = options.watch ?? {};
    watch = startChild(
      [CLI, 'watch', '-w', ws, '--env', ENV_NAME, '--bucket', bucket, '--database', options.databaseUrl, '--json', '--debounce', w.debounce ?? '500ms', '--max-wait', w.maxWait ?? '2s', '--poll', w.poll ?? '300ms', '--retry-min', '500ms', '--retry-max', '5s'],
      (line) => {
        try {
          lines.push({ ...(JSON.parse(line) as WatchLine), receivedAt: Date.now() });
        } catch {
          lines.push({ at: '', reason: 'unparsable', ok: false, partial: false, durationMs: 0, load: null, error: { code: 'UNPARSABLE', message: line }, receivedAt: Date.now() });
        }
      },
      cliEnv(),
    );
    spawned.push(watch);
    const watchChild = watch;
    await until('the watch\'s first push', 180_000, () => lines.length > 0 || watchChild.done(), 200).catch(() => undefined);
    const first = lines[0];
    if (!first?.ok || first.load?.status !== 'loaded') throw new Error(`soak: the watch's first push did not load: ${JSON.stringify(first ?? null)}\nstderr:\n${watchChild.stderr()}`);
    mark('firstPushAndLoad', t);
    log(`watch pid ${watch.pid}: first push + load in ${phases['firstPushAndLoad']} ms`);

    // ---- soak: writers commit, the database is polled, the watch's RSS is sampled
    const soakStart = Date.now();
    const rss: RssSample[] = [];
    const sample = () => {
      const kb = rssKb(watchChild.pid);
      if (kb !== null) rss.push({ tMs: Date.now() - soakStart, kb });
    };
    sample();
    sampler = setInterval(sample, rssEveryMs);
    for (const [i, spec] of specs.entries()) {
      const run = await startWriter(spec.kind, join(ws, WRITER_PATHS[spec.kind]), spec.commitsPerSecond, 1000 + i);
      spawned.push(run.child);
      writers.push(run);
    }
    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        for (const run of writers) {
          const res = await db.query<{ m: string | null }>(MARKER_QUERIES[run.kind], [ENV_NAME]);
          const at = Date.now();
          const m = res.rows[0]?.m == null ? 0 : Number(res.rows[0].m);
          if (m > (run.visibility.at(-1)?.marker ?? 0)) run.visibility.push({ at, marker: m });
        }
      } finally {
        polling = false;
      }
    };
    poller = setInterval(() => void poll().catch((err: unknown) => log(`poll failed: ${String(err)}`)), pollMs);
    const progressEvery = Math.max(10_000, Math.min(60_000, options.durationMs / 6));
    let nextProgress = soakStart + progressEvery;
    while (Date.now() - soakStart < options.durationMs) {
      await sleep(Math.min(500, options.durationMs - (Date.now() - soakStart)));
      for (const run of writers) if (run.child.done()) throw new Error(`soak: the ${run.kind} writer exited early: ${run.error ?? ''}; stderr: ${run.child.stderr().trim()}`);
      if (watchChild.done()) throw new Error(`soak: the watch exited during the soak\nstderr:\n${watchChild.stderr()}`);
      if (Date.now() >= nextProgress) {
        nextProgress += progressEvery;
        log(`${Math.round((Date.now() - soakStart) / 1000)} s: ${lines.length} pushes, commits ${writers.map((r) => `${r.kind} ${r.committedAt.size}`).join(', ')}, RSS ${rss.at(-1)?.kb ?? '?'} kB`);
      }
    }

    // ---- stop the writers; wait for their last markers to be loaded, and for the watch to go quiet
    for (const run of writers) run.counts = await run.stop();
    phases['soak'] = Date.now() - soakStart;
    t = Date.now();
    const allSeen = () => writers.every((r) => (r.visibility.at(-1)?.marker ?? 0) >= (r.counts?.lastMarker ?? 0));
    await until('the writers\' last markers in the database', 60_000, allSeen, 100).catch((err: unknown) => log(String(err)));
    mark('lastMarkersVisible', t);
    // The writers' last close (WAL checkpoint) may cause one more push of the same rows: give it a
    // moment (not needed for correctness: SIGTERM lets a push in flight finish and load).
    const quietMs = 1500;
    await until('a quiet watch', 60_000, () => Date.now() - (lines.at(-1)?.receivedAt ?? 0) >= quietMs, 100).catch((err: unknown) => log(String(err)));
    clearInterval(poller);
    poller = null;

    t = Date.now();
    watchChild.proc.kill('SIGTERM');
    const exitTimer = setTimeout(() => watchChild.proc.kill('SIGKILL'), 60_000);
    const exit = await watchChild.exited;
    clearTimeout(exitTimer);
    clearInterval(sampler);
    sampler = null;
    mark('watchStop', t);
    const soakMs = phases['soak'] ?? 0;
    log(`watch exited (${JSON.stringify(exit)}) after ${lines.length} pushes`);

    // ---- verify with the real CLI
    t = Date.now();
    const verify = await runVerify(ws, options.databaseUrl, spawned);
    mark('verify', t);
    let control: SoakSummary['control'] = null;
    if (options.negativeControl) {
      t = Date.now();
      const extra = await Promise.all(specs.map((spec, i) => startWriter(spec.kind, join(ws, WRITER_PATHS[spec.kind]), spec.commitsPerSecond, 2000 + i)));
      spawned.push(...extra.map((r) => r.child));
      const commits = (await Promise.all(extra.map((r) => r.stop()))).reduce((a, c) => a + c.commits, 0);
      control = { ...(await runVerify(ws, options.databaseUrl, spawned)), commits };
      mark('negativeControl', t);
    }

    const syncRuns: Record<string, number> = {};
    const runs = await db.query<{ status: string; n: string }>(`SELECT status, COUNT(*) AS n FROM aqe.sync_runs WHERE env = $1 GROUP BY status`, [ENV_NAME]);
    for (const r of runs.rows) syncRuns[r.status] = Number(r.n);

    // ---- figures
    const writerSummaries = writers.map((run) => {
      const counts = run.counts ?? { commits: 0, inserts: 0, updates: 0, deletes: 0, firstMarker: 0, lastMarker: 0 };
      const lags: number[] = [];
      let unseen = 0;
      let v = 0;
      for (let m = counts.firstMarker; m > 0 && m <= counts.lastMarker; m++) {
        while (v < run.visibility.length && (run.visibility[v]?.marker ?? 0) < m) v++;
        const seen = run.visibility[v];
        const committed = run.committedAt.get(m);
        if (seen === undefined || committed === undefined) unseen++;
        else lags.push(Math.max(0, seen.at - committed));
      }
      return { kind: run.kind, ...counts, visibleMarker: run.visibility.at(-1)?.marker ?? 0, lag: lagStats(lags, unseen), lags };
    });
    const allLags = writerSummaries.flatMap((s) => s.lags);
    const kbs = rss.map((s) => s.kb);
    const byReason: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    for (const l of lines) {
      byReason[l.reason] = (byReason[l.reason] ?? 0) + 1;
      const status = l.load?.status ?? (l.ok ? 'not loaded' : 'push failed');
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }

    const later = lines.slice(1).map((l) => l.durationMs).sort((a, b) => a - b);

    // ---- leaks: every process started here must be gone
    await sleep(200);
    const running = spawned.filter((c) => !c.done());
    const ours = new Set(spawned.map((c) => c.pid));
    const strays = childPids(process.pid).filter((p) => !childrenBefore.has(p) && !ours.has(p));
    const leakedPids = [...running.map((c) => c.pid), ...strays];
    for (const c of running) c.proc.kill('SIGKILL');

    return {
      env: ENV_NAME,
      volume,
      soakMs,
      totalMs: Date.now() - t0,
      workspace: options.keep ? tmp : null,
      pushes: {
        total: lines.length,
        ok: lines.filter((l) => l.ok).length,
        failed: lines.filter((l) => !l.ok).length,
        partial: lines.filter((l) => l.partial).length,
        byReason,
        durationP50Ms: percentile(later, 0.5),
        durationMaxMs: later.at(-1) ?? Number.NaN,
        errors: lines.filter((l) => l.error !== null).map((l) => `${l.error?.code ?? ''}: ${l.error?.message.split('\n')[0] ?? ''}`),
      },
      loads: { byStatus, syncRuns },
      writers: writerSummaries.map(({ lags: _lags, ...rest }) => rest),
      rowsCommitted: writerSummaries.reduce((a, s) => a + s.inserts + s.updates + s.deletes, 0),
      lag: lagStats(allLags, writerSummaries.reduce((a, s) => a + s.lag.unseen, 0)),
      rss: {
        samples: rss,
        minKb: kbs.length ? Math.min(...kbs) : 0,
        maxKb: kbs.length ? Math.max(...kbs) : 0,
        lastKb: kbs.at(-1) ?? 0,
        firstThirdMaxKb: kbs.length ? Math.max(...kbs.slice(0, Math.ceil(kbs.length / 3))) : 0,
      },
      watch: { exitCode: exit.code, signal: exit.signal, pid: watchChild.pid },
      verify,
      control,
      leakedPids,
      phases,
    };
  } finally {
    if (poller) clearInterval(poller);
    if (sampler) clearInterval(sampler);
    // a failed setup: nothing may outlive the soak
    for (const run of writers) if (!run.child.done()) run.child.proc.kill('SIGKILL');
    if (watch && !watch.done()) watch.proc.kill('SIGKILL');
    await Promise.all([...writers.map((r) => r.child.exited), watch?.exited]);
    process.off('exit', killAll);
    await db.end();
    if (!options.keep) await rm(tmp, { recursive: true, force: true });
  }
}

/** What went wrong (empty: the soak passed): verify differences, markers never loaded, an unclean stop, leaked processes. */
export function soakProblems(s: SoakSummary): string[] {
  const problems: string[] = [];
  if (!s.verify.equal || s.verify.exitCode !== 0) problems.push(`verify: exit ${s.verify.exitCode}, ${JSON.stringify(s.verify.totals)}`);
  if (s.lag.unseen > 0) problems.push(`${s.lag.unseen} committed markers never reached the database`);
  if (s.watch.exitCode !== 0) problems.push(`the watch exited with ${s.watch.signal ?? `code ${s.watch.exitCode}`} on SIGTERM`);
  if (s.control && (s.control.equal || s.control.exitCode !== 1)) problems.push(`negative control: verify saw no difference after ${s.control.commits} unpushed commits (exit ${s.control.exitCode})`);
  if (s.leakedPids.length > 0) problems.push(`processes left running: ${s.leakedPids.join(', ')}`);
  return problems;
}

/** The summary as text (what `npm run soak` prints). */
export function renderSoakSummary(s: SoakSummary): string {
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  const lag = (l: LagStats) => `p50 ${sec(l.p50Ms)}, p95 ${sec(l.p95Ms)}, max ${sec(l.maxMs)} (${l.samples} markers${l.unseen > 0 ? `, ${l.unseen} NEVER SEEN` : ''})`;
  const counts = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const out = [
    `soak: ${sec(s.soakMs)} of writes (${s.volume} workspace, env "${s.env}"), ${sec(s.totalMs)} in all`,
    `pushes: ${s.pushes.total} (${s.pushes.ok} ok, ${s.pushes.failed} failed, ${s.pushes.partial} partial; ${counts(s.pushes.byReason)}); push + load p50 ${sec(s.pushes.durationP50Ms)}, max ${sec(s.pushes.durationMaxMs)}`,
    `loads: ${counts(s.loads.byStatus)}; sync_runs: ${counts(s.loads.syncRuns)}`,
    `rows committed by writers: ${s.rowsCommitted}`,
    ...s.writers.map((w) => `  ${w.kind}: ${w.commits} commits (${w.inserts} inserts, ${w.updates} updates, ${w.deletes} deletes), markers ${w.firstMarker}..${w.lastMarker}, newest in database ${w.visibleMarker}; lag ${lag(w.lag)}`),
    `lag commit → visible in PostgreSQL: ${lag(s.lag)}`,
    `watch RSS: min ${mb(s.rss.minKb)}, max ${mb(s.rss.maxKb)}, last ${mb(s.rss.lastKb)} (${s.rss.samples.length} samples; max of the first third ${mb(s.rss.firstThirdMaxKb)})`,
  ];
  const step = Math.max(1, Math.ceil(s.rss.samples.length / 12));
  out.push(`  over time: ${s.rss.samples.filter((_, i) => i % step === 0 || i === s.rss.samples.length - 1).map((r) => `${sec(r.tMs)} ${mb(r.kb)}`).join(' · ')}`);
  out.push(`watch exit: ${s.watch.signal ?? `code ${s.watch.exitCode}`}`);
  out.push(`verify: exit ${s.verify.exitCode}, ${s.verify.equal ? 'no differences' : `DIFFERENCES ${JSON.stringify(s.verify.totals)}`}`);
  if (!s.verify.equal) out.push(s.verify.output);
  if (s.control) out.push(`negative control: ${s.control.commits} unpushed commits → verify exit ${s.control.exitCode}, ${JSON.stringify(s.control.totals)}`);
  if (s.pushes.errors.length > 0) out.push(`push errors: ${[...new Set(s.pushes.errors)].slice(0, 5).join(' | ')}`);
  out.push(`processes left running: ${s.leakedPids.length === 0 ? 'none' : s.leakedPids.join(', ')}`);
  out.push(`phases (ms): ${Object.entries(s.phases).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (s.workspace) out.push(`kept: ${s.workspace}`);
  return `${out.join('\n')}\n`;
}
