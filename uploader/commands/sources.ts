// `aqe-upload sources`: the inventory of a workspace's learning-data sources.

import type { Command } from 'commander';
import { z } from 'zod';
import { renderInventory } from '../ui/sources-report.js';
import { buildInventory } from '../snapshot/inventory.js';
import { warn } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { text } from './flags.js';
import { workspaceConfig } from './shared.js';

export const sourcesCommand = defineCommand({
  name: 'sources',
  flags: z.object({ workspace: text() }),
  example: 'aqe-upload sources --workspace .',
  define: (cmd: Command) =>
    cmd
      .description('list the learning-data sources of a workspace: kind, size, last change, role, tables with row counts, problems')
      .option('-w, --workspace <dir>', 'workspace root (default: $AQE_WORKSPACE, else the current folder)'),
  async run(flags, cliConfig, io) {
    const config = await workspaceConfig(flags, cliConfig);
    const inventory = await buildInventory(config);
    for (const w of inventory.entries.flatMap((e) => e.warnings)) warn(io, w);
    io.stdout.write(flags.json ? `${JSON.stringify({ workspace: inventory.workspace, configFile: inventory.configFile, sources: inventory.entries, problems: inventory.problems }, null, 2)}\n` : renderInventory(inventory));
    return 'ok';
  },
});
