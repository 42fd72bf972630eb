// A loader process for the kill -9 fault tests. It loads one manifest from a local bucket, either
// straight through loadSnapshot (mode `loader`: what `aqe-upload load` and local mode run) or
// through the Cloud Function's glue (mode `function`: handleStorageEvent with a function runtime,
// the model folder it is given and its after-commit embedding stage). It reports where it is as
// `@phase <name> <ms since process start>` lines on stdout, so the parent can kill it at a chosen
// moment and tell where the kill landed; the outcome is the last line: `@outcome <json>`.
//   node --import tsx loader-child.ts '<json ChildArgs>'
// The phase markers come from pass-through wrappers around the real store and database.
import type { DatabaseConnection, Queryable } from '../../../../functions/db/database.js';
import { PgDatabase } from '../../../../functions/db/pg-database.js';
import { loadSnapshot } from '../../../../functions/loader/load-snapshot.js';
import type { FunctionContext } from '../../../../functions/runtime/function-context.js';
import type { BlobStore } from '../../../../functions/storage/blob-store.js';
import { LocalDirBlobStore } from '../../../../functions/storage/local-dir-blob-store.js';
import { type ChildArgs, PHASES, type Phase } from './kill-harness.js';

let phase: Phase = 'startup';
function mark(p: Phase): void {
  if (p === phase) return;
  phase = p;
  process.stdout.write(`@phase ${p} ${performance.now().toFixed(1)}\n`);
}

function observedStore(store: BlobStore): BlobStore {
  return {
    url: store.url,
    put: (k, b, o) => store.put(k, b, o),
    get: (k) => {
      mark('manifest');
      return store.get(k);
    },
    getStream: (k) => {
      mark('blobs');
      return store.getStream(k);
    },
    exists: (k) => store.exists(k),
    stat: (k) => store.stat(k),
    list: (p) => store.list(p),
    delete: (k, o) => store.delete(k, o),
    touch: (k) => store.touch(k),
    check: (p) => store.check(p),
  };
}

/** Before the blobs are fetched, transactions are the migrator's (one per migration, checked): all `check`. */
const loadStarted = (): boolean => PHASES.indexOf(phase) >= PHASES.indexOf('blobs');

function observedDb(db: DatabaseConnection): DatabaseConnection {
  let committed = false;
  const outside = (): void => mark(committed ? 'embed' : loadStarted() ? phase : 'check');
  const inTx = (tx: Queryable): Queryable => ({
    query: (sql, params) => {
      if (phase === 'copy') mark('merge');
      return tx.query(sql, params);
    },
    exec: (sql) => {
      if (phase === 'copy') mark('merge');
      return tx.exec(sql);
    },
    copyRows: (table, columns, rows) => {
      if (loadStarted()) mark('copy');
      return tx.copyRows(table, columns, rows);
    },
  });
  return {
    kind: db.kind,
    description: db.description,
    query: (sql, params) => {
      outside();
      return db.query(sql, params);
    },
    exec: (sql) => {
      outside();
      return db.exec(sql);
    },
    copyRows: (table, columns, rows) => {
      outside();
      return db.copyRows(table, columns, rows);
    },
    transaction: async (fn) => {
      if (!loadStarted()) {
        mark('check');
        return db.transaction((tx) => fn(tx));
      }
      const result = await db.transaction(async (tx) => {
        mark('tx');
        const value = await fn(inTx(tx));
        mark('commit');
        return value;
      });
      committed = true;
      mark('committed');
      return result;
    },
    close: () => db.close(),
  };
}

async function runLoader(args: ChildArgs): Promise<unknown> {
  const db = new PgDatabase(args.dbUrl, { applicationName: args.applicationName, max: 2 });
  try {
    return await loadSnapshot({ store: observedStore(new LocalDirBlobStore(args.bucketDir)), db: observedDb(db), tmpDir: args.tmpDir }, args.manifestKey);
  } finally {
    await db.close();
  }
}

async function runFunction(args: ChildArgs): Promise<unknown> {
  // imported here: the function runtime's modules (Cloud Storage, Secret Manager clients) slow every start
  const { handleStorageEvent } = await import('../../../../functions/load-snapshot/handle-snapshot.js');
  const { createFunctionContext } = await import('../../../../functions/runtime/function-context.js');
  const { createLogger } = await import('../../../../functions/observability/logger.js');
  const runtime = createFunctionContext({
    env: {
      AQE_DATABASE_URL: args.dbUrl,
      AQE_BUCKET: args.bucketName,
      AQE_LOG_LEVEL: 'ERROR',
      AQE_EMBED_BUDGET_SECONDS: '120',
      ...(args.modelDir ? { AQE_MODEL_DIR: args.modelDir } : {}),
    },
    store: observedStore(new LocalDirBlobStore(args.bucketDir)),
    log: createLogger({ minSeverity: 'ERROR', write: (line) => process.stderr.write(`${line}\n`) }),
    pg: { applicationName: args.applicationName, max: 3 },
  });
  let db: Promise<DatabaseConnection> | undefined;
  const ctx: FunctionContext = {
    config: runtime.config,
    log: runtime.log,
    store: () => runtime.store(),
    db: () => (db ??= runtime.db().then(observedDb)),
    embedder: () => {
      mark('model');
      return runtime.embedder();
    },
    // the wrapper is not the runtime's Database: let the runtime drop its current pool
    resetDb: async () => {
      db = undefined;
      await runtime.resetDb();
    },
  };
  try {
    return await handleStorageEvent(ctx, { id: `fault-${process.pid}`, type: 'google.cloud.storage.object.v1.finalized', data: { bucket: args.bucketName, name: args.manifestKey } });
  } finally {
    await runtime.close();
  }
}

async function main(): Promise<void> {
  mark('ready');
  const args = JSON.parse(process.argv[2] ?? '') as ChildArgs;
  const outcome = args.mode === 'function' ? await runFunction(args) : await runLoader(args);
  mark('exit');
  process.stdout.write(`@outcome ${JSON.stringify(outcome)}\n`);
  // an embedding runtime may keep worker threads alive: the outcome is out, leave now
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
