// Strict parsing of a JSON source file: valid UTF-8, bounded nesting, numbers within the double
// range, no NUL in member names, no single string above the value limit. Refuses (with the file
// and the JSON path) instead of turning bad input into Infinity, null or mangled keys. Pure.

import { AppError } from '../../errors.js';
import { describeJsonSyntaxError } from '../../json-syntax.js';
import type { MapContext } from './map-context.js';
import { valueError } from './map-context.js';

/**
 * Deepest array/object nesting of JSON text, found by a linear scan that skips strings (run
 * before `JSON.parse` so hostile nesting cannot exhaust the stack).
 */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * Parses and checks a JSON source file's bytes. Throws AppError PARSE_FAILED (not UTF-8, not
 * JSON, too deep) or VALUE_INVALID (number beyond double range, NUL in a member name, oversize
 * string), naming the file and the JSON path.
 *
 * @example
 * const doc = parseJsonDocument(readFileSync(file), mapContext('.claude-flow/memory/store.json'));
 */
export function parseJsonDocument(bytes: Uint8Array, ctx: MapContext): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new AppError('PARSE_FAILED', `${ctx.file}: expected UTF-8 JSON, got bytes that are not valid UTF-8 (at byte ${firstInvalidUtf8(bytes)}). The file is damaged or not written by the tools; restore it or remove it from the workspace, then push again.`, {
      details: { file: ctx.file },
    });
  }
  const depth = jsonNestingDepth(text);
  if (depth > ctx.maxJsonDepth) {
    throw new AppError('PARSE_FAILED', `${ctx.file}: expected JSON nested at most ${ctx.maxJsonDepth} levels deep, got ${depth} levels. The tools never write such nesting; inspect the file, fix or remove it, then push again.`, {
      details: { file: ctx.file, depth },
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AppError('PARSE_FAILED', `${ctx.file}: expected valid JSON, got ${describeJsonSyntaxError(err)}. The file may have been caught mid-write; push again, or restore it if it stays broken.`, {
      cause: err,
      details: { file: ctx.file },
    });
  }
  validate(doc, ctx, []);
  return doc;
}

function validate(v: unknown, ctx: MapContext, path: Array<string | number>): void {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail(ctx, path, 'a number within the double range (±1.8e308)', 'a number beyond it (JSON.parse would make it Infinity)');
    return;
  }
  if (typeof v === 'string') {
    if (v.length * 3 > ctx.maxValueBytes && Buffer.byteLength(v, 'utf8') > ctx.maxValueBytes) {
      fail(ctx, path, `a value of at most ${ctx.maxValueBytes} bytes`, `${Buffer.byteLength(v, 'utf8')} bytes`);
    }
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) validate(v[i], ctx, [...path, i]);
    return;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k.includes('\u0000')) fail(ctx, [...path, k.replaceAll('\u0000', '\\u0000')], 'a member name without NUL characters', 'a NUL character in the name (stripping it would change the identity)');
      validate(x, ctx, [...path, k]);
    }
  }
}

/**
 * The checks parseJsonDocument applies to every value (numbers within the double range, no NUL in
 * member names, no string above the value limit), for one value found at `path` — what a
 * streaming reader applies to each record it parses.
 */
export function validateJsonValue(v: unknown, ctx: MapContext, path: Array<string | number>): void {
  validate(v, ctx, path);
}

function fail(ctx: MapContext, path: ReadonlyArray<string | number>, expected: string, got: string): never {
  const [collection, record, ...rest] = path;
  throw valueError(ctx, {
    table: collection === undefined ? '$' : String(collection),
    key: record === undefined ? undefined : String(record),
    field: rest.length > 0 ? jsonPath(rest) : undefined,
    expected: `${expected} at ${jsonPath(path)}`,
    got,
    fix: 'The file is damaged or was not written by the tools; fix or remove that value in the source, then push again.',
  });
}

/** `$.entries["a b"].value[3]` style path. */
export function jsonPath(path: ReadonlyArray<string | number>): string {
  let out = '$';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Binary search on prefixes is wrong for multi-byte sequences; a linear check of sequences is exact.
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    try {
      decoder.decode(bytes.subarray(i, i + len));
    } catch {
      return i;
    }
    i += len;
  }
  return i;
}
