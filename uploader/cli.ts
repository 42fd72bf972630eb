#!/usr/bin/env node
// aqe-upload entry point: runs the CLI on this process's arguments and sets the exit code.
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
// The command is done and its output written (stdout/stderr are synchronous for files and pipes on
// Linux). A timer left behind by a library (PGlite's WASM arms 10 s timers, and keeps them after
// an abort) must not keep the process alive: every command exits.
setTimeout(() => process.exit(), 1500).unref();
