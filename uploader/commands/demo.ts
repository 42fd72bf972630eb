// `aqe-upload demo`: a newcomer sees the whole job in one command: a realistic sample workspace
// (plan volumes) for two environments in a temporary folder, pushed to a local bucket, loaded
// into an embedded PostgreSQL (PGlite + pgvector), embedded and searched.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import { searchByText, searchByVector } from '../../functions/search/search.js';
import { loadConfig } from '../config.js';
import { buildWorkspace } from '../demo/sample-workspace.js';
import { chooseEmbedder, type EmbedderChoice, runLocalLoad, STANDIN_MODEL_DIR, STANDIN_MODEL_ID, withDatabase } from '../local/local-sync.js';
import { runPush } from '../push/run-push.js';
import { loadWarnings, renderLoadOutcome, renderSearchResult } from '../ui/load-report.js';
import { warn } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { negatable, parsed, toggle, usage } from './flags.js';

const DEMO_QUERIES = ['flaky test retry with backoff', 'coverage gap in authentication'];

export const demoCommand = defineCommand({
  name: 'demo',
  flags: z.object({
    volume: parsed((v) => (v === 'small' || v === 'plan' ? v : usage(`--volume ${v}: expected small or plan`, 'aqe-upload demo --volume small'))).pipe(z.enum(['small', 'plan'])),
    keep: toggle(),
    embed: negatable(),
  }),
  example: 'aqe-upload demo --volume small',
  define: (cmd: Command) =>
    cmd
      .description('build a sample workspace, push it, load it into an embedded database and search it (one command, nothing to set up)')
      .option('--volume <v>', 'small | plan (the sizes of a real workspace; default plan)', 'plan')
      .option('--keep', 'keep the temporary folder so you can explore it with the other commands')
      .option('--no-embed', 'skip embeddings (search falls back to full text)'),
  async run(flags, config, io) {
    const volume = flags.volume;
    const json = flags.json;
    const say = (line: string) => {
      if (!json) io.stdout.write(`${line}\n`);
    };
    const started = performance.now();
    const root = await mkdtemp(join(tmpdir(), 'aqe-demo-'));
    const bucket = pathToFileURL(join(root, 'bucket')).href;
    const databaseUrl = `pglite://${join(root, 'db')}`;
    const report: Record<string, unknown> = { root, bucket, databaseUrl, environments: [] as unknown[] };
    try {
      let embedder: EmbedderChoice | null = null;
      if (flags.embed) {
        embedder = config.modelDir !== undefined ? await chooseEmbedder(config) : await chooseEmbedder(config, { modelDir: STANDIN_MODEL_DIR, modelId: STANDIN_MODEL_ID });
        say(
          config.modelDir !== undefined
            ? `model: ${config.modelDir}`
            : 'model: the bundled stand-in (bag-of-words vectors, for the demo only); set AQE_MODEL_DIR to use all-MiniLM-L6-v2',
        );
      }
      for (const [env, seed, vol] of [['laptop', 1, volume], ['ci', 2, 'small']] as const) {
        const workspace = join(root, env);
        await buildWorkspace(workspace, { volume: vol, seed });
        // the demo's own workspaces: none of the caller's settings apply
        const pushConfig = loadConfig({ flags: { workspace, env, bucket }, env: {}, workspace, configText: null });
        const push = await runPush({ config: pushConfig });
        say(`\n[${env}] pushed ${push.totals.captured} files (${push.totals.uploadedBytes} bytes sent) as ${push.manifestKey}`);
        if (!push.manifestKey) throw new AppError('SNAPSHOT_FAILED', `demo push for ${env} wrote no manifest`);
        const load = await runLocalLoad({ bucket, manifestKey: push.manifestKey, databaseUrl, embedder, embedBudgetMs: 120_000 });
        for (const w of loadWarnings(load)) warn(io, w);
        if (!json) io.stdout.write(renderLoadOutcome(load));
        (report['environments'] as unknown[]).push({ env, push: { manifestKey: push.manifestKey, totals: push.totals }, load });
      }
      const searches: unknown[] = [];
      await withDatabase(databaseUrl, async (db) => {
        for (const q of DEMO_QUERIES) {
          const result = embedder?.embedder
            ? await searchByVector(db, (await embedder.embedder.embed([q]))[0]!, { limit: 5, queryText: q, hybrid: true, model: embedder.embedder.modelId })
            : await searchByText(db, q, { limit: 5 });
          say(`\nsearch "${q}":`);
          if (!json) io.stdout.write(renderSearchResult(result));
          searches.push({ query: q, ...result });
        }
      });
      report['searches'] = searches;
      report['durationMs'] = Math.round(performance.now() - started);
      say(`\ndone in ${(Number(report['durationMs']) / 1000).toFixed(1)} s`);
      if (flags.keep) {
        say(`kept ${root}; try:\n  npx aqe-upload search "retry" --database ${databaseUrl}\n  npx aqe-upload duplicates --database ${databaseUrl} --threshold 0.8`);
      }
      if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 'ok';
    } finally {
      if (!flags.keep) await rm(root, { recursive: true, force: true });
    }
  },
});
