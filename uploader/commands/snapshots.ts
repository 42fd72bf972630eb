// `aqe-upload snapshots`: the snapshots a bucket holds, per environment (count, oldest, latest and
// the latest few manifest keys: what `load --manifest` takes). Reads the bucket only.

import type { Command } from 'commander';
import { z } from 'zod';
import { decodeTime } from 'ulid';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { AppError } from '../../schema/errors.js';
import { storeOptions } from '../config.js';
import { bucketSnapshots, unknownEnvironmentNote } from '../ops/environments.js';
import { formatBytes, formatTime, renderTable } from '../ui/format.js';
import { hint } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { parsed, text, usage } from './flags.js';
import { workspaceConfig } from './shared.js';

interface SnapshotRow {
  snapshotId: string;
  createdAt: string;
  manifestKey: string;
  size: number;
}

interface EnvironmentListing {
  env: string;
  count: number;
  oldest: string;
  latest: string;
  /** Newest first, at most --limit. */
  snapshots: SnapshotRow[];
  truncated: boolean;
}

export const snapshotsCommand = defineCommand({
  name: 'snapshots',
  flags: z.object({
    workspace: text(),
    bucket: text(),
    env: text(),
    limit: parsed((v) => (/^[1-9]\d*$/.test(v) ? Number(v) : usage(`--limit ${v}: expected a whole number >= 1`, 'aqe-upload snapshots --limit 20'))),
  }),
  example: 'aqe-upload snapshots',
  define: (cmd: Command) =>
    cmd
      .description("list a bucket's snapshots per environment: how many, oldest and latest, and the latest manifest keys (for load --manifest)")
      .option('-w, --workspace <dir>', 'workspace whose bucket is the default (default: $AQE_WORKSPACE, else the current folder)')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else the workspace bucket)')
      .option('--env <name>', 'only this environment (and list more of its snapshots)')
      .option('--limit <n>', 'snapshots listed per environment, newest first (default 5; 20 with --env)'),
  async run(flags, cliConfig, io) {
    const env = flags.env;
    const limit = flags.limit ?? (env !== undefined ? 20 : 5);
    // no --env here: the listing covers every environment unless asked
    const config = await workspaceConfig({ ...flags, env: undefined }, cliConfig);
    const store = await openBlobStore(config.bucket, storeOptions(config.storageRetries));
    const all = await bucketSnapshots(store);
    if (env !== undefined && !all.has(env)) {
      throw new AppError('USAGE', `${unknownEnvironmentNote(env, [...all.keys()], store.url)}\nTry: aqe-upload snapshots${all.size > 0 ? ` --env ${[...all.keys()][0]}` : ''}`);
    }
    const listings: EnvironmentListing[] = [...all.entries()]
      .filter(([e]) => env === undefined || e === env)
      .map(([e, list]) => ({
        env: e,
        count: list.length,
        oldest: createdAt(list[0]!.snapshotId),
        latest: createdAt(list.at(-1)!.snapshotId),
        snapshots: list
          .slice(-limit)
          .reverse()
          .map((s) => ({ snapshotId: s.snapshotId, createdAt: createdAt(s.snapshotId), manifestKey: s.key, size: s.size })),
        truncated: list.length > limit,
      }));
    if (flags.json) {
      io.stdout.write(`${JSON.stringify({ bucket: store.url, environments: listings }, null, 2)}\n`);
      return 'ok';
    }
    const out = [`bucket ${store.url}`];
    if (listings.length === 0) out.push('  no snapshots yet (aqe-upload push writes the first)');
    for (const l of listings) {
      out.push('', `environment ${l.env}: ${l.count} snapshot${l.count === 1 ? '' : 's'}, ${formatTime(new Date(l.oldest))} … ${formatTime(new Date(l.latest))}`);
      out.push(renderTable(['  created', 'size', 'manifest key'], l.snapshots.map((s) => [`  ${formatTime(new Date(s.createdAt))}`, formatBytes(s.size), s.manifestKey]), new Set([1])));
      if (l.truncated) out.push(`  … ${l.count - l.snapshots.length} older; more: aqe-upload snapshots --env ${l.env} --limit ${Math.max(l.count, limit * 2)}`);
    }
    io.stdout.write(`${out.join('\n')}\n`);
    const where = `${flags.workspace ? ` --workspace ${config.workspace}` : ''}${flags.bucket ? ` --bucket ${config.bucket}` : ''}`;
    if (listings.length > 0) hint(io, flags, `load one by hand: aqe-upload load --manifest ${listings[0]!.snapshots[0]!.manifestKey}${where}`);
    return 'ok';
  },
});

function createdAt(snapshotId: string): string {
  return new Date(decodeTime(snapshotId)).toISOString();
}
