// A child process for the lock tests: takes the lock of a database folder the way the CLI does
// (uploader/local/database-lock.ts) and holds it. Usage:
//   tsx lock-holder.ts <dataDir> <owner> hold               prints "held <pid>", holds until killed or stdin ends
//   tsx lock-holder.ts <dataDir> <owner> exclusive <n> <marker>   n times: take, prove nobody else holds it, release
import { open, rm } from 'node:fs/promises';
import { acquireDatabaseLock } from '../../../uploader/local/database-lock.js';

const [dataDir, owner, mode, countArg, marker] = process.argv.slice(2) as [string, string, string, string?, string?];

if (mode === 'hold') {
  const lock = await acquireDatabaseLock(dataDir, { owner, timeoutMs: 60_000 });
  process.stdout.write(`held ${process.pid}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void lock.release().then(() => process.exit(0)));
} else if (mode === 'exclusive') {
  let collisions = 0;
  for (let i = 0; i < Number(countArg); i++) {
    const lock = await acquireDatabaseLock(dataDir, { owner, timeoutMs: 60_000, pollMs: 5 });
    try {
      // create-exclusive: fails if another holder is inside at the same time
      const fh = await open(marker!, 'wx').catch(() => null);
      if (fh === null) collisions++;
      else {
        await new Promise((r) => setTimeout(r, Math.random() * 8));
        await fh.close();
        await rm(marker!);
      }
    } finally {
      await lock.release();
    }
  }
  process.stdout.write(`${JSON.stringify({ collisions })}\n`);
}
