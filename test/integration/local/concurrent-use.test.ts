// Normal use of the embedded default, as a user runs it: `aqe-upload watch` in one terminal while
// a tool keeps writing, and status / search / verify and two pushes at once in others, round
// after round. Every command exits within its timeout, every load reported is in the database,
// the workspace equals the database at the end, and the database opens and checks out afterwards.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../../uploader/local/local-sync.js';
import { startWriter } from '../../support/sqlite-writer.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { type CliExit, runCli } from '../faults/support/cli-child.js';
import { runCliInProcess, tempFolder } from '../uploader/cli-harness.js';
import { startWatch, type WatchLine } from '../watch/watch-process.js';

const COMMAND_TIMEOUT_MS = 180_000;
const ROUNDS = 2;
const env = { AQE_EMBED_BUDGET_SECONDS: '0' };

interface PushDoc {
  manifestKey: string;
  load: { status: string; runId: number } | null;
  pendingLoad: unknown;
}

let tmp: { dir: string; remove: () => Promise<void> };
let ws: string;

beforeAll(async () => {
  tmp = await tempFolder('aqe-concurrent-');
  ws = join(tmp.dir, 'ws');
  const built = await buildWorkspace(ws, { volume: 'small', seed: 11 });
  await built.close();
});
afterAll(async () => {
  await tmp?.remove();
});

describe('watch beside status, search, verify and pushes on the embedded database', () => {
  it(`every command exits in time, nothing reported is lost, verify ends equal and the database opens afterwards (${ROUNDS} rounds)`, { timeout: 1_200_000 }, async () => {
    const watch = startWatch(['-w', ws, '--env', 'laptop', '--json', '--debounce', '300ms', '--poll', '300ms'], env);
    const reportedRuns: number[] = [];
    const watchLines: WatchLine[] = [];
    const writer = await startWriter({ dbPath: join(ws, 'v3', '.agentic-qe', 'memory.db'), commitsPerSecond: 10 });
    let writerStopped = false;
    try {
      const start = await watch.nextJson<WatchLine & { load: { status: string; runId?: number } | null }>(COMMAND_TIMEOUT_MS);
      expect(start, watch.stderr()).toMatchObject({ reason: 'start', ok: true });
      watchLines.push(start);

      for (let round = 1; round <= ROUNDS; round++) {
        const runs = await Promise.all([
          runCli(['status', '-w', ws, '--json'], { env, timeoutMs: COMMAND_TIMEOUT_MS }),
          runCli(['search', 'retry backoff', '-w', ws, '--json'], { env, timeoutMs: COMMAND_TIMEOUT_MS }),
          runCli(['verify', '-w', ws, '--json'], { env, timeoutMs: COMMAND_TIMEOUT_MS }),
          runCli(['push', '-w', ws, '--json'], { env, timeoutMs: COMMAND_TIMEOUT_MS }),
          runCli(['push', '-w', ws, '--json'], { env, timeoutMs: COMMAND_TIMEOUT_MS }),
        ]);
        const [status, search, verify, ...pushes] = runs as [CliExit, CliExit, CliExit, CliExit, CliExit];
        expect(status.code, `round ${round} status: ${status.stderr}`).toBe(0);
        expect(JSON.parse(status.stdout)).toHaveProperty('environments');
        expect(search.code, `round ${round} search: ${search.stderr}`).toBe(0);
        expect(JSON.parse(search.stdout)).toHaveProperty('hits');
        // the writer keeps committing: the workspace may be ahead of the database (exit 1) mid-run
        expect([0, 1], `round ${round} verify: ${verify.stderr}`).toContain(verify.code);
        expect(JSON.parse(verify.stdout)).toHaveProperty('pairs');
        for (const push of pushes) {
          expect(push.code, `round ${round} push: ${push.stderr}`).toBe(0);
          const doc = JSON.parse(push.stdout) as PushDoc;
          expect(doc.pendingLoad).toBeNull();
          expect(doc.load?.status).toBe('loaded');
          reportedRuns.push(doc.load!.runId);
        }
        if (round === 1) {
          await writer.stop();
          writerStopped = true;
        }
      }
    } finally {
      if (!writerStopped) await writer.stop();
      const exit = await watch.stop('SIGTERM', 120_000);
      expect(exit, watch.stderr()).toEqual({ code: 0, signal: null });
    }
    for (const line of watch.pending()) watchLines.push(JSON.parse(line) as WatchLine);
    // Every push of the watch succeeded and loaded (the lock made the others wait, never fail).
    for (const line of watchLines) {
      expect(line, watch.stderr()).toMatchObject({ ok: true, error: null });
      expect(line.load?.status).toBe('loaded');
    }
    expect(watchLines.length).toBeGreaterThan(1);

    // The final state: one more push, then the workspace equals the database.
    // (in this process from here on: the watch is gone)
    const last = await runCliInProcess(['push', '-w', ws, '--json'], env);
    expect(last.code, last.stderr).toBe(0);
    reportedRuns.push((JSON.parse(last.stdout) as PushDoc).load!.runId);
    const verify = await runCliInProcess(['verify', '-w', ws, '--json'], env);
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ env: 'laptop', equal: true });

    // Nothing reported is lost: every run a push reported succeeded, and every snapshot in the
    // bucket was loaded exactly once. The database opens (and migrates) in this process.
    const manifests = (await readdir(join(ws, '.aqe-sync', 'bucket', 'snapshots', 'laptop'))).map((id) => `snapshots/laptop/${id}/manifest.json`);
    const rows = await withDatabase(`pglite://${join(ws, '.aqe-sync', 'db')}`, async (db) => (await db.query<{ id: string | number; manifest_key: string; status: string }>('SELECT id, manifest_key, status FROM aqe.sync_runs ORDER BY id')).rows);
    const succeeded = rows.filter((r) => r.status === 'succeeded');
    expect(new Set(reportedRuns).size).toBe(reportedRuns.length);
    for (const id of reportedRuns) expect(succeeded.map((r) => Number(r.id))).toContain(id);
    expect(succeeded.map((r) => r.manifest_key).sort()).toEqual(manifests.sort());
    expect(rows.filter((r) => r.status !== 'succeeded')).toEqual([]);

    const doctor = await runCliInProcess(['doctor', '-w', ws, '--json'], env);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect((JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string }> }).checks.find((c) => c.name === 'database')?.status).toBe('ok');
  });
});
