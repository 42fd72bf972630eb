// Preloaded into a benchmarked process (`node -r …/peak-rss-at-exit.cjs …`): at exit, writes the
// process's peak RSS (MB, from process.resourceUsage().maxRSS) to the file named by
// AQE_BENCH_RSS_FILE. Plain JavaScript, so the process measured runs no TypeScript loader.
'use strict';
const { writeFileSync } = require('node:fs'); // eslint-disable-line @typescript-eslint/no-require-imports, no-undef
const target = process.env.AQE_BENCH_RSS_FILE;
if (target) process.on('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS / 1024)));
