// Child baseline: streams a file through sha256 (1 MB reads) and prints {maxRssMb, bytes, ms}.
// Usage: node --import tsx test/bench/child-hash.ts <file>
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { peakRssMb } from './child-run.js';

const file = process.argv[2];
if (!file) throw new Error('usage: child-hash.ts <file>');
const started = performance.now();
const hash = createHash('sha256');
let bytes = 0;
for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
  hash.update(chunk as Buffer);
  bytes += (chunk as Buffer).length;
}
const digest = hash.digest('hex');
process.stdout.write(`${JSON.stringify({ maxRssMb: peakRssMb(), bytes, ms: performance.now() - started, sha256: digest })}\n`);
