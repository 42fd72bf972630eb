// Every command of aqe-upload, in help order. To add one: write uploader/commands/<name>.ts
// exporting a CliCommand, and list it here. Every command that defines --database also gets
// --iap <instance> (a tunnel opened for the command; uploader/iap/), here, in one place.

import type { CliCommand } from './command.js';
import { completionCommand } from './completion.js';
import { demoCommand } from './demo.js';
import { doctorCommand } from './doctor.js';
import { duplicatesCommand } from './duplicates.js';
import { embedCommand } from './embed.js';
import { withIapTunnelOption } from './iap-option.js';
import { loadCommand } from './load.js';
import { migrateCommand } from './migrate.js';
import { patternsCommand } from './patterns.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { rebuildCommand } from './rebuild.js';
import { reconcileCommand } from './reconcile.js';
import { rollbackCommand } from './rollback.js';
import { searchCommand } from './search.js';
import { similarCommand } from './similar.js';
import { snapshotsCommand } from './snapshots.js';
import { sourcesCommand } from './sources.js';
import { statusCommand } from './status.js';
import { verifyCommand } from './verify.js';
import { watchCommand } from './watch.js';

export const COMMANDS: readonly CliCommand[] = [
  pushCommand,
  watchCommand,
  sourcesCommand,
  demoCommand,
  snapshotsCommand,
  loadCommand,
  searchCommand,
  similarCommand,
  duplicatesCommand,
  embedCommand,
  migrateCommand,
  reconcileCommand,
  statusCommand,
  verifyCommand,
  rollbackCommand,
  patternsCommand,
  pullCommand,
  doctorCommand,
  rebuildCommand,
  completionCommand(() => COMMANDS),
].map((command) => withIapTunnelOption(command));
