import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';
import { COMMON_FLAGS } from './command.js';
import { COMMANDS } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'aqe-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(args, { stdout, stderr, env, cwd: dir });
  return { code, stdout: out, stderr: err };
}

describe('command flags', () => {
  it('every option and argument a command defines has a key in its flag schema (none is dropped unseen)', () => {
    const missing: string[] = [];
    for (const command of COMMANDS) {
      const cmd = command.define(new Command(command.name));
      const keys = new Set([...Object.keys(command.flags.shape), ...Object.keys(COMMON_FLAGS.shape)]);
      for (const o of cmd.options) if (!keys.has(o.attributeName())) missing.push(`${command.name} ${o.long ?? o.flags}`);
      for (const a of cmd.registeredArguments) if (!keys.has(a.name())) missing.push(`${command.name} <${a.name()}>`);
    }
    expect(missing).toEqual([]);
  });

  it('reports every bad flag at once, as a usage error, before touching anything', async () => {
    const ws = join(dir, 'never-created');
    const pull = await cli(['pull', '--workspace', ws, '--table', 'nope', '--keep-backups', '0', '--lock-timeout', 'soon', '--json']);
    expect(pull.code).toBe(2);
    const message = (JSON.parse(pull.stdout) as { error: { code: string; message: string } }).error;
    expect(message.code).toBe('USAGE');
    expect(message.message.split('\n')).toEqual([
      '--table nope: pull can write qe_patterns only',
      '--lock-timeout soon: expected a number of seconds >= 0',
      '--keep-backups: "0" is not a backup count; expected a whole number from 1 to 1000 (default 5)',
      'Try: aqe-upload pull --from-env devpod --dry-run',
    ]);
    expect(existsSync(ws)).toBe(false);
  });

  it('keeps a flag\'s own Try line when it has one', async () => {
    const search = await cli(['search', 'x', '--limit', '5000']);
    expect(search.code).toBe(2);
    expect(search.stderr).toBe('aqe-upload: --limit 5000: expected a number from 1 to 1000\nTry: aqe-upload search "flaky tests" --limit 10\n');
  });
});

describe('the environment', () => {
  it('is checked once at the entry: every bad variable at once, exit 2, with a runnable Try line', async () => {
    const run = await cli(['status'], { AQE_STORAGE_RETRIES: 'lots', AQE_LOCK_TIMEOUT: 'soon', AQE_DATABASE_URL: 'mysql://x' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid environment (3 problems)');
    expect(run.stderr).toContain('AQE_DATABASE_URL: database URL');
    expect(run.stderr).toContain('AQE_STORAGE_RETRIES: "lots" is not a retry count');
    expect(run.stderr).toContain('AQE_LOCK_TIMEOUT: "soon" is not a number of seconds');
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^Try: AQE_[A-Z_]+=\S+ aqe-upload status$/);
  });

  it('does not stand in the way of --help', async () => {
    const help = await cli(['status', '--help'], { AQE_LOCK_TIMEOUT: 'soon' });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--database <url>');
  });
});
