// The push's write-ahead: each chunk is looked up and, when the store lacks it, stored while the
// rest of the workspace is still being read, so reading (one core), compressing (the workers)
// and uploading overlap instead of following one another. It applies the plan's own rule for a
// chunk (chunkAction), so the plan made after the read lists nothing it has not done, and the
// write stage is left with what no read announced (small JSON files, copied whole). The commit
// point is unchanged: the manifest is written last, after every blob, by run-push.ts. A chunk of a
// file whose capture then fails (a damaged SQLite file) may be stored all the same; no manifest
// lists it and retention deletes it like any unreferenced blob.

import type { BlobStore } from '../../functions/storage/blob-store.js';
import type { ChunkSpan } from '../snapshot/content-chunks.js';
import type { CompressPool } from './compress-pool.js';
import { chunkAction, type PlanPushOptions, type StoredBlob, type WrittenBlob } from './plan-push.js';
import { LOOKUPS_IN_FLIGHT, lookupStoredBlob } from './read-push.js';
import { BLOBS_IN_FLIGHT, writeBlob } from './write-push.js';

/** Looks chunks up and stores the new ones as they are announced, a bounded number at once. */
export class WriteAhead {
  /** Each chunk announced → the blob the store had for it before this push wrote anything (null: none). */
  readonly stored = new Map<string, StoredBlob | null>();
  /** Each blob stored or touched so far. */
  readonly written = new Map<string, WrittenBlob>();
  private readonly seen = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  /** Announcements waiting for room in the pipeline (the read waits with them). */
  private readonly waitingForRoom: Array<() => void> = [];
  /** Chunks waiting for one of the BLOBS_IN_FLIGHT write slots (they hold no bytes yet). */
  private readonly waitingToWrite: Array<() => void> = [];
  private writing = 0;
  private failure: unknown = null;

  constructor(
    private readonly store: BlobStore,
    private readonly pool: CompressPool,
    private readonly rule: Pick<PlanPushOptions, 'codec' | 'nowMs' | 'touchAfterMs'>,
  ) {}

  /**
   * Announces a chunk of the snapshot copy at `path`; resolves once there is room for it in the
   * pipeline (not when it is stored). A chunk announced before is ignored; after a failure, all are.
   */
  async offer(path: string, chunk: ChunkSpan): Promise<void> {
    if (this.failure !== null || this.seen.has(chunk.sha256)) return;
    this.seen.add(chunk.sha256);
    while (this.tasks.size >= LOOKUPS_IN_FLIGHT) await new Promise<void>((resolve) => this.waitingForRoom.push(resolve));
    const task: Promise<void> = this.handle(path, chunk)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.tasks.delete(task);
        this.waitingForRoom.shift()?.();
      });
    this.tasks.add(task);
  }

  /** Waits for every chunk announced so far; gives the first failure (a blob not stored), or null. */
  async settle(): Promise<unknown> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
    return this.failure;
  }

  private async handle(path: string, chunk: ChunkSpan): Promise<void> {
    const stored = await lookupStoredBlob(this.store, chunk.sha256, this.rule.codec);
    this.stored.set(chunk.sha256, stored);
    const action = chunkAction(chunk, { path, offset: chunk.offset }, stored, this.rule);
    if (action === null) return;
    // the chunk's bytes are read back only once a write slot is free: at most BLOBS_IN_FLIGHT held
    while (this.writing >= BLOBS_IN_FLIGHT) await new Promise<void>((resolve) => this.waitingToWrite.push(resolve));
    this.writing++;
    try {
      if (this.failure === null) this.written.set(chunk.sha256, await writeBlob(this.store, action, this.pool));
    } finally {
      this.writing--;
      this.waitingToWrite.shift()?.();
    }
  }
}
