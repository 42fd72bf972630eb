// `aqe-upload sources`: the inventory of a workspace's learning-data sources.

import type { Command } from 'commander';
import { renderInventory } from '../ui/sources-report.js';
import { buildInventory } from '../snapshot/inventory.js';
import { warn } from '../ui/messages.js';
import type { CliCommand } from './command.js';
import { commandConfig } from './shared.js';

export const sourcesCommand: CliCommand = {
  name: 'sources',
  define: (cmd: Command) =>
    cmd
      .description('list the learning-data sources of a workspace: kind, size, last change, role, tables with row counts, problems')
      .option('-w, --workspace <dir>', 'workspace root (default: $AQE_WORKSPACE, else the current folder)'),
  async run(opts, io) {
    const config = await commandConfig(opts, io);
    const inventory = await buildInventory(config);
    for (const w of inventory.entries.flatMap((e) => e.warnings)) warn(io, w);
    io.stdout.write(opts['json'] === true ? `${JSON.stringify({ workspace: inventory.workspace, configFile: inventory.configFile, sources: inventory.entries, problems: inventory.problems }, null, 2)}\n` : renderInventory(inventory));
    return 'ok';
  },
};
