// `aqe-upload migrate`: apply the schema migrations (also done automatically before every load).

import type { Command } from 'commander';
import { z } from 'zod';
import { migrate } from '../../functions/db/migrate.js';
import { withOpenDatabase } from '../local/local-database.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { commandDatabaseUrl } from './shared.js';

export const migrateCommand = defineCommand({
  name: 'migrate',
  flags: z.object(DATABASE_FLAGS),
  example: 'aqe-upload migrate --database pglite://./.aqe-sync/db',
  define: (cmd: Command) => withDatabaseOptions(cmd.description('apply pending schema migrations (forward-only; refuses edited history)')),
  async run(flags, config, io) {
    return withOpenDatabase(commandDatabaseUrl(flags, config), async (db): Promise<'ok'> => {
      const result = await migrate(db);
      if (flags.json) io.stdout.write(`${JSON.stringify({ database: db.description, ...result }, null, 2)}\n`);
      else io.stdout.write(`${db.description}: dialect ${result.dialect}; ${result.applied.length === 0 ? 'up to date' : `applied ${result.applied.join(', ')}`}\n`);
      return 'ok';
    });
  },
});
