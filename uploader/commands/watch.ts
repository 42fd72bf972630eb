// `aqe-upload watch`: keep pushing the workspace while it runs. On change (debounced) or every
// --interval; failed pushes are retried with backoff; SIGINT/SIGTERM stop it cleanly (exit 0).

import type { Command } from 'commander';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../../schema/errors.js';
import { withLocalDatabaseContext } from '../local/local-database.js';
import { keepEmbedder, pushAndLoad } from '../local/push-and-load.js';
import { formatDuration, parseDuration } from '../watch/duration.js';
import { renderWatchLine, watchReportJson } from '../watch/watch-report.js';
import { runWatch } from '../watch/run-watch.js';
import { watchSchedule } from '../watch/watch-policy.js';
import { watchTargets } from '../watch/watch-targets.js';
import { defineCommand } from './command.js';
import { negatable, parsed, text } from './flags.js';
import { assertHasSources, rememberEnvAfterPush, workspaceConfig } from './shared.js';

/** A duration flag in ms (at least `min`). */
const duration = (flag: string, min = 0) => parsed((v) => parseDuration(v, flag, { min }));

export const watchCommand = defineCommand({
  name: 'watch',
  flags: z.object({
    workspace: text(),
    env: text(),
    bucket: text(),
    interval: duration('--interval', 1000),
    debounce: duration('--debounce'),
    maxWait: duration('--max-wait', 100),
    poll: duration('--poll', 100),
    retryMin: duration('--retry-min', 100),
    retryMax: duration('--retry-max', 100),
    load: negatable(),
    database: text(),
  }),
  example: 'aqe-upload watch --interval 15m',
  define: (cmd: Command) =>
    cmd
      .description('push whenever a source changes (debounced), or every --interval; retries failed pushes with backoff; stop with Ctrl-C')
      .option('-w, --workspace <dir>', 'workspace root (default: $AQE_WORKSPACE, else the current folder)')
      .option('--env <name>', 'environment name (default: $AQE_ENV, the config file, else "local")')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else the workspace bucket)')
      .option('--interval <duration>', 'push every 30s / 15m / 1h / <seconds> instead of on change (default: $AQE_SYNC_INTERVAL)')
      .option('--debounce <duration>', 'quiet time after the last change before pushing', '2s')
      .option('--max-wait <duration>', 'push a source that never stops changing at least this often', '1m')
      .option('--poll <duration>', 'also look at the sources this often (for file systems where change events are missed)', '5s')
      .option('--retry-min <duration>', 'first retry delay after a failed push (doubles per failure)', '5s')
      .option('--retry-max <duration>', 'longest retry delay', '5m')
      .option('--no-load', 'with a local bucket: do not load each snapshot into the local database')
      .option('--database <url>', 'database for the local load (default: $AQE_DATABASE_URL, else the embedded one)'),
  async run(flags, cliConfig, io) {
    const { policy, pollMs } = watchSchedule(flags, cliConfig.syncIntervalMs);
    const config = await workspaceConfig(flags, cliConfig);
    await assertHasSources(config, 'watch');
    const json = flags.json;
    const embedder = keepEmbedder();
    const targets = () => watchTargets(config);

    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      io.stderr.write(`aqe-upload watch: ${signal}: stopping after the push in flight (again to quit at once)\n`);
      // A second signal gets the default behaviour (or the IAP tunnel's handler): quit now.
      removeHandlers();
      stop.abort();
    };
    const removeHandlers = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const what = policy.mode === 'interval' ? `every ${formatDuration(policy.intervalMs)}` : `on change (${(await targets()).length} paths, debounce ${formatDuration(policy.debounceMs)}, max wait ${formatDuration(policy.maxWaitMs)}, poll ${formatDuration(pollMs)})`;
    io.stderr.write(`aqe-upload watch: pushing ${config.workspace} as env "${config.env}" to ${config.bucket} ${what}; Ctrl-C to stop\n`);
    let remembered = false;
    const push = async () => {
      const result = await pushAndLoad({ config, load: flags.load, embedder });
      if (result.push.manifestWritten && !remembered) {
        remembered = true;
        await rememberEnvAfterPush(config, io);
      }
      if (result.pendingLoad !== null) {
        const p = result.pendingLoad;
        throw new AppError(p.code as ErrorCode, `snapshot committed, load pending (${p.message.split('\n')[0]}); the next push loads its content, or run \`${p.fix}\``, { transient: true });
      }
      return result;
    };
    try {
      // The stop signal also ends a wait for the local database: Ctrl-C never waits on another process.
      await withLocalDatabaseContext({ signal: stop.signal }, () =>
        runWatch({
          policy,
          pollMs,
          targets,
          push,
          onReport: (r) => io.stdout.write(json ? watchReportJson(r) : renderWatchLine(r)),
          onProblem: (message) => io.stderr.write(`aqe-upload ${message}\n`),
          signal: stop.signal,
        }),
      );
    } finally {
      removeHandlers();
    }
    io.stderr.write('aqe-upload watch: stopped\n');
    return 'ok';
  },
});
