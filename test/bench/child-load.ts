// Child: loads one snapshot from a local-dir bucket into a database with loadSnapshot (migrated
// first, outside the timing) and prints {maxRssMb, ms, status, rows, totals}.
// Usage: node --import tsx test/bench/child-load.ts <bucketDir> <manifestKey> <databaseUrl>
import { openDatabase } from '../../functions/db/open-database.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { loadSnapshot } from '../../functions/loader/load-snapshot.js';
import { LocalDirBlobStore } from '../../functions/storage/local-dir-blob-store.js';
import { peakRssMb } from './child-run.js';
import { parseLoadLimits } from '../../uploader/config.js';

const [bucketDir, manifestKey, databaseUrl] = process.argv.slice(2);
if (!bucketDir || !manifestKey || !databaseUrl) throw new Error('usage: child-load.ts <bucketDir> <manifestKey> <databaseUrl>');
const db = await openDatabase(databaseUrl);
try {
  await ensureMigrated(db);
  const rssBefore = peakRssMb();
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  // the CLI's limits (AQE_LOAD_MAX_* in the environment; a local scratch folder is on disk)
  const outcome = await loadSnapshot({ store: new LocalDirBlobStore(bucketDir), db, limits: parseLoadLimits(process.env).value }, manifestKey);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  if (outcome.status !== 'loaded') throw new Error(`load outcome ${outcome.status}: ${JSON.stringify(outcome)}`);
  process.stdout.write(`${JSON.stringify({ maxRssMb: peakRssMb(), rssBeforeLoadMb: rssBefore, ms, cpuMs: (cpu.user + cpu.system) / 1000, status: outcome.status, rows: outcome.totals.read, totals: outcome.totals, warnings: outcome.warnings.slice(0, 5) })}\n`);
} finally {
  await db.close();
}
