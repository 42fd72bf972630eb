// Recognising a source's storage kind from its first bytes (never from its name). Pure.

/** First 16 bytes of every SQLite 3 database. */
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** First 9 bytes of a redb file (the @ruvector/core VectorDb store). */
export const REDB_MAGIC = Buffer.from([0x72, 0x65, 0x64, 0x62, 0x1a, 0x0a, 0xa9, 0x0d, 0x0a]);

/** How many leading bytes `contentKindOf` needs. */
export const HEADER_BYTES = 64;

export type ContentKind = 'sqlite' | 'redb' | 'json' | 'empty' | 'unknown';

/**
 * The kind of content a file's first bytes show. `json` only means "starts like JSON": it is
 * confirmed by parsing the whole file.
 * @example contentKindOf(Buffer.from('SQLite format 3\0…')) // 'sqlite'
 */
export function contentKindOf(header: Uint8Array): ContentKind {
  const buf = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (buf.length === 0) return 'empty';
  if (buf.length >= SQLITE_MAGIC.length && buf.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) return 'sqlite';
  if (buf.length >= REDB_MAGIC.length && buf.subarray(0, REDB_MAGIC.length).equals(REDB_MAGIC)) return 'redb';
  let i = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x0a || buf[i] === 0x0d)) i++;
  if (i === buf.length) return buf.length < HEADER_BYTES ? 'empty' : 'unknown';
  const c = buf[i];
  // Any JSON value may be a document, but the tools only write objects and arrays.
  if (c === 0x7b || c === 0x5b) return 'json';
  return 'unknown';
}

/** Words for a content kind, for messages ("found a SQLite database"). */
export function describeContentKind(kind: ContentKind): string {
  switch (kind) {
    case 'sqlite':
      return 'a SQLite database';
    case 'redb':
      return 'a redb (@ruvector/core) file';
    case 'json':
      return 'a JSON document';
    case 'empty':
      return 'an empty file';
    default:
      return 'a file of unknown format';
  }
}
