// The real CLI as a child process: help, the sources inventory (text and JSON), exit codes.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltWorkspace } from '../../support/workspace-builder.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCliInProcess, runCliProcess, tempFolder } from './cli-harness.js';

let ws: BuiltWorkspace;
let remove: () => Promise<void>;
beforeAll(async () => {
  const t = await tempFolder();
  remove = t.remove;
  ws = await buildWorkspace(t.dir, { volume: 'small' });
  await ws.close();
});
afterAll(async () => {
  await remove();
});

interface InventoryJson {
  workspace: string;
  sources: Array<{ id: string; path: string; state: string; kind: string; format: string; role: string; size: number | null; modifiedAt: string | null; tables: Array<{ name: string; rows: number }> | null; problem: unknown }>;
  problems: string[];
}

describe('aqe-upload --help', () => {
  it('lists the commands and each command documents --json', async () => {
    const top = await runCliProcess(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/push \[options\]/);
    expect(top.stdout).toMatch(/sources \[options\]/);
    for (const cmd of ['push', 'sources']) {
      const help = await runCliProcess([cmd, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--json');
    }
    const push = await runCliProcess(['push', '--help']);
    for (const flag of ['--workspace', '--env', '--bucket', '--dry-run', '--skip-unchanged', '--no-load', '--database']) expect(push.stdout).toContain(flag);
  });

  it('an unknown option is a usage error: exit 2 with a Try line', async () => {
    const run = await runCliProcess(['push', '--frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option '--frobnicate'/);
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^Try: aqe-upload/);
  });
});

describe('aqe-upload sources', () => {
  it('--json gives one document: every source with kind, format, role, size, time and numeric table counts', async () => {
    const run = await runCliProcess(['sources', '--workspace', ws.root, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const inv = JSON.parse(run.stdout) as InventoryJson;
    expect(inv.workspace).toBe(ws.root);
    expect(inv.problems).toEqual([]);
    expect(inv.sources.map((s) => s.path).sort()).toEqual([...ws.files].sort());
    for (const s of inv.sources) {
      expect(s.state).toBe('present');
      expect(typeof s.size).toBe('number');
      expect(Number.isNaN(Date.parse(s.modifiedAt ?? ''))).toBe(false);
    }
    const v3 = inv.sources.find((s) => s.id === 'v3-memory')!;
    expect(v3).toMatchObject({ kind: 'sqlite', format: 'sqlite', role: 'PRIMARY' });
    expect(v3.tables?.some((t) => t.name.startsWith('sqlite_') || t.name.endsWith('_fts') || t.name.includes('_fts_'))).toBe(false);
    for (const [key, rows] of Object.entries(ws.expected)) {
      const [id, table] = key.split('/') as [string, string];
      const counts = inv.sources.filter((s) => s.id === id).flatMap((s) => s.tables ?? []);
      expect(counts.find((t) => t.name === table)?.rows, key).toBe(rows);
    }
  });

  it('prints a human table on stdout and nothing on stderr', async () => {
    const run = await runCliInProcess(['sources', '--workspace', ws.root]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^SOURCE\s+ROLE\s+KIND\s+FORMAT\s+STATE\s+SIZE\s+MODIFIED\s+ROWS\s+PATH$/m);
    expect(run.stdout).toMatch(/^v3-memory\s+PRIMARY\s+sqlite\s+sqlite\s+\S+ KB/m);
    expect(run.stdout).toMatch(/^\s+qe_patterns\s+6$/m);
    expect(run.stdout).toMatch(/11 present, 0 missing, 0 with problems\./);
  });

  it('honours the config file: disabled sources, overridden roles, extra sources and excludes', async () => {
    const t = await tempFolder();
    try {
      const other = await buildWorkspace(t.dir, { volume: 'small' });
      await other.close();
      await mkdir(join(t.dir, 'backup'));
      await copyFile(join(t.dir, '.agentic-qe', 'memory.db'), join(t.dir, 'backup', 'memory-copy.db'));
      await writeFile(
        join(t.dir, 'aqe-sync.config.json'),
        JSON.stringify({
          sources: { 'swarm-memory': { enabled: false }, 'root-memory': { role: 'STALE' } },
          extraSources: [
            { id: 'copied-memory', path: 'backup/memory-copy.db' },
            { id: 'same-file', path: '.agentic-qe/memory.db' },
          ],
          exclude: ['.claude-flow/metrics/system-*.json'],
        }),
      );
      const run = await runCliInProcess(['sources', '--json'], { AQE_WORKSPACE: t.dir });
      expect(run.code, run.stderr).toBe(0);
      const inv = JSON.parse(run.stdout) as InventoryJson;
      expect(inv.sources.find((s) => s.id === 'swarm-memory')?.state).toBe('disabled');
      expect(inv.sources.find((s) => s.id === 'root-memory')?.role).toBe('STALE');
      expect(inv.sources.find((s) => s.id === 'copied-memory')).toMatchObject({ kind: 'sqlite', format: 'sqlite', role: 'ACTIVE', state: 'present' });
      expect(inv.sources.find((s) => s.path === '.claude-flow/metrics/system-metrics.json')?.state).toBe('excluded');
      // A file already claimed by a catalogue source is not captured twice.
      expect(inv.sources.find((s) => s.id === 'same-file')).toMatchObject({ state: 'excluded', problem: { message: '.agentic-qe/memory.db is already captured as source "root-memory"' } });

      const push = await runCliInProcess(['push', '--json', '--env', 'devpod'], { AQE_WORKSPACE: t.dir });
      expect(push.code, push.stderr).toBe(0);
      const result = JSON.parse(push.stdout) as { env: string; sources: Array<{ sourceId: string; path: string }>; skipped: Array<{ path: string; state: string }> };
      expect(result.env).toBe('devpod');
      expect(result.sources.some((s) => s.sourceId === 'swarm-memory')).toBe(false);
      expect(result.sources.some((s) => s.sourceId === 'copied-memory')).toBe(true);
      expect(result.skipped.map((s) => s.state).sort()).toEqual(['disabled', 'excluded', 'excluded']);
    } finally {
      await t.remove();
    }
  });

  it('a workspace without sources lists every source as missing; pushing it is a usage error that writes nothing', async () => {
    const t = await tempFolder();
    try {
      const run = await runCliInProcess(['sources', '--workspace', t.dir, '--json']);
      expect(run.code).toBe(0);
      const inv = JSON.parse(run.stdout) as InventoryJson;
      expect(inv.sources.every((s) => s.state === 'missing')).toBe(true);
      const push = await runCliProcess(['--workspace', t.dir, '--env', 'ci']);
      expect(push.code, push.stderr).toBe(2);
      expect(push.stdout).toBe('');
      expect(push.stderr).toContain(`${t.dir} holds no learning-data source (none of 8 known paths exists)`);
      expect(push.stderr.trimEnd().split('\n').pop()).toBe(`Try: aqe-upload sources --workspace ${t.dir}   (lists where push looks)`);
      expect(existsSync(join(t.dir, '.aqe-sync'))).toBe(false);
    } finally {
      await t.remove();
    }
  });
});

describe('aqe-upload push (child process)', () => {
  it('--dry-run writes nothing, a push exits 0 and a re-push sends 0 blob bytes', async () => {
    const t = await tempFolder();
    try {
      const other = await buildWorkspace(t.dir, { volume: 'small' });
      await other.close();
      const bucket = `file://${join(t.dir, 'elsewhere')}`;
      const dry = await runCliProcess(['push', '--workspace', t.dir, '--bucket', bucket, '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      // a file over ~4 MiB is several chunks, each its own blob
      const newBlobs = Number(/Dry run: 11 files .* (\d+) new blobs would be uploaded/.exec(dry.stdout)?.[1]);
      expect(newBlobs, dry.stdout).toBeGreaterThanOrEqual(11);
      expect(dry.stdout).toMatch(/Nothing was written\./);
      expect(existsSync(join(t.dir, 'elsewhere'))).toBe(false);
      expect(existsSync(join(t.dir, '.aqe-sync'))).toBe(false);

      const first = await runCliProcess(['push', '--workspace', t.dir, '--bucket', bucket, '--json', '--quiet']);
      expect(first.code, first.stderr).toBe(0);
      // --quiet: the load's warnings (odd timestamps, no model) are not printed; the JSON keeps them
      expect(first.stderr).toBe('');
      expect((JSON.parse(first.stdout) as { load: { warnings: string[] } }).load.warnings.length).toBeGreaterThan(0);
      const again = await runCliProcess(['push', '--workspace', t.dir, '--bucket', bucket, '--json']);
      const r = JSON.parse(again.stdout) as { totals: { uploadedBytes: number; newBlobs: number }; manifestWritten: boolean };
      expect(r.totals).toMatchObject({ uploadedBytes: 0, newBlobs: 0 });
      expect(r.manifestWritten).toBe(true);
      const skip = await runCliProcess(['push', '--workspace', t.dir, '--bucket', bucket, '--skip-unchanged']);
      expect(skip.code).toBe(0);
      expect(skip.stdout).toMatch(/Unchanged since snapshot \w{26}: nothing written/);
    } finally {
      await t.remove();
    }
  });
});
