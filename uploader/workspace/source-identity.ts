// Which source id a configured path captures under. Pure.
//
// Rows are keyed by (environment, source id, table, key). Two files under ONE id with the same
// tables (the README's `"v3-memory": { "paths": ["v3/…/memory.db", "v3-old/…/memory.db"] }`) would
// overwrite each other's rows and mark each other's rows missing. So each path of a source with
// several paths is its own identity: the catalogue's default path (and the only path of a source
// with one) keeps the id; every other path gets `<id>-<path slug>-<hash>`, stable whatever the
// order of the list.

import { createHash } from 'node:crypto';
import { catalogueEntry, SOURCE_ID_PATTERN } from '../../schema/sources/catalogue.js';

/**
 * The source id `path` of a source configured with `paths` captures under.
 * @example sourceIdFor('v3-memory', ['v3/.agentic-qe/memory.db', 'v3-old/.agentic-qe/memory.db'], 'v3-old/.agentic-qe/memory.db') // 'v3-memory-v3-old-agentic-qe-memory-db-5d1c2e'
 */
export function sourceIdFor(id: string, paths: readonly string[], path: string): string {
  if (paths.length <= 1) return id;
  if (catalogueEntry(id)?.paths.includes(path)) return id;
  const hash = createHash('sha256').update(path).digest('hex').slice(0, 6);
  const slug = path
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const room = 63 - id.length - 1 - hash.length - 1;
  const part = slug.slice(0, Math.max(0, room)).replace(/-+$/, '');
  const derived = part === '' ? `${id}-${hash}` : `${id}-${part}-${hash}`;
  if (!SOURCE_ID_PATTERN.test(derived)) throw new TypeError(`sourceIdFor: derived an invalid id "${derived}"`);
  return derived;
}
