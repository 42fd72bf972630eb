// pgloader (the Debian package `pgloader`) run as a child process with its own defaults: loads one
// SQLite file into a PostgreSQL database (it creates the tables), and its summary table parsed
// into stages. Benchmarks only: CI does not install it.
import { runMeasured, type MeasuredRun } from './process-memory.js';

/** One line of pgloader's summary table (`table name / errors / rows / bytes / total time`). */
export interface PgloaderStage {
  name: string;
  errors: number;
  rows: number;
  /** As printed, e.g. "46.5 MB"; null for the stages that move no data. */
  bytes: string | null;
  seconds: number;
}

// the time is `4.092s`, or past a minute `1m0.160s` (a loaded machine)
const SUMMARY_LINE = /^\s*(\S.*?)\s+(\d+|✓)\s+(\d+)\s+(?:(\d+(?:\.\d+)? [kMGT]?B)\s+)?(?:(\d+)m)?(\d+(?:\.\d+)?)s\s*$/;

/**
 * The stages of pgloader's summary table, in printed order (the last is "Total import time").
 *
 * @example parsePgloaderSummary('  kv_store  0  1000000  46.5 MB  3.204s') → [{ name: 'kv_store', errors: 0, rows: 1000000, bytes: '46.5 MB', seconds: 3.204 }]
 */
export function parsePgloaderSummary(text: string): PgloaderStage[] {
  const stages: PgloaderStage[] = [];
  for (const line of text.split('\n')) {
    const m = SUMMARY_LINE.exec(line);
    if (!m) continue;
    stages.push({ name: m[1]!, errors: m[2] === '✓' ? 0 : Number(m[2]), rows: Number(m[3]), bytes: m[4] ?? null, seconds: Number(m[5] ?? 0) * 60 + Number(m[6]) });
  }
  return stages;
}

export interface PgloaderRun {
  /** Spawn to exit of the pgloader process, ms. */
  wallMs: number;
  /** Peak RSS of the pgloader process (polled VmHWM), MB. */
  peakRssMb: number;
  stages: PgloaderStage[];
  /** pgloader's own "Total import time", s. */
  totalSeconds: number;
  /** Rows pgloader says it loaded ("Total import time" line). */
  rows: number;
  /** Options given before the source and target (empty: pgloader's defaults). */
  options: string[];
  /** stdout + stderr. */
  output: string;
}

export interface RunPgloaderOptions {
  sqlitePath: string;
  /** postgres://user:password@host:port/database: the database must exist; pgloader creates the tables. */
  targetUrl: string;
  /** pgloader's --root-dir (its log file and reject files); default /tmp/pgloader, shared by every run. */
  rootDir: string;
  log?: (line: string) => void;
}

/** The only non-default setting we would use: a bigger SBCL heap, and only if the defaults run out of it. */
const BIGGER_HEAP = ['--dynamic-space-size', '4096'];

function output(run: MeasuredRun): string {
  return `${run.stdout}${run.stderr}`;
}

/** Fails with the fix when pgloader is not on PATH. */
export async function pgloaderVersion(): Promise<string> {
  try {
    const run = await runMeasured('pgloader', ['--version']);
    if (run.code !== 0) throw new Error(`exit ${run.code}: ${output(run).slice(-500)}`);
    return output(run).split('\n')[0]?.trim() ?? '';
  } catch (err) {
    throw new Error(`pgloader is needed by this benchmark (not by the tests or CI) and did not run: ${(err as Error).message}. Install it: apt-get install pgloader`);
  }
}

/**
 * `pgloader [--root-dir D] sqlite:///<file> <targetUrl>` with pgloader's defaults; retried once with
 * a 4 GB SBCL heap if the defaults exhaust it. Rejects on a non-zero exit or any error row.
 */
export async function runPgloader(opts: RunPgloaderOptions): Promise<PgloaderRun> {
  if (!opts.sqlitePath.startsWith('/')) throw new Error(`runPgloader: sqlitePath must be absolute, got "${opts.sqlitePath}"`);
  const attempt = async (options: string[]) => {
    const run = await runMeasured('pgloader', [...options, '--root-dir', opts.rootDir, `sqlite://${opts.sqlitePath}`, opts.targetUrl]);
    return { run, options };
  };
  let { run, options } = await attempt([]);
  if (run.code !== 0 && /heap exhausted/i.test(output(run))) {
    opts.log?.(`pgloader exhausted its SBCL heap with the defaults; retrying with ${BIGGER_HEAP.join(' ')}`);
    ({ run, options } = await attempt(BIGGER_HEAP));
  }
  const text = output(run);
  if (run.code !== 0) throw new Error(`pgloader exited with ${run.code ?? run.signal}: ${text.slice(-3000)}`);
  const stages = parsePgloaderSummary(text);
  const total = stages.find((s) => s.name === 'Total import time');
  if (!total) throw new Error(`pgloader: no "Total import time" line in its summary: ${text.slice(-3000)}`);
  const failed = stages.filter((s) => s.errors > 0);
  if (failed.length > 0) throw new Error(`pgloader reported errors in ${failed.map((s) => `${s.name} (${s.errors})`).join(', ')}: ${text.slice(-3000)}`);
  return { wallMs: run.wallMs, peakRssMb: run.peakRssMb, stages, totalSeconds: total.seconds, rows: total.rows, options, output: text };
}
