// reconcile glue: the scheduled HTTP request (body `{ dryRun?, only?, trigger?, schedule? }`) → one reconcile pass with
// the function runtime's bucket, database (re-read password after a rotation) and embedder.

import { z } from 'zod';
import type { FunctionRuntime } from '../runtime/function-context.js';
import { applyReconcile, type ReconcileReport } from './apply-reconcile.js';
import { RECONCILE_STEPS, type ReconcileStep } from './plan-reconcile.js';

export { applyReconcile, type ReconcileDeps, type ReconcileOptions, type ReconcileReport } from './apply-reconcile.js';
export { planBlobDeletions, planReconcile, planStaleness, RECONCILE_STEPS, type ReconcileStep, STALENESS_THRESHOLDS } from './plan-reconcile.js';

const requestSchema = z
  .strictObject({
    dryRun: z.boolean().optional(),
    only: z.array(z.enum(RECONCILE_STEPS)).min(1).optional(),
    // what Cloud Scheduler's job sends besides (infra/constructs/scheduler.ts): who called, which job
    trigger: z.string().max(64).optional(),
    schedule: z.string().max(64).optional(),
  })
  .optional();

export type ReconcileRequest = { ok: true; dryRun: boolean; only?: ReconcileStep[] } | { ok: false; issues: string[] };

/** Validates the request body (empty, `{}`, or `{ dryRun?: boolean, only?: step[] }`). */
export function parseReconcileRequest(body: unknown): ReconcileRequest {
  const value = body === undefined || body === null || body === '' || (Buffer.isBuffer(body) && body.length === 0) ? undefined : body;
  const parsed = requestSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}; expected {"dryRun"?: boolean, "only"?: [${RECONCILE_STEPS.map((s) => `"${s}"`).join(', ')}], "trigger"?: string, "schedule"?: string}`),
    };
  }
  return { ok: true, dryRun: parsed.data?.dryRun === true, ...(parsed.data?.only ? { only: parsed.data.only } : {}) };
}

/** One reconcile pass with the runtime's resources. */
export function runReconcile(rt: FunctionRuntime, request: { dryRun: boolean; only?: readonly ReconcileStep[] }): Promise<ReconcileReport> {
  const log = rt.log.child({ function: 'reconcile' });
  return applyReconcile(
    {
      store: rt.store(),
      withDb: (fn) => rt.withDb(fn, log),
      embedder: () => rt.embedder(),
      log,
      now: () => rt.now(),
      policy: {
        retentionDays: rt.config.retentionDays,
        safetyWindowMs: rt.config.retentionSafetyHours * 3600_000,
        budgetMs: rt.config.reconcileBudgetMs,
      },
    },
    { dryRun: request.dryRun, ...(request.only ? { only: request.only } : {}) },
  );
}
