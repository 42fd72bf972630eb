// Stages the functions' deployable package: compiled dist/functions and dist/schema, package.json
// (install scripts removed) and package-lock.json, and optionally the embedding model under model/.
// The stack zips this folder with a TerraformAsset; Cloud Build runs `npm ci` on it.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StageOptions {
  /** Repository root (holds package.json and dist/). */
  readonly root: string;
  /** Output folder; emptied first. */
  readonly outDir: string;
  /** Optional local all-MiniLM-L6-v2 folder, copied to <outDir>/model. */
  readonly modelDir?: string;
}

export interface StagedSource {
  readonly dir: string;
  readonly modelBundled: boolean;
}

/** Inputs missing from the repository; lists every one at once. */
export class StageError extends Error {
  readonly missing: readonly string[];
  constructor(missing: string[]) {
    super(`cannot stage the function source; missing:\n  - ${missing.join('\n  - ')}\nTry: npm run build`);
    this.name = 'StageError';
    this.missing = missing;
  }
}

/** Paths copied from the build, relative to the root. */
export const STAGED_PATHS = ['dist/functions', 'dist/schema', 'package.json', 'package-lock.json'] as const;

const skipInPackage = (src: string) => !/\.(test|spec)\.js$|\.map$|\.d\.ts$/.test(src);

export function stageFunctionSource(opts: StageOptions): StagedSource {
  const missing = STAGED_PATHS.filter((p) => !existsSync(join(opts.root, p))).map((p) => join(opts.root, p));
  if (opts.modelDir && !existsSync(join(opts.modelDir, 'tokenizer.json'))) missing.push(`${join(opts.modelDir, 'tokenizer.json')} (functions.modelDir)`);
  if (missing.length > 0) throw new StageError(missing);

  rmSync(opts.outDir, { recursive: true, force: true });
  mkdirSync(opts.outDir, { recursive: true });
  for (const p of ['dist/functions', 'dist/schema']) {
    cpSync(join(opts.root, p), join(opts.outDir, p), { recursive: true, filter: skipInPackage });
  }
  // `prepare` would run tsc during `npm ci` on Cloud Build (no TypeScript there): ship without scripts.
  // Dependencies are left untouched so package.json and the lockfile stay in sync for `npm ci`.
  const pkg = JSON.parse(readFileSync(join(opts.root, 'package.json'), 'utf8')) as Record<string, unknown>;
  delete pkg.scripts;
  delete pkg.bin;
  // npm 11's allowScripts policy: Cloud Build's npm (10, with Node 22) ignores it, so the staged
  // package does not carry it; the build environment is what skips onnxruntime's CUDA download.
  delete pkg.allowScripts;
  writeFileSync(join(opts.outDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  cpSync(join(opts.root, 'package-lock.json'), join(opts.outDir, 'package-lock.json'));
  if (opts.modelDir) cpSync(opts.modelDir, join(opts.outDir, 'model'), { recursive: true });
  return { dir: opts.outDir, modelBundled: Boolean(opts.modelDir) };
}
