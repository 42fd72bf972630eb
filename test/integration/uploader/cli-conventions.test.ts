// The conventions every command keeps, run for real: unknown commands answered with a suggestion,
// one JSON document per --json run (errors included), -q/-v everywhere, shell completion that
// bash actually completes with, everything checked before anything is written, a load that fails
// after the commit reported as pending with a command that finishes it, the remembered
// environment, runnable hints, and listings that say when they are cut short.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../uploader/commands/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCliInProcess, runCliProcess, tempFolder } from './cli-harness.js';

let tmp: { dir: string; remove: () => Promise<void> };
let ws: string;
let tdb: TestDatabase;
/** No AQE_* from the caller; embeddings left pending; the test database for commands that read one. */
let env: Record<string, string>;

beforeAll(async () => {
  tmp = await tempFolder('aqe-conventions-');
  ws = join(tmp.dir, 'ws');
  const built = await buildWorkspace(ws, { volume: 'small', seed: 21 });
  await built.close();
  tdb = await createTestDatabase('conventions');
  env = { AQE_EMBED_BUDGET_SECONDS: '0', AQE_DATABASE_URL: tdb.url };
});
afterAll(async () => {
  await tdb?.drop();
  await tmp?.remove();
});

/** Exactly one JSON document on stdout. */
function oneJson<T = Record<string, unknown>>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

describe('commands and flags', () => {
  it('an unknown command is a usage error with a suggestion, never a push', async () => {
    const typo = await runCliProcess(['pussh', '--workspace', ws]);
    expect(typo.code).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toBe(`aqe-upload: unknown command 'pussh' — did you mean 'push'?\nTry: aqe-upload push --workspace ${ws}\n`);
    const unknown = await runCliInProcess(['frobnicate', '--json']);
    expect(unknown.code).toBe(2);
    expect(oneJson(unknown.stdout)).toEqual({ error: { code: 'USAGE', message: "unknown command 'frobnicate'\nTry: aqe-upload --help", exitCode: 2, transient: false } });
    expect(existsSync(join(ws, '.aqe-sync'))).toBe(false);
  });

  it('a parse error under --json is one JSON document too', async () => {
    const bad = await runCliInProcess(['push', '--frobnicate', '--json']);
    expect(bad.code).toBe(2);
    expect(oneJson(bad.stdout)).toEqual({ error: { code: 'USAGE', message: "unknown option '--frobnicate'", exitCode: 2, transient: false } });
    const missing = await runCliInProcess(['search', '--json']);
    expect(missing.code).toBe(2);
    expect(oneJson<{ error: { message: string } }>(missing.stdout).error.message).toBe("missing required argument 'query'");
  });

  it('every command documents --json, -q/--quiet and -v/--verbose', async () => {
    for (const command of COMMANDS) {
      const help = await runCliInProcess([command.name, '--help']);
      expect(help.code, command.name).toBe(0);
      for (const flag of ['--json', '-q, --quiet', '-v, --verbose']) expect(help.stdout, `${command.name} ${flag}`).toContain(flag);
    }
    // one name per concept: the old spellings still work but are not offered
    const pull = await runCliInProcess(['pull', '--help']);
    expect(pull.stdout).toContain('--table <name>');
    expect(pull.stdout).not.toContain('--tables');
    const load = await runCliInProcess(['load', '--help']);
    expect(load.stdout).toContain('--budget <seconds>');
    expect(load.stdout).not.toContain('--embed-budget');
  });

  it('completion bash completes commands, options and shells in a real bash', async () => {
    const script = await runCliInProcess(['completion', 'bash']);
    expect(script.code).toBe(0);
    const file = join(tmp.dir, 'aqe-upload.bash');
    await writeFile(file, script.stdout);
    const complete = (...words: string[]) =>
      execFileSync('bash', ['-c', `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _aqe_upload; echo "\${COMPREPLY[*]}"`, file], { encoding: 'utf8' }).trim();
    expect(complete('aqe-upload', 'pu').split(' ').sort()).toEqual(['pull', 'push']);
    expect(complete('aqe-upload', 're').split(' ').sort()).toEqual(['rebuild', 'reconcile']);
    expect(complete('aqe-upload', 'search', '--li')).toBe('--limit');
    expect(complete('aqe-upload', 'completion', '')).toBe('bash zsh fish');
    expect(complete('aqe-upload', 'pull', '--tab')).toBe('--table');
    expect(complete('aqe-upload', '--wor')).toBe('--workspace'); // options first: the default command
    for (const shell of ['zsh', 'fish']) {
      const other = await runCliInProcess(['completion', shell]);
      expect(other.code).toBe(0);
      for (const command of COMMANDS) expect(other.stdout, `${shell} ${command.name}`).toContain(command.name);
    }
    const bad = await runCliInProcess(['completion', 'powershell']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Try: source <(aqe-upload completion bash)');
  });
});

describe('checks before side effects, and loads after the commit', () => {
  it('a bad --database or budget is a usage error before anything is written', async () => {
    const mysql = await runCliInProcess(['push', '-w', ws, '--database', 'mysql://x', '--json'], env);
    expect(mysql.code).toBe(2);
    expect(oneJson<{ error: { message: string } }>(mysql.stdout).error.message).toContain('--database: database URL: expected postgres://…');
    const budget = await runCliInProcess(['push', '-w', ws], { ...env, AQE_EMBED_BUDGET_SECONDS: 'lots' });
    expect(budget.code).toBe(2);
    expect(budget.stderr).toContain('Try: AQE_EMBED_BUDGET_SECONDS=120 aqe-upload push');
    expect(existsSync(join(ws, '.aqe-sync'))).toBe(false);
  });

  it('an unreachable database after the commit: snapshot committed, load pending (exit 3), no password shown; the printed command loads it', async () => {
    const down = 'postgres://aqe:s3cret-pw@127.0.0.1:1/aqe';
    const push = await runCliInProcess(['push', '-w', ws, '--env', 'laptop', '--database', down, '--json'], { ...env, AQE_STORAGE_RETRIES: '0' });
    expect(push.code, push.stderr).toBe(3);
    const doc = oneJson<{ manifestKey: string; manifestWritten: boolean; pendingLoad: { code: string; fix: string } }>(push.stdout);
    expect(doc.manifestWritten).toBe(true);
    expect(doc.pendingLoad).toMatchObject({ code: 'DB_CONNECTION', fix: `aqe-upload reconcile --workspace ${ws} --database '<your --database URL>'` });
    expect(push.stderr).toContain(`aqe-upload: snapshot committed, load pending: run \`aqe-upload reconcile --workspace ${ws} --database '<your --database URL>'\``);
    expect(`${push.stdout}${push.stderr}`).not.toContain('s3cret-pw');
    // the first push with --env is remembered, and said so
    expect(push.stderr).toContain('This workspace now uses environment "laptop" by default (remembered in .aqe-sync/workspace.json)');

    // the other side: the command it printed, with the real database (AQE_DATABASE_URL)
    const reconcile = await runCliInProcess(['reconcile', '--workspace', ws, '--only', 'load', '--json'], env);
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(oneJson<{ loads: unknown[] }>(reconcile.stdout).loads).toEqual([expect.objectContaining({ manifestKey: doc.manifestKey, status: 'loaded' })]);
  });
});

describe('the remembered environment', () => {
  it('later commands use it without --env; an environment that never pushed is named with the ones that did', async () => {
    const status = await runCliInProcess(['status', '-w', ws, '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(oneJson<{ local: { env: string; lastPush: unknown } }>(status.stdout).local).toMatchObject({ env: 'laptop', lastPush: expect.anything() });
    const verify = await runCliInProcess(['verify', '-w', ws, '--json'], env);
    expect(verify.code, verify.stdout).toBe(0);
    expect(oneJson(verify.stdout)).toMatchObject({ env: 'laptop', equal: true });

    const typo = await runCliInProcess(['verify', '-w', ws, '--env', 'lapotp'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('environment "lapotp" has never pushed to');
    expect(typo.stderr).toContain('environments there: laptop');
    expect(typo.stderr.trimEnd().split('\n').pop()).toBe(`Try: aqe-upload verify --workspace ${ws} --env laptop`);
    const search = await runCliInProcess(['search', 'retry', '--env', 'lapotp'], env);
    expect(search.code).toBe(0);
    expect(search.stderr).toContain('note: environment "lapotp" has never pushed to this database; environments there: laptop');

    const other = await runCliInProcess(['push', '-w', ws, '--env', 'ci', '--no-load', '-q'], env);
    expect(other.code, other.stderr).toBe(0);
    const again = await runCliInProcess(['push', '-w', ws, '--env', 'ci', '--no-load'], env);
    expect(again.stderr).toContain('note: pushed as "ci"; this workspace\'s default environment stays "laptop"');
  });
});

describe('snapshots, load and hints', () => {
  it('snapshots lists them per environment and says when a listing is cut short', async () => {
    const all = await runCliInProcess(['snapshots', '-w', ws, '--json'], env);
    expect(all.code, all.stderr).toBe(0);
    const doc = oneJson<{ environments: Array<{ env: string; count: number; snapshots: Array<{ manifestKey: string }>; truncated: boolean }> }>(all.stdout);
    expect(doc.environments.map((e) => [e.env, e.count])).toEqual([
      ['ci', 2],
      ['laptop', 1],
    ]);
    const cut = await runCliInProcess(['snapshots', '-w', ws, '--env', 'ci', '--limit', '1'], env);
    expect(cut.code).toBe(0);
    expect(cut.stdout).toContain('… 1 older; more: aqe-upload snapshots --env ci --limit 2');
    const typo = await runCliInProcess(['snapshots', '-w', ws, '--env', 'prod'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('environment "prod" has never pushed to');
  });

  it('load takes the bucket from the workspace, refuses a key that is not one, and a quarantined snapshot is still one JSON document', async () => {
    const [id] = await readdir(join(ws, '.aqe-sync', 'bucket', 'snapshots', 'laptop'));
    const key = `snapshots/laptop/${id}/manifest.json`;
    const again = await runCliInProcess(['load', '--manifest', key, '-w', ws, '--embed-budget', '0', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(oneJson(again.stdout)).toMatchObject({ status: 'duplicate' });
    const nonsense = await runCliInProcess(['load', '--manifest', 'nonsense', '-w', ws], env);
    expect(nonsense.code).toBe(2);
    expect(nonsense.stderr).toContain('Try: aqe-upload snapshots');

    const bad = `snapshots/laptop/${ulid()}/manifest.json`;
    await mkdir(join(ws, '.aqe-sync', 'bucket', bad, '..'), { recursive: true });
    await writeFile(join(ws, '.aqe-sync', 'bucket', bad), '{"not": "a manifest"}');
    const quarantined = await runCliInProcess(['load', '--manifest', bad, '-w', ws, '--json'], env);
    expect(quarantined.code).toBe(1);
    expect(oneJson(quarantined.stdout)).toMatchObject({ status: 'quarantined', manifestKey: bad });
    expect(quarantined.stderr).toContain(`aqe-upload: snapshot ${bad} was quarantined`);
  });

  it("rollback's re-apply hint is a command that runs and re-applies the run", async () => {
    const rollback = await runCliInProcess(['rollback', '--env', 'laptop', '--last', '1', '-w', ws], env);
    expect(rollback.code, rollback.stderr).toBe(0);
    const line = rollback.stdout.split('\n').find((l) => l.trim().startsWith('aqe-upload load '));
    expect(line, rollback.stdout).toMatch(new RegExp(`^  aqe-upload load --manifest snapshots/laptop/\\w{26}/manifest\\.json --workspace ${ws}$`));
    const reapply = await runCliInProcess([...line!.trim().split(' ').slice(1), '--json'], env);
    expect(reapply.code, reapply.stderr).toBe(0);
    expect(oneJson(reapply.stdout)).toMatchObject({ status: 'loaded' });
  });

  it('search "" is a usage error; without a model the warning is one line; --quiet drops it; a full page says how to see more', async () => {
    const empty = await runCliInProcess(['search', '  '], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('aqe-upload: search needs the text to look for (got an empty query)\nTry: aqe-upload search "flaky test retry"\n');
    const plain = await runCliInProcess(['search', 'pattern', '--limit', '1'], env);
    expect(plain.code, plain.stderr).toBe(0);
    const warnings = plain.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.length).toBeLessThan(250);
    expect(warnings[0]).toContain('Fix: set AQE_MODEL_DIR');
    expect(plain.stderr).toContain('showing the best 1; more: aqe-upload search "pattern" --limit 5');
    const quiet = await runCliInProcess(['search', 'pattern', '--limit', '1', '-q'], env);
    expect(quiet.stderr).toBe('');
  });

  it('patterns says when it cuts the listing short, and how to see more', async () => {
    const run = await runCliInProcess(['patterns', '--limit', '1'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('showing the first 1 patterns; more: aqe-upload patterns --limit 5');
    const json = await runCliInProcess(['patterns', '--limit', '1', '--json'], env);
    expect(oneJson<{ patterns: unknown[]; truncated: boolean }>(json.stdout)).toMatchObject({ truncated: true, patterns: [expect.anything()] });
    expect(json.stderr).toBe('');
  });

  it('-v prints the structured log lines of reconcile on stderr', async () => {
    const run = await runCliInProcess(['reconcile', '-w', ws, '--only', 'staleness', '-v', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const logLines = run.stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    expect(JSON.parse(logLines[0]!)).toHaveProperty('severity');
  });
});
