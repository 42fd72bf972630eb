// A read-only parser of redb 2.x database files (the format @ruvector/core writes with redb
// 2.6.3), following redb's docs/design.md and src/tree_store at tag v2.6.3: the super-header and
// its two commit slots, page numbers (region, index, order), and the B-tree leaf and branch pages
// of the table tree and of each table. It enumerates every key of a table in key order, so a
// VectorDb file is read completely and the same way every time (no index search, no binding).
// Page checksums (XXH3-128) are not verified; the entry count every table records is, so a read
// that does not find every entry says so instead of passing for complete.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** 'redb' 0x1A 0x0A 0xA9 0x0D 0x0A (header.rs MAGICNUMBER). */
export const REDB_MAGIC = Buffer.from([0x72, 0x65, 0x64, 0x62, 0x1a, 0x0a, 0xa9, 0x0d, 0x0a]);

const GOD_BYTE = 9;
const PAGE_SIZE = 12;
const REGION_HEADER_PAGES = 16;
const REGION_MAX_DATA_PAGES = 20;
const SLOT_OFFSETS = [64, 192] as const;
const SLOT_SIZE = 128;
const PRIMARY_BIT = 1;
const RECOVERY_REQUIRED = 2;
const LEAF = 1;
const BRANCH = 2;
/** Table definitions' table type (table_tree_base.rs: Normal 3, Multimap 4; 1 and 2 are format v1). */
const NORMAL_TABLE = 3;
const MAX_DEPTH = 64;

/** A page reference as stored (base.rs PageNumber: 20-bit index, 20-bit region, 5-bit order). */
export interface PageNumber {
  region: number;
  index: number;
  order: number;
}

/** A B-tree root: its page and how many entries the tree holds. */
export interface BtreeRoot {
  page: PageNumber;
  length: bigint;
}

/** One commit slot of the super-header. */
export interface CommitSlot {
  version: number;
  userRoot: BtreeRoot | null;
  transactionId: bigint;
}

export interface RedbHeader {
  pageSize: number;
  regionHeaderPages: number;
  regionMaxDataPages: number;
  primarySlot: 0 | 1;
  recoveryRequired: boolean;
  slots: [CommitSlot, CommitSlot];
}

export interface RedbTableDefinition {
  name: string;
  /** Entries the table records (its length): what a complete read must find. */
  length: bigint;
  root: BtreeRoot | null;
  fixedKeySize: number | null;
  fixedValueSize: number | null;
}

/** A problem with the file's structure: where, and what was found. */
export class RedbFormatError extends Error {
  override readonly name = 'RedbFormatError';
}

/** Decodes a PageNumber's 8 little-endian bytes. */
export function decodePageNumber(bytes: Buffer, offset: number): PageNumber {
  const v = bytes.readBigUInt64LE(offset);
  const order = Number(v >> 59n);
  const index = Number(v & (0xfffffn >> BigInt(Math.min(order, 20))));
  const region = Number((v >> 20n) & 0xfffffn);
  return { region, index, order };
}

/** Reads and checks the super-header (the first 320 bytes). */
export function parseRedbHeader(head: Buffer): RedbHeader {
  if (head.length < SLOT_OFFSETS[1] + SLOT_SIZE || !head.subarray(0, REDB_MAGIC.length).equals(REDB_MAGIC)) {
    throw new RedbFormatError('not a redb file (no redb magic number)');
  }
  const god = head[GOD_BYTE] ?? 0;
  const pageSize = head.readUInt32LE(PAGE_SIZE);
  if (pageSize < 512 || pageSize > 1 << 24 || (pageSize & (pageSize - 1)) !== 0) throw new RedbFormatError(`page size ${pageSize} is not a power of two between 512 B and 16 MiB`);
  const slot = (at: number): CommitSlot => {
    const version = head[at] ?? 0;
    if (version !== 2 && version !== 3) throw new RedbFormatError(`commit slot at byte ${at}: file format version ${version} (expected 2 or 3, redb 2.x)`);
    const userRoot = head[at + 1] !== 0 ? { page: decodePageNumber(head, at + 8), length: head.readBigUInt64LE(at + 8 + 24) } : null;
    return { version, userRoot, transactionId: head.readBigUInt64LE(at + 104) };
  };
  return {
    pageSize,
    regionHeaderPages: head.readUInt32LE(REGION_HEADER_PAGES),
    regionMaxDataPages: head.readUInt32LE(REGION_MAX_DATA_PAGES),
    primarySlot: (god & PRIMARY_BIT) === 0 ? 0 : 1,
    recoveryRequired: (god & RECOVERY_REQUIRED) !== 0,
    slots: [slot(SLOT_OFFSETS[0]), slot(SLOT_OFFSETS[1])],
  };
}

/**
 * An open redb file, read page by page (never loaded whole).
 *
 * @example
 * const file = RedbFile.open('/tmp/copy/ruvector-patterns.db');
 * try {
 *   for (const [key, value] of file.entries('vectors')) …
 * } finally { file.close(); }
 */
export class RedbFile {
  private readonly size: number;
  private root: BtreeRoot | null;

  private constructor(
    private readonly fd: number,
    readonly header: RedbHeader,
    /** The commit slot read: the primary one, unless it was unreadable. */
    readonly slot: 0 | 1,
  ) {
    this.size = fstatSync(fd).size;
    this.root = header.slots[slot].userRoot;
  }

  /** Opens `path` read-only and checks its header. Throws RedbFormatError for a file that is not redb 2.x. */
  static open(path: string): RedbFile {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(SLOT_OFFSETS[1] + SLOT_SIZE);
      readSync(fd, head, 0, head.length, 0);
      const header = parseRedbHeader(head);
      const file = new RedbFile(fd, header, header.primarySlot);
      // the primary slot of a file left mid-commit may point at pages that were never written:
      // fall back to the secondary slot (redb's own repair does the same after checksums fail)
      try {
        file.tables();
      } catch (err) {
        const other = header.primarySlot === 0 ? 1 : 0;
        if (!(err instanceof RedbFormatError) || !header.recoveryRequired || header.slots[other].userRoot === null) throw err;
        const fallback = new RedbFile(fd, header, other);
        fallback.tables();
        return fallback;
      }
      return file;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The user tables, by name. */
  tables(): Map<string, RedbTableDefinition> {
    const out = new Map<string, RedbTableDefinition>();
    if (!this.root) return out;
    let n = 0n;
    for (const [key, value] of this.walk(this.root.page, null, null, 0)) {
      const name = key.toString('utf8');
      out.set(name, parseTableDefinition(name, value));
      n++;
    }
    if (n !== this.root.length) throw new RedbFormatError(`the table tree records ${this.root.length} tables, ${n} found`);
    return out;
  }

  /**
   * Every (key, value) of table `name` in key order. Throws RedbFormatError when the table's pages
   * are malformed, and when the entries found differ from the count the table records.
   */
  *entries(name: string): Generator<[Buffer, Buffer]> {
    const table = this.tables().get(name);
    if (!table) throw new RedbFormatError(`no table "${name}"`);
    if (!table.root) {
      if (table.length !== 0n) throw new RedbFormatError(`table "${name}" records ${table.length} entries but has no root page`);
      return;
    }
    let n = 0n;
    for (const entry of this.walk(table.root.page, table.fixedKeySize, table.fixedValueSize, 0)) {
      n++;
      yield entry;
    }
    if (n !== table.length) throw new RedbFormatError(`table "${name}" records ${table.length} entries, ${n} found`);
  }

  private readPage(page: PageNumber): Buffer {
    const { pageSize, regionHeaderPages, regionMaxDataPages } = this.header;
    const regionSize = (regionHeaderPages + regionMaxDataPages) * pageSize;
    const bytes = pageSize * 2 ** page.order;
    // base.rs address_range: data section after the first page (the super-header), then regions
    const start = pageSize + page.region * regionSize + regionHeaderPages * pageSize + page.index * bytes;
    if (page.order > 20 || start + bytes > this.size) {
      throw new RedbFormatError(`page ${describe(page)} lies beyond the end of the file (${this.size} bytes)`);
    }
    const buf = Buffer.alloc(bytes);
    readSync(this.fd, buf, 0, bytes, start);
    return buf;
  }

  /** Depth-first, children in order: every leaf entry of the tree under `page`, in key order. */
  private *walk(page: PageNumber, fixedKey: number | null, fixedValue: number | null, depth: number): Generator<[Buffer, Buffer]> {
    if (depth > MAX_DEPTH) throw new RedbFormatError(`B-tree deeper than ${MAX_DEPTH} levels at page ${describe(page)} (a cycle?)`);
    const buf = this.readPage(page);
    const type = buf[0];
    const count = buf.readUInt16LE(2);
    if (type === LEAF) {
      yield* leafEntries(buf, count, fixedKey, fixedValue, page);
    } else if (type === BRANCH) {
      const children = count + 1;
      const pagesAt = 8 + 16 * children;
      if (pagesAt + 8 * children > buf.length) throw new RedbFormatError(`branch page ${describe(page)}: ${count} keys do not fit the page`);
      for (let i = 0; i < children; i++) yield* this.walk(decodePageNumber(buf, pagesAt + 8 * i), fixedKey, fixedValue, depth + 1);
    } else {
      throw new RedbFormatError(`page ${describe(page)}: type ${type} (expected 1 leaf or 2 branch)`);
    }
  }
}

/** The entries of a leaf page (btree_base.rs LeafAccessor). */
function* leafEntries(buf: Buffer, n: number, fixedKey: number | null, fixedValue: number | null, page: PageNumber): Generator<[Buffer, Buffer]> {
  if (n === 0) return;
  const keyEnds = 4;
  const valueEnds = keyEnds + (fixedKey === null ? 4 * n : 0);
  const keysStart = valueEnds + (fixedValue === null ? 4 * n : 0);
  const keyEnd = (i: number) => (fixedKey !== null ? keysStart + fixedKey * (i + 1) : buf.readUInt32LE(keyEnds + 4 * i));
  const lastKeyEnd = keyEnd(n - 1);
  const valueEnd = (i: number) => (fixedValue !== null ? lastKeyEnd + fixedValue * (i + 1) : buf.readUInt32LE(valueEnds + 4 * i));
  let keyStart = keysStart;
  let valueStart = lastKeyEnd;
  for (let i = 0; i < n; i++) {
    const ke = keyEnd(i);
    const ve = valueEnd(i);
    if (ke < keyStart || ke > buf.length || ve < valueStart || ve > buf.length) {
      throw new RedbFormatError(`leaf page ${describe(page)}: entry ${i} of ${n} points outside the page`);
    }
    yield [buf.subarray(keyStart, ke), buf.subarray(valueStart, ve)];
    keyStart = ke;
    valueStart = ve;
  }
}

/** table_tree_base.rs InternalTableDefinition::from_bytes (Normal tables only). */
function parseTableDefinition(name: string, data: Buffer): RedbTableDefinition {
  if (data.length < 64) throw new RedbFormatError(`table "${name}": a ${data.length}-byte definition (expected at least 64)`);
  const type = data[0];
  if (type !== NORMAL_TABLE) throw new RedbFormatError(`table "${name}": table type ${type} (expected 3, a normal table of format v2/v3)`);
  const length = data.readBigUInt64LE(1);
  const root = data[9] !== 0 ? { page: decodePageNumber(data, 10), length: data.readBigUInt64LE(10 + 24) } : null;
  const fixedKeySize = data[42] !== 0 ? data.readUInt32LE(43) : null;
  const fixedValueSize = data[47] !== 0 ? data.readUInt32LE(48) : null;
  return { name, length, root, fixedKeySize, fixedValueSize };
}

function describe(p: PageNumber): string {
  return `${p.region}/${p.index}${p.order > 0 ? `^${p.order}` : ''}`;
}

/**
 * bincode 2 `config::standard()` encoding of a `Vec<f32>` (how ruvector-core stores a vector):
 * a varint length (< 251: one byte; 251: u16; 252: u32; 253: u64 follow) then little-endian f32s.
 * Returns null when the bytes are not exactly that.
 */
export function decodeBincodeF32Vec(bytes: Buffer): number[] | null {
  if (bytes.length === 0) return null;
  const tag = bytes[0]!;
  let len: number;
  let at: number;
  if (tag < 251) [len, at] = [tag, 1];
  else if (tag === 251 && bytes.length >= 3) [len, at] = [bytes.readUInt16LE(1), 3];
  else if (tag === 252 && bytes.length >= 5) [len, at] = [bytes.readUInt32LE(1), 5];
  else if (tag === 253 && bytes.length >= 9) [len, at] = [Number(bytes.readBigUInt64LE(1)), 9];
  else return null;
  if (bytes.length !== at + 4 * len) return null;
  const out = new Array<number>(len);
  for (let i = 0; i < len; i++) out[i] = bytes.readFloatLE(at + 4 * i);
  return out;
}
