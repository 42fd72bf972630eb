// `--iap <instance>`: its options, and a run with a database URL through an IAP tunnel opened for
// it (password from Secret Manager), the tunnel always closed: on success, on errors, and on
// Ctrl-C / SIGTERM. commands/iap-option.ts adds it to every command that takes --database.

import type { Command } from 'commander';
import type { SecretSource } from '../../functions/secrets/secret-source.js';
import { createGcpSecretSource } from '../../functions/secrets/secret-source.js';
import type { CliIo } from '../cli-io.js';
import { IAP_ENV, resolveIapSettings, tunnelDatabaseUrl } from './iap-settings.js';
import type { IapTunnel } from './iap-tunnel.js';
import { openIapTunnel } from './iap-tunnel.js';

export interface IapDeps {
  /** Where --db-password-secret is read (default: Secret Manager, with Application Default Credentials). */
  secretSource?: () => Promise<SecretSource>;
  /** The gcloud executable (default "gcloud" on the command's PATH). */
  gcloud?: string;
}

/** Adds the --iap options to a command. */
export function withIapOptions(cmd: Command): Command {
  return cmd
    .option('--iap <instance>', 'reach the database through an IAP tunnel to this VM (gcloud compute start-iap-tunnel), opened for this command only; instead of --database')
    .option('--iap-zone <zone>', `zone of the --iap instance (default: $${IAP_ENV.zone}, else gcloud's compute/zone)`)
    .option('--iap-project <project>', `project of the --iap instance (default: $${IAP_ENV.project}, else gcloud's core/project)`)
    .option('--db-user <name>', `database user through the tunnel (default: $${IAP_ENV.dbUser}, else aqe)`)
    .option('--db-name <name>', `database name through the tunnel (default: $${IAP_ENV.dbName}, else aqe)`)
    .option('--db-password-secret <name>', `projects/P/secrets/S holding the password (default: $${IAP_ENV.passwordSecret}, else $PGPASSWORD if set, else projects/<iap-project>/secrets/aqe-db-password)`)
    .option('--iap-timeout <duration>', `how long the tunnel may take to come up (default: $${IAP_ENV.timeout}, else 30s)`);
}

/**
 * Runs `fn` with a database URL through a fresh tunnel; closes the tunnel whatever happens. While
 * it is open, SIGINT / SIGTERM close it and exit (130 / 143), unless the command handles the
 * signal itself (watch): then the command winds down and the tunnel closes after it; a second
 * signal closes it and exits at once.
 */
export async function withIapDatabaseUrl<T>(settings: NonNullable<ReturnType<typeof resolveIapSettings>>, io: CliIo, deps: IapDeps, fn: (url: string) => Promise<T>): Promise<T> {
  // The password first: no tunnel is started for a secret that cannot be read.
  let password: string | null = null;
  if (settings.password.from === 'secret') {
    const source = await (deps.secretSource ?? createGcpSecretSource)();
    password = (await source.accessLatest(settings.password.secret)).value.reveal();
  }

  let tunnel: IapTunnel | null = null;
  let opening: Promise<IapTunnel> | null = null;
  const abort = new AbortController();
  let deferred = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Another listener (the command's own, e.g. watch) means the command stops cleanly and returns:
    // the tunnel closes after it. A second signal closes it and exits whatever else listens.
    if (process.listenerCount(signal) > 1 && !deferred) {
      deferred = true;
      return;
    }
    io.stderr.write(`aqe-upload: ${signal}: closing the IAP tunnel\n`);
    abort.abort();
    const closed = tunnel !== null ? tunnel.close(1000) : (opening?.then((t) => t.close(1000)) ?? Promise.resolve());
    void closed.catch(() => undefined).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const onExit = () => tunnel?.killNow();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  try {
    opening = openIapTunnel({ settings, env: io.env, signal: abort.signal, ...(deps.gcloud !== undefined ? { gcloud: deps.gcloud } : {}) });
    tunnel = await opening;
    abort.signal.throwIfAborted();
    return await fn(tunnelDatabaseUrl(settings, tunnel.localPort, password));
  } finally {
    await tunnel?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}
