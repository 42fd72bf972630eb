// `aqe-upload push` (the default command): snapshot the workspace's sources into the bucket.

import type { Command } from 'commander';
import { AppError } from '../../schema/errors.js';
import { pushAndLoad } from '../local/push-and-load.js';
import { loadOutcomeJson, renderLoadOutcome } from '../ui/load-report.js';
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
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else file://<workspace>/.aqe-sync/bucket; Cloud Storage retries per request: $AQE_STORAGE_RETRIES, default 6)')
      .option('--dry-run', 'show what would be uploaded (sources, sizes, new vs already stored); write nothing')
      .option('--skip-unchanged', 'write no manifest when the content equals the latest snapshot of the environment')
      .option('--no-load', 'with a local bucket: do not load the snapshot into the local database')
      .option('--database <url>', 'database for the local load (default: $AQE_DATABASE_URL, else the embedded one)'),
  async run(opts, io) {
    const config = await commandConfig(opts, io);
    const progress = createProgress(io.stderr, io.stderr.isTTY === true && opts['json'] !== true);
    // Local bucket (the embedded default): the snapshot just committed is loaded, in this process,
    // into --database or the workspace's embedded PGlite database (--no-load keeps it a pure push).
    const { push: result, load } = await pushAndLoad({
      config,
      dryRun: opts['dryRun'] === true,
      skipUnchanged: opts['skipUnchanged'] === true,
      onProgress: (e) => progress.update(describeProgress(e)),
      load: opts['load'] !== false,
      env: io.env,
      onLoading: () => progress.update('loading into the local database…'),
    }).finally(() => progress.done());
    if (opts['json'] === true) io.stdout.write(`${JSON.stringify({ ...pushResultJson(result), load: load ? loadOutcomeJson(load) : null }, null, 2)}\n`);
    else io.stdout.write(renderPushResult(result) + (load ? renderLoadOutcome(load) : ''));
    if (load?.status === 'quarantined') throw new AppError('SNAPSHOT_FAILED', `the snapshot was pushed but quarantined by the loader: ${load.reason}`);
    return result.partial ? 'partial' : 'ok';
  },
};
