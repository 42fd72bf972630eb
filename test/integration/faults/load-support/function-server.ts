// The deployed loadSnapshot function, served by the real Functions Framework in this process
// (getTestServer), with a function runtime on a local bucket and a given database, and a
// delivery loop that behaves like Eventarc with a retry policy: the same CloudEvent is posted
// again after a backoff until the function answers 2xx.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queryable } from '../../../../functions/db/database.js';
import { createLogger } from '../../../../functions/observability/logger.js';
import { createFunctionContext, type FunctionRuntime } from '../../../../functions/runtime/function-context.js';
import { LocalDirBlobStore } from '../../../../functions/storage/local-dir-blob-store.js';

export interface LogEntry {
  severity: string;
  message: string;
  event?: string;
  error?: { name?: string; message?: string; code?: string };
  [k: string]: unknown;
}

export interface Delivery {
  status: number;
  ms: number;
  body: string;
}

export interface FunctionServer {
  /** Structured log lines the function wrote (INFO and above). */
  logs: LogEntry[];
  /** Posts one `object.finalized` CloudEvent (binary mode) for `objectName`. */
  deliver(objectName: string, eventId: string): Promise<Delivery>;
  /**
   * Delivers until the function answers 2xx, waiting `backoffMs[i]` (the last one repeated)
   * before attempt i + 2, at most `maxAttempts` times. Returns every attempt.
   */
  deliverUntilAcknowledged(objectName: string, eventId: string, options?: { backoffMs?: readonly number[]; maxAttempts?: number }): Promise<Delivery[]>;
  close(): Promise<void>;
}

export interface FunctionServerOptions {
  dbUrl: string;
  bucketDir: string;
  bucketName: string;
  applicationName: string;
  /** Model folder (a missing one: no model, rows stay pending). */
  modelDir: string;
}

/**
 * Serves the loadSnapshot entry point of functions/index.ts on a free local port.
 *
 * @example const fn = await startFunctionServer({ dbUrl, bucketDir, bucketName: 'b', applicationName: 'x', modelDir }); const res = await fn.deliver(key, 'evt-1');
 */
export async function startFunctionServer(o: FunctionServerOptions): Promise<FunctionServer> {
  const logs: LogEntry[] = [];
  const { setFunctionRuntime } = await import('../../../../functions/index.js');
  const runtime: FunctionRuntime = createFunctionContext({
    env: { AQE_DATABASE_URL: o.dbUrl, AQE_BUCKET: o.bucketName, AQE_MODEL_DIR: o.modelDir, AQE_LOG_LEVEL: 'INFO', AQE_EMBED_BUDGET_SECONDS: '30' },
    store: new LocalDirBlobStore(o.bucketDir),
    log: createLogger({ minSeverity: 'INFO', write: (line) => logs.push(JSON.parse(line) as LogEntry) }),
    pg: { applicationName: o.applicationName },
  });
  setFunctionRuntime(runtime);
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const server = getTestServer('loadSnapshot') as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const deliver = async (name: string, eventId: string): Promise<Delivery> => {
    const started = performance.now();
    const res = await fetch(base, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': eventId,
        'ce-source': `//storage.googleapis.com/projects/_/buckets/${o.bucketName}`,
        'ce-type': 'google.cloud.storage.object.v1.finalized',
        'ce-subject': `objects/${name}`,
        'ce-time': new Date().toISOString(),
      },
      body: JSON.stringify({ bucket: o.bucketName, name, generation: '1', metageneration: '1', contentType: 'application/json', timeCreated: new Date().toISOString() }),
    });
    return { status: res.status, body: await res.text(), ms: performance.now() - started };
  };

  return {
    logs,
    deliver,
    async deliverUntilAcknowledged(name, eventId, options = {}) {
      const backoff = options.backoffMs ?? [200, 400, 800];
      const max = options.maxAttempts ?? 10;
      const attempts: Delivery[] = [];
      for (let i = 0; i < max; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, backoff[Math.min(i - 1, backoff.length - 1)]));
        const d = await deliver(name, eventId);
        attempts.push(d);
        if (d.status >= 200 && d.status < 300) break;
      }
      return attempts;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      setFunctionRuntime(undefined);
    },
  };
}

/**
 * Waits until a backend named `applicationName` runs a statement of a load transaction that
 * stages or merges rows (COPY, or a statement on a staging / decision table), and returns it.
 */
export async function waitForLoadStatement(db: Queryable, applicationName: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await db.query<{ query: string }>(
      `SELECT query FROM pg_stat_activity WHERE application_name = $1 AND xact_start IS NOT NULL AND state <> 'idle'
         AND (query ILIKE 'COPY %' OR query ILIKE '%aqe_stage_%' OR query ILIKE '%aqe_decide_%')`,
      [applicationName],
    );
    const query = res.rows[0]?.query;
    if (query !== undefined) return query;
    if (Date.now() > deadline) throw new Error(`no load statement of "${applicationName}" within ${timeoutMs} ms: the load never reached COPY / merge`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
