// `aqe-upload push` (the default command): snapshot the workspace's sources into the bucket.

import type { Command } from 'commander';
import { runPush } from '../push/run-push.js';
import { describeProgress, pushResultJson, renderPushResult } from '../ui/push-report.js';
import { createProgress } from '../ui/progress.js';
import type { CliCommand } from './command.js';
import { commandConfig } from './shared.js';

export const pushCommand: CliCommand = {
  name: 'push',
  isDefault: true,
  define: (cmd: Command) =>
    cmd
      .description('snapshot the workspace sources consistently and upload new blobs + a manifest (the default command)')
      .option('-w, --workspace <dir>', 'workspace root (default: $AQE_WORKSPACE, else the current folder)')
      .option('--env <name>', 'environment name: laptop, devpod, ci… (default: $AQE_ENV, the config file, else "local")')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else file://<workspace>/.aqe-sync/bucket)')
      .option('--dry-run', 'show what would be uploaded (sources, sizes, new vs already stored); write nothing')
      .option('--skip-unchanged', 'write no manifest when the content equals the latest snapshot of the environment')
      .option('--no-load', 'with a local bucket: do not load the snapshot into the local database')
      .option('--database <url>', 'database for the local load (default: $AQE_DATABASE_URL, else the embedded one)'),
  async run(opts, io) {
    const config = await commandConfig(opts, io);
    const progress = createProgress(io.stderr, io.stderr.isTTY === true && opts['json'] !== true);
    const result = await runPush({
      config,
      dryRun: opts['dryRun'] === true,
      skipUnchanged: opts['skipUnchanged'] === true,
      onProgress: (e) => progress.update(describeProgress(e)),
    }).finally(() => progress.done());

    // ── LOADER HOOK (lead) ────────────────────────────────────────────────────────────────────
    // Local-bucket mode without --no-load: load the snapshot just committed into the local
    // database (config.databaseUrl, else the embedded PGlite), e.g.
    //   if (config.localBucket && opts['load'] !== false && result.manifestKey !== null) {
    //     const load = await runLocalLoad({ bucket: config.bucket, manifestKey: result.manifestKey, databaseUrl: config.databaseUrl });
    //   }
    // and add its summary to the output below. Nothing is printed about loading yet.
    // ─────────────────────────────────────────────────────────────────────────────────────────

    io.stdout.write(opts['json'] === true ? `${JSON.stringify(pushResultJson(result), null, 2)}\n` : renderPushResult(result));
    return result.partial ? 'partial' : 'ok';
  },
};
