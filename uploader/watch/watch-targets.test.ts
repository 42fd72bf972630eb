import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changedTargets, targetSignature, watchDirectories } from './watch-targets.js';

describe('watch targets', () => {
  it('sees an empty -wal / -journal appear or vanish as no change (a read-only open of our own snapshot creates one), but sees one that holds data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aqe-watch-targets-'));
    try {
      const db = join(dir, 'memory.db');
      await writeFile(db, 'x');
      const targets = [db, `${db}-wal`, `${db}-journal`];
      const before = await targetSignature(targets);
      await writeFile(`${db}-wal`, '');
      await writeFile(`${db}-journal`, '');
      expect(changedTargets(before, await targetSignature(targets))).toEqual([]);
      await writeFile(`${db}-wal`, 'a frame');
      expect(changedTargets(before, await targetSignature(targets))).toEqual([`${db}-wal`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('watches each target\'s directory once', () => {
    expect(watchDirectories(['/w/a/x.db', '/w/a/x.db-wal', '/w/b/c.json', '/w/b'])).toEqual(['/w', '/w/a', '/w/b']);
  });
});
