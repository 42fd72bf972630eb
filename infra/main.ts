// CDKTF app entry (cdktf.json: `npx tsx infra/main.ts`): one stack per deployment file.
// The only place that reads process.env and sets the exit code.
import { join, resolve } from 'node:path';
import { App } from 'cdktf';
import { DeploymentConfigError, deploymentFiles, loadDeploymentConfigFile, resourceNames } from './config.js';
import { StageError, stageFunctionSource } from './stage-functions.js';
import { SyncStack } from './stacks/sync-stack.js';

const root = process.cwd();
try {
  // Validate every deployment before touching the disk.
  const configs = deploymentFiles(root, process.env).map(loadDeploymentConfigFile);
  const staged = configs.map((config) =>
    stageFunctionSource({
      root,
      outDir: join(root, '.tmp', 'function-source', config.name),
      modelDir: config.functions.modelDir ? resolve(root, config.functions.modelDir) : undefined,
    }),
  );
  const app = new App();
  configs.forEach((config, i) => {
    const source = staged[i]!;
    new SyncStack(app, resourceNames(config).stack, { config, functionSourceDir: source.dir, modelBundled: source.modelBundled });
  });
  app.synth();
} catch (e) {
  if (e instanceof DeploymentConfigError || e instanceof StageError) {
    console.error(e.message);
    process.exitCode = 1;
  } else {
    throw e;
  }
}
