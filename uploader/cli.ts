#!/usr/bin/env node
// aqe-upload entry point: runs the CLI on this process's arguments and sets the exit code.
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
