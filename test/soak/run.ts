// `npm run soak -- --minutes N [--json] [--out FILE] [--volume small|plan] [--keep]`: the soak
// (soak.ts) for as long as asked, against a private, durable PostgreSQL cluster started here.
// Prints the summary (pushes, loads, rows committed, lag p50/p95/max, RSS over time, verify);
// exits 1 when verify finds differences or the soak's other checks fail, 2 on a usage error.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createTestDatabase, startPostgresCluster } from '../support/postgres.js';
import { renderSoakSummary, runSoak, type SoakSummary, soakProblems } from './soak.js';

const USAGE = [
  'Usage: npm run soak -- --minutes N [--json] [--out FILE] [--volume small|plan] [--keep]',
  '  --minutes N    how long the writers commit (default 5)',
  '  --json         print the summary as JSON instead of text',
  '  --out FILE     also write the JSON summary to FILE',
  '  --volume V     workspace size: small or plan (default plan)',
  '  --keep         keep the scratch folder (workspace, bucket) and print where it is',
  'Exit codes: 0 verify found no differences; 1 differences or a failed check; 2 usage error.',
].join('\n');

function usage(message: string): never {
  process.stderr.write(`soak: ${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        minutes: { type: 'string', default: '5' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        volume: { type: 'string', default: 'plan' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const minutes = Number(values.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0) usage(`--minutes: expected a positive number, got "${values.minutes}"`);
  if (values.volume !== 'small' && values.volume !== 'plan') usage(`--volume: expected small or plan, got "${values.volume}"`);
  const log = (m: string) => process.stderr.write(`soak: ${m}\n`);

  log('starting a private PostgreSQL cluster (durable)');
  const cluster = await startPostgresCluster({ durable: true });
  let summary: SoakSummary;
  try {
    const tdb = await createTestDatabase('soak', cluster.adminUrl);
    log(`database ${tdb.name}; soaking for ${minutes} min`);
    summary = await runSoak({ durationMs: Math.round(minutes * 60_000), databaseUrl: tdb.url, volume: values.volume, keep: values.keep, rssEveryMs: minutes > 10 ? 10_000 : 5000, log });
  } finally {
    await cluster.stop();
  }
  const json = `${JSON.stringify(summary, null, 2)}\n`;
  if (values.out) await writeFile(values.out, json);
  process.stdout.write(values.json ? json : renderSoakSummary(summary));
  const problems = soakProblems(summary);
  for (const p of problems) log(`FAILED: ${p}`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
