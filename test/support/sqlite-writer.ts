// Test support: a real concurrent SQLite writer in a separate process, to test snapshots of files
// that a running tool keeps committing to.
//
// Consistency check for a snapshot copy taken while the writer runs: the writer commits ids
// 1, 2, 3, … one row per transaction, so a copy is consistent iff `PRAGMA integrity_check` returns
// `ok` and `SELECT COUNT(*) FROM writer_rows` equals `SELECT MAX(id) FROM writer_rows` (a torn copy
// loses rows in the middle or fails the integrity check).
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WriterOptions {
  /** The SQLite file (created if absent; `writer_rows` created if absent, ids continue after MAX(id)). */
  dbPath: string;
  /** Commits per second; default as fast as possible (thousands per second here in WAL mode). */
  commitsPerSecond?: number;
  /** Journal mode the writer sets; default `wal`. */
  journal?: 'wal' | 'delete';
  /** Padding per row in bytes (default 64). */
  payloadBytes?: number;
  /** How long to wait for the first commit (default 30 s). */
  startTimeoutMs?: number;
}

export interface WriterStopResult {
  /** Rows committed by this writer. With a fresh table this equals the last id. */
  committed: number;
  /** The last committed id (= MAX(id) of `writer_rows`). */
  lastId: number;
}

export interface Writer {
  /** The child's process id. */
  readonly pid: number;
  /** Asks the writer to stop after its current commit, waits for it to close the database and exit. */
  stop(): Promise<WriterStopResult>;
  /** SIGKILL, as a crash would (a `-wal` or `-journal` file may stay behind). Resolves when the process is gone. */
  kill(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./sqlite-writer-process.ts', import.meta.url));
/** tsx's loader by absolute URL, so the child does not depend on the working directory. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Starts a writer process and resolves once its first row is committed.
 *
 * @example
 * const writer = await startWriter({ dbPath });
 * const copy = await snapshot(dbPath);              // the code under test
 * const { committed } = await writer.stop();
 * // consistent iff integrity_check = 'ok' and COUNT(*) = MAX(id) in the copy
 */
export async function startWriter(options: WriterOptions): Promise<Writer> {
  const config = {
    dbPath: options.dbPath,
    commitsPerSecond: options.commitsPerSecond,
    journal: options.journal ?? 'wal',
    payloadBytes: options.payloadBytes ?? 64,
  };
  const child = spawn(process.execPath, ['--import', TSX_LOADER, SCRIPT, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = new LineReader(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const first = await lines.next(options.startTimeoutMs ?? 30_000);
  if (!first?.startsWith('ready ')) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`sqlite writer for ${options.dbPath} did not start: ${first ?? 'no output'}; stderr: ${lines.stderr.trim()}`);
  }

  let stopped: Promise<WriterStopResult> | undefined;
  return {
    pid: child.pid ?? -1,
    stop() {
      stopped ??= (async () => {
        child.stdin?.write('stop\n');
        const line = await lines.next(30_000);
        await exited;
        const m = line?.match(/^stopped (\d+) (\d+)$/);
        if (!m) throw new Error(`sqlite writer did not stop cleanly: ${line ?? 'no output'}; stderr: ${lines.stderr.trim()}`);
        return { lastId: Number(m[1]), committed: Number(m[2]) };
      })();
      return stopped;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Hands out the child's stdout line by line. */
class LineReader {
  stderr = '';
  private buffer = '';
  private readonly queue: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private closed = false;

  constructor(child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.buffer += d;
      let i = this.buffer.indexOf('\n');
      while (i !== -1) {
        this.push(this.buffer.slice(0, i));
        this.buffer = this.buffer.slice(i + 1);
        i = this.buffer.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    child.once('close', () => {
      this.closed = true;
      this.waiter?.(undefined);
      this.waiter = undefined;
    });
  }

  private push(line: string): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(line);
    } else this.queue.push(line);
  }

  /** The next line, or undefined when the process closed its output or the time ran out. */
  next(timeoutMs: number): Promise<string | undefined> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }
}
