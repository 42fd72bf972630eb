// `aqe-upload reconcile`: the scheduled catch-up run by hand or in local mode: load missed
// manifests, retry transient failures, backfill embeddings, apply retention, report staleness.

import { storeOptions } from '../config.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import { applyReconcile, type ReconcileReport } from '../../functions/reconcile/apply-reconcile.js';
import { RECONCILE_STEPS, type ReconcileStep } from '../../functions/reconcile/plan-reconcile.js';
import { createLogger, silentLogger } from '../../functions/observability/logger.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { chooseEmbedder, parseSeconds, withDatabase } from '../local/local-sync.js';
import { defineCommand } from './command.js';
import { parsed, text, toggle } from './flags.js';
import { workspaceConfig } from './shared.js';
import { commandProgress, isVerbose } from '../ui/messages.js';

export const reconcileCommand = defineCommand({
  name: 'reconcile',
  flags: z.object({
    bucket: text(),
    database: text(),
    workspace: text(),
    dryRun: toggle(),
    only: parsed(parseSteps),
    retentionDays: parsed(parseDays),
    budget: parsed((v) => parseSeconds(v, 600, '--budget', 'reconcile')),
  }),
  example: 'aqe-upload reconcile --dry-run',
  define: (cmd: Command) =>
    cmd
      .description('catch up like the scheduled function: load missed snapshots, retry transient failures, embed pending rows, apply retention, report stale environments')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else the workspace bucket)')
      .option('--database <url>', 'postgres://… or pglite://<dir> (default: $AQE_DATABASE_URL, else the workspace database)')
      .option('-w, --workspace <dir>', 'workspace whose bucket and database are the defaults')
      .option('--dry-run', 'show what would be loaded and deleted; change nothing')
      .option('--only <steps>', `comma-separated steps: ${RECONCILE_STEPS.join(',')}`)
      .option('--retention-days <days>', 'delete manifests older than this (default: $AQE_RETENTION_DAYS, else 90)')
      .option('--budget <seconds>', 'work budget (default 600)'),
  async run(flags, cliConfig, io) {
    const config = await workspaceConfig(flags, cliConfig);
    const only = flags.only;
    const retentionDays = flags.retentionDays ?? config.settings.retentionDays;
    const budget = flags.budget ?? 600;
    const store = await openBlobStore(config.bucket, storeOptions(config.storageRetries));
    // -v: the structured log lines the Cloud Function writes
    const log = isVerbose(io) ? createLogger({ write: (l) => io.stderr.write(`${l}\n`) }) : silentLogger;
    const progress = commandProgress(io, flags);
    const report = await withDatabase(config.database.url, (db) =>
      applyReconcile(
        {
          store,
          withDb: (fn) => fn(db),
          embedder: () => chooseEmbedder(config.settings),
          log,
          onProgress: (p) => progress.step(p.step === 'load' ? 'loading missed snapshots' : 'retrying', p.done, p.total),
          policy: { retentionDays, safetyWindowMs: 24 * 3600_000, budgetMs: budget * 1000 },
        },
        { dryRun: flags.dryRun, ...(only ? { only } : {}) },
      ),
    ).finally(() => progress.done());
    io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
    return report.errors.length > 0 ? 'partial' : 'ok';
  },
});

function parseDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new AppError('USAGE', `--retention-days ${value}: expected a whole number of days >= 1\nTry: aqe-upload reconcile --retention-days 90 --dry-run`);
  return n;
}

function parseSteps(value: string): ReconcileStep[] {
  const steps = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = steps.filter((s) => !(RECONCILE_STEPS as readonly string[]).includes(s));
  if (bad.length > 0 || steps.length === 0) {
    throw new AppError('USAGE', `--only ${value}: unknown step ${bad.map((b) => `"${b}"`).join(', ') || '(none)'}; expected some of ${RECONCILE_STEPS.join(', ')}\nTry: aqe-upload reconcile --only load,retention --dry-run`);
  }
  return steps as ReconcileStep[];
}

function renderReport(r: ReconcileReport): string {
  const lines: string[] = [];
  const verb = r.dryRun ? 'would ' : '';
  const count = (xs: { status: string }[], s: string) => xs.filter((x) => x.status === s).length;
  lines.push(`reconcile${r.dryRun ? ' (dry run: nothing changed)' : ''}`);
  lines.push(`  missed snapshots: ${r.loads.length}${r.dryRun ? '' : ` (${count(r.loads, 'loaded')} loaded, ${count(r.loads, 'quarantined')} quarantined, ${count(r.loads, 'error')} failed)`}`);
  for (const l of r.loads) lines.push(`    ${l.manifestKey}: ${l.status}${l.error ? ` (${l.error.code}: ${l.error.message.split('\n')[0]})` : ''}`);
  lines.push(`  retries: ${r.retries.length}${r.dryRun ? '' : ` (${count(r.retries, 'loaded')} loaded)`}; left in quarantine: ${r.leftQuarantined.length}`);
  if (r.embedding) lines.push(`  embeddings: ${'skipped' in r.embedding && r.embedding.skipped ? `skipped (${r.embedding.skipped})` : `${(r.embedding as { embedded: number }).embedded} embedded, ${(r.embedding as { pending: number }).pending} pending`}`);
  if (r.retention) {
    const t = r.retention;
    lines.push(`  retention: ${verb}delete ${t.manifests.length} manifests, ${t.blobs.length} blobs, ${t.quarantineObjects.length} quarantine objects; kept ${t.keptReferencedBlobs} referenced and ${t.keptYoungBlobs} recent blobs`);
    for (const m of t.manifests) lines.push(`    - ${m.key} (${m.ageDays} days)`);
    for (const b of t.blobs) lines.push(`    - ${b}`);
  }
  if (r.staleness) {
    for (const e of r.staleness.environments) lines.push(`  ${e.env}: ${e.level} (last success ${e.lastSuccessAt ?? 'never'}, ${e.failuresLastDay}/${e.runsLastDay} failed in 24 h)`);
    for (const f of r.staleness.findings) lines.push(`    ${f.level}: ${f.message}`);
  }
  for (const e of r.errors) lines.push(`  error in ${e.step}${e.item ? ` (${e.item})` : ''}: ${e.code}: ${e.message.split('\n')[0]}`);
  return `${lines.join('\n')}\n`;
}
