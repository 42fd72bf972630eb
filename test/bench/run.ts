// `npm run bench [-- --quick] [--out FILE] [--only NAME,…]`: runs every benchmark module, prints
// one table (figure, baseline measured in the same run, ratio, target) and writes it as JSON.
// Benchmarks are never timed tests: they report, they do not fail the test suite.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchFigure, BenchModule } from './bench-types.js';

const MODULES: Record<string, () => Promise<BenchModule>> = {
  push: () => import('./push-bench.js'),
  load: () => import('./load-bench.js'),
  embed: () => import('./embed-bench.js'),
  search: () => import('./search-bench.js'),
  pgloader: () => import('./pgloader-bench.js'),
  scale: () => import('./scale-bench.js'),
  'large-json': () => import('./large-json-bench.js'),
  fuzz: () => import('./fuzz-bench.js'),
  concurrent: () => import('./concurrent-bench.js'),
  'faults-push': () => import('./faults-push-bench.js'),
  'faults-load': () => import('./faults-load-bench.js'),
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(
      [
        'Usage: npm run bench -- [--quick] [--out FILE] [--only NAME,…]',
        '  --quick        smaller sizes (a few minutes) instead of the full run',
        '  --out FILE     also write every figure as JSON to FILE',
        `  --only NAMES   run only these modules: ${Object.keys(MODULES).join(', ')}`,
        'Prints one table: figure, baseline measured in the same run, ratio, target. Exit 1 if a module failed.',
      ].join('\n') + '\n',
    );
    return;
  }
  const unknown = values.only?.split(',').filter((n) => !(n in MODULES)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown module ${unknown.join(', ')}; expected one of ${Object.keys(MODULES).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const only = values.only ? new Set(values.only.split(',')) : null;
  const workDir = mkdtempSync(join(tmpdir(), 'aqe-bench-'));
  const results: { module: string; figures: BenchFigure[]; error?: string }[] = [];
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    for (const [name, load] of Object.entries(MODULES)) {
      if (only && !only.has(name)) continue;
      log(`== ${name}`);
      try {
        const mod = await load();
        const moduleDir = join(workDir, name);
        const figures = await mod.run({ quick: values.quick ?? false, workDir: moduleDir, log });
        results.push({ module: name, figures });
      } catch (err) {
        log(`!! ${name} failed: ${(err as Error).stack ?? String(err)}`);
        results.push({ module: name, figures: [], error: (err as Error).message });
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  printTable(results);
  if (values.out) writeFileSync(values.out, `${JSON.stringify({ at: new Date().toISOString(), quick: values.quick, results }, null, 2)}\n`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}

function printTable(results: { module: string; figures: BenchFigure[]; error?: string }[]): void {
  const rows: string[][] = [['module', 'figure', 'value', 'baseline (same run)', 'ratio', 'target', 'ok']];
  for (const r of results) {
    if (r.error) rows.push([r.module, 'FAILED', r.error.slice(0, 60), '', '', '', 'no']);
    for (const f of r.figures) {
      rows.push([
        r.module,
        f.name,
        `${fmt(f.value)} ${f.unit}`,
        f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.baseline.unit}` : '',
        f.ratio !== undefined ? `${f.ratioUnit === '%' ? `${f.ratio.toFixed(2)} %` : `${f.ratio.toFixed(2)}x`}${f.ratioLabel ? ` ${f.ratioLabel}` : ''}` : '',
        f.target ?? '',
        f.pass === undefined ? '' : f.pass ? 'yes' : 'NO',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  for (const row of rows) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
}

await main();
