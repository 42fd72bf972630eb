// Baseline process for the push's peak RSS: reads a file and hashes it with sha256 (1 MB reads),
// in plain JavaScript (no TypeScript loader), and prints {bytes, ms, sha256}.
// Usage: node test/bench/plain/hash-file.mjs <file>
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: hash-file.mjs <file>');
const started = performance.now();
const hash = createHash('sha256');
let bytes = 0;
for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
  hash.update(chunk);
  bytes += chunk.length;
}
process.stdout.write(`${JSON.stringify({ bytes, ms: performance.now() - started, sha256: hash.digest('hex') })}\n`);
