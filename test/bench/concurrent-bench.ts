// Concurrent use of the embedded database: the wait a command sees for the local database while
// `aqe-upload watch` keeps pushing and loading (a tool commits to the workspace all along), against
// the same command with no watch running, measured in the same run. The command is `status`
// (opens the database, reads it, closes it); its wait is what it reports with -v. Reports only.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWriter } from '../support/sqlite-writer.js';
import { buildWorkspace } from '../support/workspace-builder.js';
import { startWatch } from '../integration/watch/watch-process.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'uploader', 'cli.ts');
const ENV = { AQE_EMBED_BUDGET_SECONDS: '0' };

interface Sample {
  wallMs: number;
  waitMs: number;
}

/** Runs `aqe-upload status -v` once: its wall time and the wait it reported for the database. */
function statusOnce(ws: string): Promise<Sample> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AQE_')) base[k] = v;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'status', '-w', ws, '--json', '-v', '--no-local'], { cwd: REPO, env: { ...base, ...ENV }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const m = /taken after ([\d.]+) s of waiting/.exec(err);
      if (code !== 0 || m === null) reject(new Error(`status exited ${code}: ${err.slice(-1500)}`));
      else resolve({ wallMs, waitMs: Number(m[1]) * 1000 });
    });
  });
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  const n = opts.quick ? 8 : 30;
  const ws = join(opts.workDir, 'ws');
  const built = await buildWorkspace(ws, { volume: opts.quick ? 'small' : 'plan', seed: 4 });
  await built.close();

  // The watch's first push creates the database; the baseline runs after it, with no watch.
  const first = startWatch(['-w', ws, '--env', 'laptop', '--json', '--no-load'], ENV);
  await first.nextJson(300_000);
  await first.stop('SIGTERM');
  await statusOnce(ws); // creates and migrates the database, outside the samples
  opts.log(`concurrent: baseline, ${n} × status with no watch`);
  const baseline: Sample[] = [];
  for (let i = 0; i < n; i++) baseline.push(await statusOnce(ws));

  opts.log(`concurrent: ${n} × status while watch pushes and loads a workspace a tool keeps writing`);
  const writer = await startWriter({ dbPath: join(ws, 'v3', '.agentic-qe', 'memory.db'), commitsPerSecond: 10 });
  const watch = startWatch(['-w', ws, '--env', 'laptop', '--json', '--debounce', '500ms', '--poll', '300ms'], ENV);
  const loaded: number[] = [];
  const busy: Sample[] = [];
  try {
    const start = await watch.nextJson<{ durationMs: number }>(300_000);
    loaded.push(start.durationMs);
    for (let i = 0; i < n; i++) {
      // start at a random point of the watch's cycle
      await new Promise((r) => setTimeout(r, Math.random() * 1500));
      busy.push(await statusOnce(ws));
    }
  } finally {
    await writer.stop();
    await watch.stop('SIGTERM', 120_000);
  }
  for (const line of watch.pending()) loaded.push((JSON.parse(line) as { durationMs: number }).durationMs);

  const ms = (v: number) => Math.round(v);
  const wall50 = percentile(baseline.map((s) => s.wallMs), 50);
  const wall95 = percentile(baseline.map((s) => s.wallMs), 95);
  const figures: BenchFigure[] = [
    {
      name: `wait for the local database while watch loads, p50 (status, ${n} runs)`,
      value: ms(percentile(busy.map((s) => s.waitMs), 50)),
      unit: 'ms',
      baseline: { name: 'same command with no watch: wait p50', value: ms(percentile(baseline.map((s) => s.waitMs), 50)), unit: 'ms' },
    },
    {
      name: `wait for the local database while watch loads, p95 (status, ${n} runs)`,
      value: ms(percentile(busy.map((s) => s.waitMs), 95)),
      unit: 'ms',
      baseline: { name: 'same command with no watch: wait p95', value: ms(percentile(baseline.map((s) => s.waitMs), 95)), unit: 'ms' },
    },
    {
      name: 'status wall time while watch loads, p50',
      value: ms(percentile(busy.map((s) => s.wallMs), 50)),
      unit: 'ms',
      baseline: { name: 'no watch p50', value: ms(wall50), unit: 'ms' },
      ratio: percentile(busy.map((s) => s.wallMs), 50) / wall50,
      ratioLabel: 'slower',
    },
    {
      name: 'status wall time while watch loads, p95',
      value: ms(percentile(busy.map((s) => s.wallMs), 95)),
      unit: 'ms',
      baseline: { name: 'no watch p95', value: ms(wall95), unit: 'ms' },
      ratio: percentile(busy.map((s) => s.wallMs), 95) / wall95,
      ratioLabel: 'slower',
    },
    {
      name: `watch push + load, p50 (${loaded.length} pushes; what a wait is made of)`,
      value: ms(percentile(loaded, 50)),
      unit: 'ms',
    },
  ];
  return figures;
}
