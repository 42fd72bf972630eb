// What a JSON source holds, as counts per collection (the manifest's `tables`) and a fingerprint of
// its top-level shape. Pure: the records are the members of each format's collections, never the
// top-level keys of the file (SOURCES.md).

import { createHash } from 'node:crypto';
import type { SourceFormat } from '../../schema/sources/catalogue.js';
import type { TableCount } from '../../schema/snapshot/manifest.js';
import { isArrayLike, isObjectLike, sizeOf as memberCount } from '../../schema/sources/mappings/lazy-json.js';

/** Top-level members of intelligence.json that are summaries, not collections. */
const INTELLIGENCE_NON_COLLECTIONS = new Set(['stats', 'version']);

/**
 * Row counts per collection of a parsed JSON source.
 * - `ruvector-intelligence`: each top-level array (length) or object (member count) except `stats`
 * - `claude-flow-store`: `entries` (member count); the older v2 layout: one count per namespace array
 * - `claude-flow-daemon`: `workers`
 * - `ruvector-redb-meta`: `meta` → 1 (one settings object)
 * - `claude-flow-metrics` (one file): `<file base name>` → array length, or 1 for an object
 * - others: the document as `items` (array length) or its top-level arrays/objects
 * @example jsonCollections('claude-flow-store', { version: 1, entries: { a: {}, b: {} } }, 'store.json') // [{ name: 'entries', rows: 2 }]
 */
export function jsonCollections(format: SourceFormat, value: unknown, fileName: string): TableCount[] {
  const base = fileName.replace(/\.json$/i, '');
  switch (format) {
    case 'claude-flow-metrics':
      return [{ name: base, rows: isArrayLike(value) ? sizeOf(value) : 1 }];
    case 'ruvector-redb-meta':
      return [{ name: 'meta', rows: 1 }];
    case 'claude-flow-daemon':
      return isObject(value) ? [{ name: 'workers', rows: sizeOf(value['workers']) }] : [];
    case 'claude-flow-store': {
      if (!isObject(value)) return [];
      if ('entries' in value) return [{ name: 'entries', rows: sizeOf(value['entries']) }];
      // v2 layout: { <namespace>: [ entries ] }
      return Object.entries(value)
        .filter(([, v]) => isArrayLike(v))
        .map(([k, v]) => ({ name: k, rows: sizeOf(v) }))
        .sort(byName);
    }
    case 'ruvector-intelligence':
      return collectionsOf(value, INTELLIGENCE_NON_COLLECTIONS);
    default:
      if (isArrayLike(value)) return [{ name: 'items', rows: sizeOf(value) }];
      return collectionsOf(value, new Set());
  }
}

/** sha256 of the sorted top-level key set (`[array]` for an array, the type name for a scalar). */
export function jsonFingerprint(value: unknown): string {
  const shape = isArrayLike(value) ? '[array]' : isObject(value) ? Object.keys(value).sort().join('\n') : typeof value;
  return createHash('sha256').update(shape).digest('hex');
}

function collectionsOf(value: unknown, skip: ReadonlySet<string>): TableCount[] {
  if (!isObject(value)) return [];
  return Object.entries(value)
    .filter(([k, v]) => !skip.has(k) && (isArrayLike(v) || isObjectLike(v)))
    .map(([k, v]) => ({ name: k, rows: sizeOf(v) }))
    .sort(byName);
}

/** Members of an object or elements of an array (a lazy member of a large file: counted when it was scanned). */
function sizeOf(v: unknown): number {
  return isArrayLike(v) || isObjectLike(v) ? memberCount(v) : 0;
}

/** A plain object: a parsed document's top level (a large file's too: its big members are lazy). */
function isObject(v: unknown): v is Record<string, unknown> {
  return isObjectLike(v) && !('lazyKind' in v);
}

function byName(a: TableCount, b: TableCount): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
