// --iap for every command that defines --database (applied in index.ts): the options added, the
// flags parsed with the command's own, and `run` given --database through a tunnel that is closed
// afterwards (uploader/iap/).

import { z } from 'zod';
import { type IapDeps, withIapDatabaseUrl, withIapOptions } from '../iap/with-iap-tunnel.js';
import { resolveIapSettings } from '../iap/iap-settings.js';
import type { CliCommand } from './command.js';
import { text } from './flags.js';

/** The flags --iap adds. */
export const IAP_FLAGS = z.object({
  iap: text(),
  iapZone: text(),
  iapProject: text(),
  dbUser: text(),
  dbName: text(),
  dbPasswordSecret: text(),
  iapTimeout: text(),
});

/**
 * The command with --iap: options added when it defines --database, and `run` wrapped so that,
 * given --iap, it runs with --database pointing through a tunnel that is closed afterwards.
 * @example export const COMMANDS = [pushCommand, statusCommand].map((c) => withIapTunnelOption(c));
 */
export function withIapTunnelOption(command: CliCommand, deps: IapDeps = {}): CliCommand {
  return {
    ...command,
    define(cmd) {
      const defined = command.define(cmd);
      return defined.options.some((o) => o.long === '--database') ? withIapOptions(defined) : defined;
    },
    // the schema of a command with --database has a `database` key (commands.test.ts checks both agree)
    flags: 'database' in command.flags.shape ? command.flags.extend(IAP_FLAGS.shape) : command.flags,
    run(flags, config, io) {
      const settings = 'iap' in flags ? resolveIapSettings(flags as z.output<typeof IAP_FLAGS> & { database?: string }, config.iap) : null;
      if (settings === null) return command.run(flags, config, io);
      return withIapDatabaseUrl(settings, io, deps, (url) => command.run({ ...flags, database: url }, config, io));
    },
  };
}
