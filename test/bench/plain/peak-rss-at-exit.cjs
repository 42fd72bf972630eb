// Preloaded into a benchmarked process (`node -r …/peak-rss-at-exit.cjs …`): at exit, writes the
// process's peak RSS (MB, VmHWM of /proc/self/status: not maxRSS, which a spawned child inherits
// from its parent) to the file named by AQE_BENCH_RSS_FILE. Plain JavaScript, so the process
// measured runs no TypeScript loader. Worker threads load it too; only the main thread writes.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs'); // eslint-disable-line @typescript-eslint/no-require-imports, no-undef
const { isMainThread } = require('node:worker_threads'); // eslint-disable-line @typescript-eslint/no-require-imports, no-undef
const target = process.env.AQE_BENCH_RSS_FILE;
const peakMb = () => {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return kb ? Number(kb[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
};
if (target && isMainThread) process.on('exit', () => writeFileSync(target, String(peakMb())));
