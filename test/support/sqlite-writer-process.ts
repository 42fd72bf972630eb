// Child process of `startWriter()` (sqlite-writer.ts): commits one row per transaction into
// `writer_rows` until told to stop, like a tool that keeps writing while a snapshot is taken.
// Protocol on stdout, one line each: `ready <id>` after the first commit, `stopped <lastId> <committed>`
// on a clean stop, `error <message>` before exiting with code 1. Stop: a `stop` line on stdin,
// SIGTERM, or stdin closing (the parent went away).
import Database from 'better-sqlite3';

interface WriterConfig {
  dbPath: string;
  commitsPerSecond?: number;
  journal: 'wal' | 'delete';
  payloadBytes: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WriterConfig;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

let stopping = false;
const requestStop = () => {
  stopping = true;
};
process.on('SIGTERM', requestStop);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  if (chunk.split('\n').some((l) => l.trim() === 'stop')) requestStop();
});
process.stdin.on('end', requestStop);

try {
  const db = new Database(config.dbPath);
  // A snapshot reader may hold a lock for a moment (rollback-journal mode): wait rather than fail.
  db.pragma('busy_timeout = 10000');
  db.pragma(config.journal === 'wal' ? 'journal_mode = WAL' : 'journal_mode = DELETE');
  // No fsync per commit: only a machine crash could lose commits, not a killed process, and the
  // locking / journal-file behaviour a snapshot sees stays the same. Keeps hundreds of commits/s
  // in rollback-journal mode on slow disks.
  db.pragma(config.journal === 'wal' ? 'synchronous = NORMAL' : 'synchronous = OFF');
  db.exec('CREATE TABLE IF NOT EXISTS writer_rows (id INTEGER PRIMARY KEY, payload TEXT)');
  const insert = db.prepare('INSERT INTO writer_rows (id, payload) VALUES (?, ?)');
  let lastId = (db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM writer_rows').get() as { m: number }).m;
  let committed = 0;
  const pad = 'x'.repeat(Math.max(0, config.payloadBytes));

  // Autocommit: each run() is its own transaction, so ids are committed strictly in order.
  const commitOne = () => {
    insert.run(lastId + 1, JSON.stringify({ id: lastId + 1, at: Date.now(), pad }));
    lastId++;
    committed++;
    if (committed === 1) say(`ready ${lastId}`);
  };

  const finish = () => {
    db.close();
    say(`stopped ${lastId} ${committed}`);
    process.exit(0);
  };

  const rate = config.commitsPerSecond;
  const started = performance.now();
  const tick = () => {
    if (stopping && committed > 0) return finish();
    if (rate === undefined || rate <= 0) {
      // As fast as possible in ~10 ms bursts. The ~1 ms pause between bursts lets stop requests
      // through and gives readers of a rollback-journal file a window to take their shared lock
      // (back-to-back commits would starve them until their busy timeout).
      const until = performance.now() + 10;
      do commitOne();
      while (performance.now() < until);
      setTimeout(tick, 1);
      return;
    }
    const due = Math.floor(((performance.now() - started) / 1000) * rate) + 1;
    while (committed < due) commitOne();
    const nextAt = started + (committed / rate) * 1000;
    setTimeout(tick, Math.max(0, nextAt - performance.now()));
  };
  tick();
} catch (err) {
  say(`error ${String(err instanceof Error ? err.message : err).replaceAll('\n', ' ')}`);
  process.exit(1);
}
