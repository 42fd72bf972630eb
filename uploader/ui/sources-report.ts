// Human rendering of the sources inventory (its warnings go to stderr, apart). Pure.

import type { Inventory } from '../snapshot/inventory.js';
import { formatBytes, formatCount, formatTime, renderTable } from './format.js';

/** The inventory as an aligned table, each present source followed by its tables and counts. */
export function renderInventory(inv: Inventory): string {
  const out: string[] = [`Workspace ${inv.workspace}${inv.configFile ? ` (config: ${inv.configFile})` : ''}`, ''];
  const rows = inv.entries.map((e) => [
    e.id,
    e.role,
    e.kind,
    e.format,
    e.state === 'present' ? '' : e.state.toUpperCase(),
    e.size === null ? '-' : formatBytes(e.size),
    e.modifiedAt === null ? '-' : formatTime(new Date(e.modifiedAt)),
    e.rows === null ? '-' : formatCount(e.rows),
    e.path,
  ]);
  out.push(renderTable(['SOURCE', 'ROLE', 'KIND', 'FORMAT', 'STATE', 'SIZE', 'MODIFIED', 'ROWS', 'PATH'], rows, new Set([5, 7])));
  for (const e of inv.entries) {
    if (e.tables === null || e.tables.length === 0) continue;
    out.push('', `${e.id}  ${e.path}`);
    for (const t of e.tables) out.push(`  ${t.name.padEnd(32)} ${formatCount(t.rows).padStart(10)}`);
  }
  if (inv.problems.length > 0) out.push('', 'Problems (these files will not be captured):', ...inv.problems.map((p) => `  - ${p}`));
  const missing = inv.entries.filter((e) => e.state === 'missing').length;
  const present = inv.entries.filter((e) => e.state === 'present').length;
  out.push('', `${present} present, ${missing} missing, ${inv.problems.length} with problems.`);
  return `${out.join('\n')}\n`;
}
