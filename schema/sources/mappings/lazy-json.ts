// A JSON object or array too large to hold in memory: its members are read from the file again on
// every pass (functions/loader/read/json-stream.ts makes them). The mappings see a large JSON file
// as its top-level object whose big members are LazyJson, and walk them with the helpers below,
// which treat plain values and lazy ones alike. Pure.

/** An object or array whose members are streamed from the file on each pass. */
export interface LazyJson {
  readonly lazyKind: 'object' | 'array';
  /** How many members it has (counted when the file was scanned). */
  readonly size: number;
  /**
   * Its members, in file order, each value whole (a record): [name, value] of an object (a name
   * given twice: only the last, as JSON.parse keeps it), [index, value] of an array.
   */
  members(): Iterable<[string, unknown]>;
}

/** True for a LazyJson. */
export function isLazy(v: unknown): v is LazyJson {
  return typeof v === 'object' && v !== null && 'lazyKind' in v && typeof (v as LazyJson).members === 'function';
}

/** A plain object (not an array, not null), or a lazy object. */
export function isObjectLike(v: unknown): v is Record<string, unknown> | LazyJson {
  if (isLazy(v)) return v.lazyKind === 'object';
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An array, or a lazy array. */
export function isArrayLike(v: unknown): v is unknown[] | LazyJson {
  return Array.isArray(v) || (isLazy(v) && v.lazyKind === 'array');
}

/** [name, value] of each member of an object (plain or lazy). */
export function membersOf(v: Record<string, unknown> | LazyJson): Iterable<[string, unknown]> {
  return isLazy(v) ? v.members() : Object.entries(v);
}

/** The elements of an array (plain or lazy). */
export function* elementsOf(v: unknown[] | LazyJson): Iterable<unknown> {
  if (!isLazy(v)) {
    yield* v;
    return;
  }
  for (const [, value] of v.members()) yield value;
}

/** Member or element count. */
export function sizeOf(v: unknown): number {
  if (isLazy(v)) return v.size;
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length;
  return 0;
}

/** True when every element of an array (plain or lazy) passes `test`. */
export function everyElement(v: unknown[] | LazyJson, test: (x: unknown) => boolean): boolean {
  for (const x of elementsOf(v)) if (!test(x)) return false;
  return true;
}
