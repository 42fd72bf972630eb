// Child baseline: reads + sha256-hashes several files one after another (1 MB reads), the floor
// under any push of the same bytes, and prints {maxRssMb, bytes, ms}.
// Usage: node --import tsx test/bench/support/child-hash-files.ts <file>...
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { peakRssMb } from '../child-run.js';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: child-hash-files.ts <file>...');
const started = performance.now();
let bytes = 0;
for (const file of files) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  hash.digest('hex');
}
process.stdout.write(`${JSON.stringify({ maxRssMb: peakRssMb(), bytes, ms: performance.now() - started, files: files.length })}\n`);
