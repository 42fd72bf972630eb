// A loader process for the kill -9 test: loads one manifest from a local bucket into a database
// and prints the outcome as one JSON line. Run: node --import tsx load-child.ts <bucketDir> <dbUrl> <manifestKey>
import { PgDatabase } from '../../../../functions/db/pg-database.js';
import { loadSnapshot } from '../../../../functions/loader/load-snapshot.js';
import { LocalDirBlobStore } from '../../../../functions/storage/local-dir-blob-store.js';

const CHILD_APPLICATION_NAME = 'aqe-kill-test-loader';

async function main(): Promise<void> {
  const [bucketDir, dbUrl, manifestKey] = process.argv.slice(2);
  if (!bucketDir || !dbUrl || !manifestKey) throw new Error('usage: load-child.ts <bucketDir> <dbUrl> <manifestKey>');
  const db = new PgDatabase(dbUrl, { applicationName: CHILD_APPLICATION_NAME, max: 2 });
  try {
    const outcome = await loadSnapshot({ store: new LocalDirBlobStore(bucketDir), db }, manifestKey);
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
