// Text output of the operator commands (status, verify, rollback, patterns, pull). Pure.

import type { DatabaseStatus } from '../../functions/ops/status.js';
import { formatCount, renderTable } from './format.js';
import type { LocalChanges } from '../ops/local-changes.js';

/** `3725` → `1h 2m`; `40` → `40s`. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function renderStatus(r: DatabaseStatus & { description: string; local: LocalChanges | null; localProblem: string | null; notes?: readonly string[] }): string {
  const out: string[] = [`database: ${r.description}`];
  if (r.environments.length === 0) out.push('  no environment has loaded a snapshot yet');
  for (const e of r.environments) {
    out.push('', `environment ${e.env}`);
    out.push(`  last snapshot: ${e.lastSnapshot ? `${e.lastSnapshot.id} (${e.lastSnapshot.at}, ${formatAge(e.lastSnapshot.ageSeconds)} ago)` : 'none'}`);
    out.push(`  last successful load: ${e.lastSuccess ? `${e.lastSuccess.at} (${formatAge(e.lastSuccess.ageSeconds)} ago)` : 'never'}`);
    const by = Object.entries(e.runsLastDay.byStatus).map(([s, n]) => `${n} ${s}`).join(', ');
    out.push(`  runs in the last day: ${e.runsLastDay.total}${by ? ` (${by})` : ''}`);
    for (const run of e.runsLastDay.runs.slice(0, 10)) {
      out.push(`    #${run.id} ${run.snapshotId} ${run.status} ${run.startedAt}${run.status === 'succeeded' ? ` +${run.inserted} ~${run.updated} =${run.unchanged}` : ''}${run.error ? ` ${run.error.split('\n')[0]}` : ''}`);
    }
    if (e.runsLastDay.runs.length > 10) out.push(`    … and ${e.runsLastDay.runs.length - 10} more (all of them: aqe-upload status --env ${e.env} --json)`);
    out.push(`  quarantined snapshots: ${e.quarantined.length}`);
    for (const q of e.quarantined) out.push(`    ${q.snapshotId ?? q.manifestKey}: ${q.code}: ${q.reason.split('\n')[0]}`);
    out.push(`  rows: ${formatCount(e.rows)} (${formatCount(e.missingRows)} gone from their source), embeddings pending: ${formatCount(e.pendingEmbeddings)}`);
    const rows = Object.entries(e.tables).map(([t, n]) => [`    ${t}`, formatCount(n)]);
    if (rows.length > 0) out.push(renderTable(['    table', 'rows'], rows, new Set([1])));
  }
  out.push('');
  if (r.local) {
    const l = r.local;
    out.push(`local workspace ${l.workspace} (environment ${l.env})`);
    out.push(`  last push: ${l.lastPush ? `${l.lastPush.snapshotId} (${l.lastPush.createdAt}, ${formatAge(l.lastPush.ageSeconds)} ago)` : 'never'}`);
    out.push(`  sources changed since: ${l.changed}`);
    for (const s of l.sources) out.push(`    ${s.state.padEnd(12)} ${s.path} (${s.sourceId})`);
  } else if (r.localProblem) {
    out.push(`local workspace: not shown (${r.localProblem.split('\n')[0]})`);
  }
  for (const n of r.notes ?? []) out.push(`note: ${n}`);
  return `${out.join('\n')}\n`;
}

export function renderVerify(r: import('../ops/verify-workspace.js').VerifyResult): string {
  const out: string[] = [];
  const rows = r.pairs.map((p) => [p.sourceId, p.table, formatCount(p.local), formatCount(p.cloud), formatCount(p.missing), formatCount(p.extra), formatCount(p.different), p.incomplete ? 'INCOMPLETE READ' : p.equal ? 'equal' : 'DIFFERENT']);
  out.push(`environment ${r.env}: ${r.equal ? 'the cloud matches the workspace' : `${r.totals.differingPairs} of ${r.totals.pairs} (source, table) pairs differ`}`);
  if (rows.length > 0) out.push(renderTable(['source', 'table', 'local', 'cloud', 'missing', 'extra', 'different', ''], rows, new Set([2, 3, 4, 5, 6])));
  for (const p of r.pairs) {
    if (!p.keys || p.equal) continue;
    for (const [kind, keys] of Object.entries(p.keys) as Array<[string, string[]]>) {
      for (const k of keys) out.push(`  ${kind.padEnd(9)} ${p.sourceId} ${p.table} ${k}`);
    }
  }
  for (const p of r.problems) out.push(`not compared: ${p.path} (${p.sourceId}): ${p.reason.split('\n')[0]}`);
  if (!r.equal && !r.pairs.some((p) => p.keys)) out.push('Run again with --details to list the keys.');
  return `${out.join('\n')}\n`;
}

/** `reapply`: extra flags for the runnable `aqe-upload load` hint (the same database and bucket). */
export function renderRollback(r: import('../../functions/ops/rollback.js').RollbackReport, reapplyFlags = ''): string {
  const verb = r.dryRun ? 'would roll back' : 'rolled back';
  const out = [`${r.env}: ${verb} run ${r.runs.map((x) => `#${x.id} (${x.snapshotId})`).join(', ')}${r.dryRun ? ' (dry run: nothing changed)' : ''}`];
  const rows = Object.entries(r.tables).map(([t, c]) => [t, formatCount(c.restored), formatCount(c.deleted), formatCount(c.unmarkedMissing)]);
  if (rows.length > 0) out.push(renderTable(['table', 'restored', 'deleted', 'present again'], rows, new Set([1, 2, 3])));
  out.push(`total: ${formatCount(r.totals.restored)} restored, ${formatCount(r.totals.deleted)} deleted, ${formatCount(r.totals.unmarkedMissing)} present again`);
  if (!r.dryRun) {
    out.push(`To re-apply, load the same snapshot${r.runs.length > 1 ? 's' : ''} again:`);
    for (const run of r.runs) out.push(`  aqe-upload load --manifest ${run.manifestKey}${reapplyFlags}`);
  }
  return `${out.join('\n')}\n`;
}

const pct = (x: number | null) => (x === null ? '-' : x.toFixed(3));

export function renderConsensus(rows: readonly import('../../functions/ops/consensus.js').ConsensusPattern[]): string {
  if (rows.length === 0) return 'no patterns\n';
  const table = rows.map((r) => [r.name ?? '-', r.qeDomain ?? '-', pct(r.confidence), pct(r.successRate), formatCount(r.usageCount), r.environments.join(',')]);
  return `${renderTable(['pattern', 'domain', 'confidence', 'success', 'usage', 'environments'], table, new Set([2, 3, 4]))}\n`;
}

export function renderPatterns(rows: readonly import('../../functions/ops/consensus.js').PatternRow[]): string {
  if (rows.length === 0) return 'no patterns\n';
  const table = rows.map((r) => [r.env, r.name ?? '-', r.qeDomain ?? '-', pct(r.confidence), pct(r.successRate), formatCount(r.usageCount)]);
  return `${renderTable(['env', 'pattern', 'domain', 'confidence', 'success', 'usage'], table, new Set([3, 4, 5]))}\n`;
}

export function renderPull(r: import('../ops/pull-patterns.js').PullResult): string {
  const out = [
    `${r.dryRun ? 'would add' : 'added'} ${r.added.length} pattern(s) to ${r.database} from ${r.fromEnvs === 'all' ? 'all other environments' : r.fromEnvs.join(', ')}${r.dryRun ? ' (dry run: nothing written)' : ''}`,
    `  ${r.candidates} candidate(s); skipped ${r.skipped.knownLocally} the local tool already knows, ${r.skipped.alreadyPulled} pulled before, ${r.skipped.incomplete} lacking a value the local schema requires`,
  ];
  if (r.added.length > 0) out.push(`  ${r.embeddings.written} with the vector their source environment's agentic-qe made (its own semantic search finds them)${r.embeddings.without.length > 0 ? `; ${r.embeddings.without.length} without one` : ''}`);
  for (const w of r.embeddings.without.slice(0, 10)) out.push(`    no vector for ${w.name ?? w.id}: ${w.reason}`);
  if (r.backup) out.push(`  backup: ${r.backup}${r.backupsRemoved.length > 0 ? ` (${r.backupsRemoved.length} older backup(s) removed)` : ''}`);
  for (const a of r.added.slice(0, 50)) out.push(`  + ${a.id} ${a.name ?? '-'} (${a.environments.join(',')})`);
  if (r.added.length > 50) out.push(`  … and ${r.added.length - 50} more`);
  return `${out.join('\n')}\n`;
}
