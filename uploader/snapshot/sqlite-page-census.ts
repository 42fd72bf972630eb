// Row counts of a SQLite file from the read pass the push makes anyway (hash and chunks): each
// page's b-tree header is noted as the bytes go by (type, cell count, an interior page's children),
// and a table's rows are then counted by walking its b-tree from its root page ("SQLite Database
// File Format" §1.6: a rowid table's rows are its leaf cells; a WITHOUT ROWID table is an index
// b-tree whose every cell, interior or leaf, is a row). This replaces a COUNT(*) per table, which
// reads the whole file again. Anything unexpected gives null: the caller counts with SQL instead.

const TABLE_INTERIOR = 0x05;
const TABLE_LEAF = 0x0d;
const INDEX_INTERIOR = 0x02;
const INDEX_LEAF = 0x0a;

/** Notes b-tree page headers from the blocks of a database file read in order. */
export class SqlitePageCensus {
  private pageSize = 0;
  private types = new Uint8Array(0);
  private cells = new Uint16Array(0);
  private readonly children = new Map<number, Uint32Array>();
  private carry: Buffer = Buffer.alloc(0);
  private nextOffset = 0;
  private broken = false;

  /** Feeds the next block of the file (blocks in order, from offset 0). */
  add(block: Uint8Array, offset: number): void {
    if (this.broken) return;
    if (offset !== this.nextOffset) {
      this.broken = true;
      return;
    }
    this.nextOffset += block.length;
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, block]) : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const base = offset - this.carry.length;
    if (this.pageSize === 0) {
      if (data.length < 100) {
        this.carry = Buffer.from(data);
        return;
      }
      const raw = data.readUInt16BE(16);
      const size = raw === 1 ? 65536 : raw;
      if (size < 512 || (size & (size - 1)) !== 0 || data.toString('latin1', 0, 16) !== 'SQLite format 3\0' || data[20] !== 0) {
        this.broken = true; // not a plain database file (or reserved bytes at the end of pages: left to SQL)
        return;
      }
      this.pageSize = size;
      const pages = data.readUInt32BE(28);
      this.types = new Uint8Array(pages + 1);
      this.cells = new Uint16Array(pages + 1);
    }
    const size = this.pageSize;
    let at = 0;
    while (at + size <= data.length) {
      this.page(data, at, (base + at) / size + 1);
      at += size;
    }
    this.carry = at < data.length ? Buffer.from(data.subarray(at)) : Buffer.alloc(0);
  }

  private page(data: Buffer, at: number, pgno: number): void {
    if (pgno >= this.types.length) return;
    const h = at + (pgno === 1 ? 100 : 0);
    const type = data[h]!;
    if (type !== TABLE_INTERIOR && type !== TABLE_LEAF && type !== INDEX_INTERIOR && type !== INDEX_LEAF) return;
    const count = data.readUInt16BE(h + 3);
    this.types[pgno] = type;
    this.cells[pgno] = count;
    if (type === TABLE_INTERIOR || type === INDEX_INTERIOR) {
      const kids = new Uint32Array(count + 1);
      for (let i = 0; i < count; i++) {
        const cell = data.readUInt16BE(h + 12 + 2 * i);
        if (cell + 4 > this.pageSize) {
          this.types[pgno] = 0;
          return;
        }
        kids[i] = data.readUInt32BE(at + cell);
      }
      kids[count] = data.readUInt32BE(h + 8);
      this.children.set(pgno, kids);
    }
  }

  /**
   * Rows of the b-tree rooted at `root`, or null when the pages seen do not make a sound b-tree
   * (then count with SQL).
   */
  rows(root: number): number | null {
    if (this.broken || this.carry.length > 0 || this.pageSize === 0 || root < 1 || root >= this.types.length) return null;
    const rootType = this.types[root]!;
    const index = rootType === INDEX_INTERIOR || rootType === INDEX_LEAF;
    if (!index && rootType !== TABLE_INTERIOR && rootType !== TABLE_LEAF) return null;
    const seen = new Set<number>();
    const stack = [root];
    let rows = 0;
    while (stack.length > 0) {
      const pgno = stack.pop()!;
      if (pgno < 1 || pgno >= this.types.length || seen.has(pgno)) return null;
      seen.add(pgno);
      const type = this.types[pgno]!;
      if (index ? type === INDEX_LEAF : type === TABLE_LEAF) rows += this.cells[pgno]!;
      else if (index ? type === INDEX_INTERIOR : type === TABLE_INTERIOR) {
        if (index) rows += this.cells[pgno]!;
        const kids = this.children.get(pgno);
        if (kids === undefined) return null;
        for (const kid of kids) stack.push(kid);
      } else return null;
    }
    return rows;
  }
}
