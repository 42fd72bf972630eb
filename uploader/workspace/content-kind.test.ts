import { describe, expect, it } from 'vitest';
import { contentKindOf, REDB_MAGIC, SQLITE_MAGIC } from './content-kind.js';

describe('contentKindOf', () => {
  it('recognises SQLite and redb from their magic bytes', () => {
    expect(contentKindOf(Buffer.concat([SQLITE_MAGIC, Buffer.alloc(20)]))).toBe('sqlite');
    expect(contentKindOf(Buffer.concat([REDB_MAGIC, Buffer.alloc(20)]))).toBe('redb');
  });
  it('recognises JSON objects and arrays after whitespace or a BOM', () => {
    expect(contentKindOf(Buffer.from('  \n{"a":1}'))).toBe('json');
    expect(contentKindOf(Buffer.from('\ufeff[1]'))).toBe('json');
  });
  it('calls a SQLite-named text file unknown and an empty file empty', () => {
    expect(contentKindOf(Buffer.from('hello world'))).toBe('unknown');
    expect(contentKindOf(Buffer.alloc(0))).toBe('empty');
    expect(contentKindOf(Buffer.from('SQLite format 2'))).toBe('unknown');
  });
});
