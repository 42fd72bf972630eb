// Human text and JSON for a load outcome (its warnings apart, for stderr) and for search results. Pure.

import type { LoadOutcome, LoadProgress } from '../../functions/loader/load-snapshot.js';
import type { SearchResult } from '../../functions/search/search.js';
import { formatCount, renderTable } from './format.js';
import { formatAge } from './ops-report.js';
import type { Progress } from './progress.js';

/** One JSON-friendly object per outcome (counts are numbers). */
export function loadOutcomeJson(outcome: LoadOutcome): Record<string, unknown> {
  return { ...outcome };
}

export function renderLoadOutcome(outcome: LoadOutcome): string {
  switch (outcome.status) {
    case 'duplicate':
      return `load: snapshot already loaded as run ${outcome.runId} (${outcome.previousStatus}); nothing to do\n`;
    case 'quarantined':
      return `load: snapshot QUARANTINED (${outcome.code}): ${outcome.reason}\n  report: ${outcome.reportKey}\n  nothing of it was written\n`;
    case 'loaded': {
      const rows = Object.entries(outcome.tables)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, c]) => [k, formatCount(c.read), formatCount(c.inserted), formatCount(c.updated), formatCount(c.unchanged), formatCount(c.keptNewer), formatCount(c.missing)]);
      const t = outcome.totals;
      const lines = [
        `load: run ${outcome.runId}, env ${outcome.env}, snapshot ${outcome.snapshotId} in ${(outcome.durationMs / 1000).toFixed(1)} s`,
        renderTable(['source/table', 'read', 'inserted', 'updated', 'unchanged', 'kept-newer', 'missing'], rows, new Set([1, 2, 3, 4, 5, 6])),
        `total: ${formatCount(t.read)} read, ${formatCount(t.inserted)} inserted, ${formatCount(t.updated)} updated, ${formatCount(t.unchanged)} unchanged, ${formatCount(t.keptNewer)} kept newer`,
      ];
      if (outcome.embedding) {
        const e = outcome.embedding;
        lines.push(`embeddings: ${formatCount(e.embedded)} filled (${formatCount(e.cacheHits)} from cache, ${formatCount(e.inferences)} computed), ${formatCount(e.pending)} pending`);
      }
      return `${lines.join('\n')}\n`;
    }
  }
}

/** A load's warnings for stderr: the first 20, then how many more and where to see them. */
export function loadWarnings(outcome: LoadOutcome, max = 20): string[] {
  if (outcome.status !== 'loaded') return [];
  const shown = outcome.warnings.slice(0, max);
  if (outcome.warnings.length > max) shown.push(`… and ${outcome.warnings.length - max} more warnings (all of them: --json)`);
  return shown;
}

export function renderSearchResult(result: SearchResult): string {
  if (result.hits.length === 0) return `no matches${result.notes.length ? ` (${result.notes.join('; ')})` : ''}\n`;
  const rows = result.hits.map((h) => [
    h.score.toFixed(3),
    h.table,
    h.env,
    (h.updatedAt ? formatAge(Math.max(0, Math.round((Date.now() - Date.parse(h.updatedAt)) / 1000))) : '-') + (h.missing ? ' (missing)' : ''),
    h.key.length > 36 ? `${h.key.slice(0, 35)}…` : h.key,
    (h.label ? `${h.label}: ` : '') + (h.excerpt.length > 80 ? `${h.excerpt.slice(0, 79)}…` : h.excerpt),
  ]);
  const notes = result.notes.map((n) => `note: ${n}`).join('\n');
  return `${renderTable(['score', 'table', 'env', 'age', 'key', 'text'], rows, new Set([0]))}\n${notes ? `${notes}\n` : ''}`;
}

/** Shows a load's progress on a progress line. */
export function showLoadProgress(progress: Progress, p: LoadProgress): void {
  if (p.phase === 'verify') progress.step('loading: verifying blobs', p.done, p.total);
  else if (p.phase === 'merge') progress.step('loading: merging sources', p.done, p.total);
  else progress.update('loading: embedding new text…');
}
