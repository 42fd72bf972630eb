// `aqe-upload migrate`: apply the schema migrations (also done automatically before every load).

import type { Command } from 'commander';
import { migrate } from '../../functions/db/migrate.js';
import { withOpenDatabase } from '../local/local-database.js';
import type { CliCommand } from './command.js';
import { resolveDatabaseUrl, withDatabaseOptions } from './database-option.js';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  define: (cmd: Command) => withDatabaseOptions(cmd.description('apply pending schema migrations (forward-only; refuses edited history)')),
  async run(opts, io) {
    return withOpenDatabase(resolveDatabaseUrl(opts, io), async (db): Promise<'ok'> => {
      const result = await migrate(db);
      if (opts['json'] === true) io.stdout.write(`${JSON.stringify({ database: db.description, ...result }, null, 2)}\n`);
      else io.stdout.write(`${db.description}: dialect ${result.dialect}; ${result.applied.length === 0 ? 'up to date' : `applied ${result.applied.join(', ')}`}\n`);
      return 'ok';
    });
  },
};
