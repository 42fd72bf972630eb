// Child: pushes a workspace to a local-dir bucket with runPush and prints
// {maxRssMb, ms, bytes, uploadedBytes, manifestKey}.
// Usage: node --import tsx test/bench/child-push.ts <workspace> <bucketDir> [env]
import { pathToFileURL } from 'node:url';
import { runPush } from '../../uploader/push/run-push.js';
import { loadConfig } from '../../uploader/config.js';
import { readConfigText } from '../../uploader/workspace/discover.js';
import { peakRssMb } from './child-run.js';

const [workspace, bucketDir, env = 'bench'] = process.argv.slice(2);
if (!workspace || !bucketDir) throw new Error('usage: child-push.ts <workspace> <bucketDir> [env]');
const started = performance.now();
const config = loadConfig({ flags: { workspace, env, bucket: pathToFileURL(bucketDir).href }, env: {}, workspace, configText: await readConfigText(workspace) });
const result = await runPush({ config });
if (result.partial) throw new Error(`push was partial: ${JSON.stringify(result.sources.filter((s) => s.status === 'failed'))}`);
process.stdout.write(
  `${JSON.stringify({ maxRssMb: peakRssMb(), ms: performance.now() - started, bytes: result.totals.bytes, uploadedBytes: result.totals.uploadedBytes, manifestKey: result.manifestKey })}\n`,
);
