// Every command of aqe-upload, in help order. To add one: write uploader/commands/<name>.ts
// exporting a CliCommand, and list it here.

import type { CliCommand } from './command.js';
import { pushCommand } from './push.js';
import { sourcesCommand } from './sources.js';

export const COMMANDS: readonly CliCommand[] = [pushCommand, sourcesCommand];
