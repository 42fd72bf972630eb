// `aqe-upload push` (the default command): snapshot the workspace's sources into the bucket (and
// with a local bucket load it into the local database). Everything is checked before the first
// byte is written; a load that cannot run after the commit is reported as pending (exit 3).

import type { Command } from 'commander';
import { z } from 'zod';
import { pushAndLoad } from '../local/push-and-load.js';
import { loadOutcomeJson, loadWarnings, renderLoadOutcome, showLoadProgress } from '../ui/load-report.js';
import { commandProgress, note, warn } from '../ui/messages.js';
import { pushResultJson, pushWarnings, renderPushResult } from '../ui/push-report.js';
import { defineCommand } from './command.js';
import { negatable, text, toggle } from './flags.js';
import { assertHasSources, rememberEnvAfterPush, workspaceConfig } from './shared.js';

export const pushCommand = defineCommand({
  name: 'push',
  flags: z.object({ workspace: text(), env: text(), bucket: text(), dryRun: toggle(), skipUnchanged: toggle(), load: negatable(), database: text() }),
  example: 'aqe-upload push --dry-run',
  isDefault: true,
  define: (cmd: Command) =>
    cmd
      .description('snapshot the workspace sources consistently and upload new blobs + a manifest (the default command)')
      .option('-w, --workspace <dir>', 'workspace root (default: $AQE_WORKSPACE, else the current folder)')
      .option('--env <name>', 'environment name: laptop, devpod, ci… (default: $AQE_ENV, the config file, the one the workspace remembers, else "local"); the first push with --env is remembered')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else file://<workspace>/.aqe-sync/bucket; Cloud Storage retries per request: $AQE_STORAGE_RETRIES, default 6)')
      .option('--dry-run', 'show what would be uploaded (sources, sizes, new vs already stored); write nothing')
      .option('--skip-unchanged', 'write no manifest when the content equals the latest snapshot of the environment')
      .option('--no-load', 'with a local bucket: do not load the snapshot into the local database')
      .option('--database <url>', 'database for the local load (default: $AQE_DATABASE_URL, else the embedded one)'),
  async run(flags, cliConfig, io) {
    const config = await workspaceConfig(flags, cliConfig);
    await assertHasSources(config, 'push');
    const json = flags.json;
    const progress = commandProgress(io, flags);
    const { push: result, load, pendingLoad } = await pushAndLoad({
      config,
      dryRun: flags.dryRun,
      skipUnchanged: flags.skipUnchanged,
      onProgress: (e) => (e.phase === 'capture' ? progress.step('capturing', e.done, e.total, e.path) : progress.update(e.phase === 'discover' ? 'looking for sources…' : 'writing the manifest…')),
      load: flags.load,
      onLoading: () => progress.update('loading into the local database…'),
      onLoadProgress: (p) => showLoadProgress(progress, p),
    }).finally(() => progress.done());

    for (const w of pushWarnings(result)) warn(io, w);
    if (load) for (const w of loadWarnings(load)) warn(io, w);
    if (json) io.stdout.write(`${JSON.stringify({ ...pushResultJson(result), load: load ? loadOutcomeJson(load) : null, pendingLoad }, null, 2)}\n`);
    else io.stdout.write(renderPushResult(result) + (load ? renderLoadOutcome(load) : ''));
    if (result.manifestWritten) await rememberEnvAfterPush(config, io);

    if (load?.status === 'quarantined') {
      io.stderr.write(`aqe-upload: the snapshot was pushed but quarantined by the loader: ${load.reason}\n`);
      return 'failure';
    }
    if (pendingLoad !== null) {
      io.stderr.write(`aqe-upload: snapshot committed, load pending: run \`${pendingLoad.fix}\`\n`);
      note(io, `  (the load failed: ${pendingLoad.message.split('\n')[0]})`);
      return 'partial';
    }
    return result.partial ? 'partial' : 'ok';
  },
});
