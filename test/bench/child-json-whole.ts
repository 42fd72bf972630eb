// Child: reads a JSON file the way a whole parse does (bytes → text → JSON.parse) and prints
// {maxRssMb, ms, ok} (ok false when V8 cannot hold the text: above ~512 MiB).
// Usage: node --import tsx test/bench/child-json-whole.ts <file>
import { readFileSync } from 'node:fs';
import { peakRssMb } from './child-run.js';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: child-json-whole.ts <file>');
const started = performance.now();
let ok = true;
try {
  const bytes = readFileSync(file);
  const doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  if (typeof doc !== 'object') ok = false;
} catch {
  ok = false;
}
process.stdout.write(`${JSON.stringify({ maxRssMb: peakRssMb(), ms: performance.now() - started, ok })}\n`);
