// Reading a WAL database that its tool closed cleanly (no -wal, no -shm beside it) must not leave
// -wal/-shm files in the user's workspace: a read-only connection creates them and cannot remove
// them. sources, push (with its load) and verify run through the real CLI on agentic-qe 3.14's own
// database and claude-flow 3.43's .swarm/memory.db; afterwards the workspace holds exactly the
// files it held before, and every row still landed.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAgenticQeV3Db, writeClaudeFlowSwarmDb } from '../../support/real-formats.js';
import { runCliInProcess, tempFolder } from './cli-harness.js';

function filesUnder(root: string, skip = '.aqe-sync'): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== skip) walk(full);
      } else out.push(relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

describe('WAL databases read without leftovers', () => {
  let ws: string;
  let remove: () => Promise<void>;
  let before: string[];
  const cli = (...args: string[]) => runCliInProcess([...args, '--workspace', ws], { AQE_EMBED_BUDGET_SECONDS: '0', AQE_ENV: 'laptop' });

  beforeAll(async () => {
    const tmp = await tempFolder('aqe-wal-leftovers-');
    remove = tmp.remove;
    ws = join(tmp.dir, 'ws');
    await writeAgenticQeV3Db(join(ws, 'v3/.agentic-qe/memory.db'));
    writeClaudeFlowSwarmDb(join(ws, '.swarm/memory.db'));
    before = filesUnder(ws);
  }, 60_000);
  afterAll(async () => remove?.());

  it('starts from WAL databases with no -wal or -shm beside them', () => {
    expect(before).toEqual(['.swarm/memory.db', 'v3/.agentic-qe/memory.db']);
  });

  it('sources, push (with its load) and verify leave the workspace as it was', async () => {
    const sources = await cli('sources', '--json');
    expect(sources.code, sources.stderr).toBe(0);
    expect(filesUnder(ws)).toEqual(before);
    const push = await cli('push', '--json');
    expect(push.code, push.stderr).toBe(0);
    expect(filesUnder(ws)).toEqual(before);
    const verify = await cli('verify', '--json');
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(filesUnder(ws)).toEqual(before);
    // and what was read is complete: claude-flow's entries and agentic-qe's experiences landed
    const v = JSON.parse(verify.stdout) as { pairs: Array<{ sourceId: string; table: string; cloud: number }> };
    expect(v.pairs.find((p) => p.sourceId === 'swarm-memory' && p.table === 'memory_entries')?.cloud).toBe(2);
    expect(v.pairs.find((p) => p.sourceId === 'v3-memory' && p.table === 'learning_experiences')?.cloud).toBe(2);
  }, 120_000);
});
