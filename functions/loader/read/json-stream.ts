// Large JSON files read streaming, with memory bounded whatever their size: one scan checks the
// whole file (UTF-8, syntax, nesting, member names) and finds its top-level members; each large
// member then becomes a LazyJson whose records are parsed from the file again, one at a time, when
// a mapping walks it. The values are those JSON.parse would give (a `__proto__` member stays an own
// property, a name given twice keeps its last value), so a file read streaming yields the same rows
// as one parsed whole (a differential fuzz target checks it).
//
// The parser is @streamparser/json (pinned): no dependencies, a synchronous write/callback API that
// runs inside the mappings' synchronous generators, byte offsets on every token (so a member can be
// re-read from its byte range alone), UTF-8 validated as it decodes, and a tokenizer measured at
// about JSON.parse's speed here (stream-json's was ~3x slower on the same 91 MB file).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TokenParser, Tokenizer } from '@streamparser/json';
import { AppError } from '../../../schema/errors.js';
import { validateJsonValue } from '../../../schema/sources/mappings/json-document.js';
import type { LazyJson } from '../../../schema/sources/mappings/lazy-json.js';
import type { MapContext } from '../../../schema/sources/mappings/map-context.js';
import { valueError } from '../../../schema/sources/mappings/map-context.js';

// token types of @streamparser/json (its TokenType enum)
const LEFT_BRACE = 0;
const RIGHT_BRACE = 1;
const LEFT_BRACKET = 2;
const RIGHT_BRACKET = 3;
const COLON = 4;
const STRING = 9;

const CHUNK = 1 << 20;
/** Largest single record (a member of a top-level collection) read into memory. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * A tokenizer whose strings keep a leading U+FEFF: @streamparser/json 0.0.26 decodes each string
 * with a TextDecoder that drops a byte-order mark at its start (`"\ufeffx"` came back as "x",
 * unlike JSON.parse; found by the differential fuzz target). Its string buffer's decoder is
 * replaced by one that keeps it.
 */
function newTokenizer(): Tokenizer {
  const tokenizer = new Tokenizer();
  const strings = (tokenizer as unknown as { bufferedString?: { decoder?: unknown } }).bufferedString;
  if (strings && strings.decoder instanceof TextDecoder) strings.decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return tokenizer;
}

interface Token {
  token: number;
  value: unknown;
  offset: number;
}

/** Where a container member of the top level lies in the file, and what the scan learnt of it. */
interface MemberSpan {
  kind: 'object' | 'array';
  start: number;
  end: number;
  size: number;
  /** Names given more than once among its members → how many times (an object's only). */
  repeated: Map<string, number> | null;
}

/** The top level of a streamed file: what the mappings get instead of a parsed document. */
export interface StreamedJson {
  /** A plain object (big members LazyJson, others plain values), a LazyJson array, or a scalar. */
  doc: unknown;
  /** Bytes scanned. */
  bytes: number;
}

/**
 * Scans `file` (a whole JSON document) and returns its top level with every container member
 * lazy. Throws PARSE_FAILED (not UTF-8, not JSON, too deep, truncated) or VALUE_INVALID (a NUL in
 * a member name, a record or value larger than the limits), naming `ctx.file`, never quoting it.
 */
export function openStreamedJson(file: string, ctx: MapContext, options: { maxRecordBytes?: number } = {}): StreamedJson {
  const maxRecord = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  const scan = scanFile(file, ctx, maxRecord);
  const lazy = (key: string | null, span: MemberSpan): LazyJson => ({
    lazyKind: span.kind,
    size: span.size,
    members: () => readMembers(file, span, ctx, key, maxRecord),
  });
  if (scan.top.kind === 'array') return { doc: lazy(null, scan.top.span), bytes: scan.bytes };
  if (scan.top.kind === 'scalar') return { doc: scan.top.value, bytes: scan.bytes };
  // a plain object, members assigned in file order: JSON.parse's order and last-wins for a repeated name
  const doc: Record<string, unknown> = {};
  for (const m of scan.top.members) {
    const value = m.span ? lazy(m.key, m.span) : m.value;
    if (m.key === '__proto__') Object.defineProperty(doc, m.key, { value, enumerable: true, writable: true, configurable: true });
    else doc[m.key] = value;
  }
  return { doc, bytes: scan.bytes };
}

/** A top-level member; `problem`: what is wrong inside it, thrown only if it is not replaced by a later member of the same name (JSON.parse drops that one). */
interface TopMember {
  key: string;
  value?: unknown;
  span?: MemberSpan;
  problem?: unknown;
}

type Top =
  | { kind: 'object'; members: TopMember[] }
  | { kind: 'array'; span: MemberSpan }
  | { kind: 'scalar'; value: unknown };

/** Feeds `file` (or its byte range) to `tokenizer`, calling `afterChunk` with the bytes fed so far. */
function feed(file: string, ctx: MapContext, tokenizer: Tokenizer, range: { start: number; end: number } | null, afterChunk: (fed: number) => void): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new AppError('SOURCE_UNREADABLE', `${ctx.file}: cannot read the file (${(err as Error).message}). Check that it exists and is readable.`, { cause: err });
  }
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = range?.start ?? 0;
  const end = range?.end ?? fstatSync(fd).size;
  try {
    while (pos < end) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, end - pos), pos);
      if (n === 0) break;
      try {
        tokenizer.write(buf.subarray(0, n));
      } catch (err) {
        throw syntaxError(ctx, err, pos);
      }
      pos += n;
      afterChunk(pos);
    }
    try {
      tokenizer.end();
    } catch (err) {
      throw syntaxError(ctx, err, pos);
    }
  } finally {
    closeSync(fd);
  }
  return pos;
}

/** Our own words for a tokenizer error (its own quote the offending character). */
function syntaxError(ctx: MapContext, err: unknown, chunkStart: number): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/not valid for encoding utf-8/i.test(message)) {
    return new AppError('PARSE_FAILED', `${ctx.file}: expected UTF-8 JSON, got bytes that are not valid UTF-8 (at or after byte ${chunkStart}). The file is damaged or not written by the tools; restore it or remove it from the workspace, then push again.`, {
      details: { file: ctx.file },
    });
  }
  const at = /absolute position "(\d+)"/.exec(message)?.[1];
  return new AppError('PARSE_FAILED', `${ctx.file}: expected valid JSON, got ${at ? `an unexpected character at byte ${at}` : 'a syntax error'}. The file may have been caught mid-write; push again, or restore it if it stays broken.`, {
    details: { file: ctx.file },
  });
}

function truncated(ctx: MapContext): AppError {
  return new AppError('PARSE_FAILED', `${ctx.file}: expected valid JSON, got a document that ends before it is complete (truncated?). The file may have been caught mid-write; push again, or restore it if it stays broken.`, {
    details: { file: ctx.file },
  });
}

function tooDeep(ctx: MapContext, depth: number): AppError {
  return new AppError('PARSE_FAILED', `${ctx.file}: expected JSON nested at most ${ctx.maxJsonDepth} levels deep, got ${depth} levels. The tools never write such nesting; inspect the file, fix or remove it, then push again.`, {
    details: { file: ctx.file, depth },
  });
}

function tooLarge(ctx: MapContext, path: Array<string | number>, bytes: number, max: number): AppError {
  const [collection, record] = path;
  return valueError(ctx, {
    table: collection === undefined ? '$' : String(collection),
    key: record === undefined ? undefined : String(record),
    expected: `a record of at most ${max} bytes`,
    got: `more than ${bytes} bytes`,
    fix: 'Such a record is not learning data the tools write; remove or shorten it in the source, then push again.',
  });
}

function nulInName(ctx: MapContext, path: Array<string | number>): AppError {
  const [collection, record] = path;
  return valueError(ctx, {
    table: collection === undefined ? '$' : String(collection),
    key: record === undefined ? undefined : String(record).replaceAll('\u0000', '\\u0000'),
    expected: 'a member name without NUL characters',
    got: 'a NUL character in the name (stripping it would change the identity)',
    fix: 'The file is damaged or was not written by the tools; fix or remove that value in the source, then push again.',
  });
}

/** 32-bit FNV-1a of a member name (duplicate detection without holding every name). */
function nameHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A growable Uint32Array of name hashes. */
class HashList {
  private data = new Uint32Array(1024);
  length = 0;
  push(h: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = h;
  }
  /** The hashes that occur more than once. */
  repeated(): Set<number> {
    const sorted = this.data.subarray(0, this.length).slice().sort();
    const out = new Set<number>();
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) out.add(sorted[i]!);
    return out;
  }
}

/**
 * One pass over the whole file: validity, nesting, the top level's members and their byte spans,
 * member counts, repeated names (by hash; confirmed by a second pass only when some hash repeats).
 */
function scanFile(file: string, ctx: MapContext, maxRecord: number): { top: Top; bytes: number } {
  const tokenizer = newTokenizer();
  // offsets start after a byte-order mark
  const shift = startsWithBom(file) ? 3 : 0;
  let depth = 0;
  let done = false;
  // per container level: object awaiting a key? (true) / array (null)
  const expectKey: Array<boolean | null> = [];
  let top: Top | null = null;
  let topKey: string | null = null;
  let current: { key: string | null; span: MemberSpan; hashes: HashList | null; member: TopMember } | null = null;
  let recordStart = -1;
  let recordPath: Array<string | number> = [];
  let lastToken = 0;
  let index = 0;
  const recordDepth = () => (top?.kind === 'array' ? 1 : 2);

  tokenizer.onToken = ({ token, value, offset: rawOffset }: Token) => {
    const offset = rawOffset + shift;
    lastToken = offset;
    if (done) throw new Error(`Unexpected content at chunk position "0" (absolute position "${offset}")`);
    const inObject = depth > 0 && expectKey[depth - 1] !== null;
    // a member name
    if (inObject && expectKey[depth - 1] === true && token === STRING) {
      const name = value as string;
      if (depth === 1) {
        if (name.includes('\u0000')) throw nulInName(ctx, [name]);
        topKey = name;
      } else if (depth === 2 && current) {
        if (name.includes('\u0000')) current.member.problem ??= nulInName(ctx, [current.key ?? '$', name]);
        current.hashes?.push(nameHash(name));
        recordPath = [current.key ?? '$', name];
      }
      expectKey[depth - 1] = false;
      return;
    }
    if (token === COLON) return;
    if (token === 5) {
      // comma: an object awaits its next name
      if (inObject) expectKey[depth - 1] = true;
      return;
    }
    const opens = token === LEFT_BRACE || token === LEFT_BRACKET;
    const closes = token === RIGHT_BRACE || token === RIGHT_BRACKET;
    if (!closes) {
      // a value starts at `depth`
      if (depth === 0) {
        if (!opens) {
          validateJsonValue(value, ctx, []);
          top = { kind: 'scalar', value };
          done = true;
          return;
        }
        top = token === LEFT_BRACKET ? { kind: 'array', span: { kind: 'array', start: offset, end: -1, size: 0, repeated: null } } : { kind: 'object', members: [] };
      } else if (depth === 1 && top?.kind === 'object') {
        const key = topKey ?? '';
        if (opens) {
          const member: TopMember = { key, span: { kind: token === LEFT_BRACE ? 'object' : 'array', start: offset, end: -1, size: 0, repeated: null } };
          current = { key, span: member.span!, hashes: token === LEFT_BRACE ? new HashList() : null, member };
          top.members.push(member);
        } else {
          const member: TopMember = { key, value };
          try {
            validateJsonValue(value, ctx, [key]);
          } catch (err) {
            member.problem = err;
          }
          top.members.push(member);
        }
      } else if (depth === 1 && top?.kind === 'array') {
        top.span.size++;
        recordPath = [index++];
        if (!opens) validateJsonValue(value, ctx, recordPath);
      } else if (depth === 2 && current) {
        current.span.size++;
        if (current.span.kind === 'array') recordPath = [current.key ?? '$', current.span.size - 1];
      }
      // a record (a member of a top-level collection) starts: bounded while it is read
      if (opens && depth === recordDepth()) recordStart = offset;
    }
    if (opens) {
      depth++;
      if (depth > ctx.maxJsonDepth) throw tooDeep(ctx, depth);
      expectKey.push(token === LEFT_BRACE ? true : null);
      return;
    }
    if (closes) {
      depth--;
      expectKey.pop();
      if (depth === recordDepth() && recordStart >= 0) recordStart = -1;
      if (depth === 1 && current && top?.kind === 'object') {
        current.span.end = offset + 1;
        finishSpan(current, file, ctx, maxRecord);
        current = null;
      }
      if (depth === 0) {
        if (top?.kind === 'array') top.span.end = offset + 1;
        done = true;
      }
    }
  };
  const bytes = feed(file, ctx, tokenizer, null, (fed) => {
    if (recordStart >= 0 && fed - recordStart > maxRecord) throw tooLarge(ctx, recordPath, fed - recordStart, maxRecord);
    if (fed - lastToken > maxRecord) throw tooLarge(ctx, recordPath, fed - lastToken, maxRecord);
  });
  if (!done || top === null) throw truncated(ctx);
  const found = top as Top;
  if (found.kind === 'object') {
    // only what JSON.parse keeps counts: the last member of each name
    const last = new Map(found.members.map((m) => [m.key, m]));
    for (const m of found.members) if (last.get(m.key) === m && m.problem !== undefined) throw m.problem;
  }
  return { top: found, bytes };
}

/** Repeated names of an object member, confirmed by name (a hash may collide). */
function finishSpan(c: { key: string | null; span: MemberSpan; hashes: HashList | null }, file: string, ctx: MapContext, maxRecord: number): void {
  if (!c.hashes) return;
  const suspects = c.hashes.repeated();
  c.hashes = null;
  if (suspects.size === 0) return;
  const counts = new Map<string, number>();
  for (const name of memberNames(file, c.span, ctx, maxRecord)) if (suspects.has(nameHash(name))) counts.set(name, (counts.get(name) ?? 0) + 1);
  c.span.repeated = new Map([...counts].filter(([, n]) => n > 1));
}

function* memberNames(file: string, span: MemberSpan, ctx: MapContext, _maxRecord: number): Generator<string> {
  const names: string[] = [];
  const tokenizer = newTokenizer();
  let depth = 0;
  let expectKey = false;
  tokenizer.onToken = ({ token, value }: Token) => {
    if (depth === 1 && expectKey && token === STRING) {
      names.push(value as string);
      expectKey = false;
      return;
    }
    if (token === LEFT_BRACE || token === LEFT_BRACKET) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (token === RIGHT_BRACE || token === RIGHT_BRACKET) depth--;
    else if (token === 5 && depth === 1) expectKey = true;
  };
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = span.start; pos < span.end; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, span.end - pos), pos);
      if (n === 0) break;
      tokenizer.write(buf.subarray(0, n));
      pos += n;
      yield* names.splice(0);
    }
  } catch (err) {
    throw syntaxError(ctx, err, span.start);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  yield* names.splice(0);
}

/**
 * The members of one container (its byte span), each record parsed whole and checked as
 * parseJsonDocument checks it, in file order; a repeated name yields only its last value.
 */
function* readMembers(file: string, span: MemberSpan, ctx: MapContext, key: string | null, maxRecord: number): Generator<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const tokenizer = newTokenizer();
  const isObject = span.kind === 'object';
  const seen = span.repeated ? new Map<string, number>() : null;
  let depth = 0;
  let expectKey = false;
  let name = '';
  let index = 0;
  let parser: TokenParser | null = null;
  let recordStart = -1;
  const path = (member: string) => (key === null ? [isObject ? member : Number(member)] : [key, isObject ? member : Number(member)]);
  const emit = (member: string, value: unknown) => {
    if (seen) {
      const total = span.repeated?.get(member);
      if (total !== undefined) {
        const n = (seen.get(member) ?? 0) + 1;
        seen.set(member, n);
        if (n < total) return; // JSON.parse keeps the last
      }
    }
    validateJsonValue(value, ctx, path(member));
    out.push([member, value]);
  };
  tokenizer.onToken = (t: Token) => {
    const { token, value } = t;
    if (parser) {
      parser.write(t as never);
      if (token === LEFT_BRACE || token === LEFT_BRACKET) depth++;
      else if (token === RIGHT_BRACE || token === RIGHT_BRACKET) depth--;
      if (depth === 1) {
        parser = null;
        recordStart = -1;
      }
      return;
    }
    if (depth === 0) {
      depth = 1;
      expectKey = isObject;
      return;
    }
    if (isObject && expectKey && token === STRING) {
      name = value as string;
      expectKey = false;
      return;
    }
    if (token === COLON) return;
    if (token === 5) {
      if (isObject) expectKey = true;
      return;
    }
    if (token === RIGHT_BRACE || token === RIGHT_BRACKET) {
      depth = 0;
      return;
    }
    const member = isObject ? name : String(index++);
    if (token === LEFT_BRACE || token === LEFT_BRACKET) {
      const p = new TokenParser({ paths: ['$'] });
      p.onValue = ({ value: v }) => emit(member, v);
      parser = p;
      recordStart = t.offset + span.start;
      depth++;
      p.write(t as never);
      return;
    }
    emit(member, value);
  };
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = span.start; pos < span.end; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, span.end - pos), pos);
      if (n === 0) break;
      try {
        tokenizer.write(buf.subarray(0, n));
      } catch (err) {
        throw syntaxError(ctx, err, pos);
      }
      pos += n;
      if (recordStart >= 0 && pos - recordStart > maxRecord) throw tooLarge(ctx, path(isObject ? name : String(index - 1)), pos - recordStart, maxRecord);
      if (out.length > 0) yield* out.splice(0);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  yield* out.splice(0);
}

function startsWithBom(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(3);
    return readSync(fd, b, 0, 3, 0) === 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
  } finally {
    closeSync(fd);
  }
}
