// One configuration per entry point: only the config modules read AQE_* variables or process.env
// (uploader/config.ts and uploader/config/, functions/config/). The entry that hands process.env
// to its config (uploader/cli.ts) is allowed `process.env`; functions/entry-points.ts is the list
// of names infra shares, read by functions/config/. Everything else receives values.
// (infra/ is its own entry point with its own deployment settings: test/infra/.)
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The configuration modules: they own the variables. */
const CONFIG_MODULES = [/^uploader\/config\.ts$/, /^uploader\/config\//, /^functions\/config\//];
/** Entry points that pass process.env into their configuration. */
const PASSES_PROCESS_ENV = ['uploader/cli.ts'];
/** The names of the functions' variables, shared with infra (read through functions/config/). */
const NAME_LISTS = ['functions/entry-points.ts'];

/** What counts as reading the environment. */
const READS: Array<{ what: string; pattern: RegExp }> = [
  { what: 'process.env', pattern: /\bprocess\.env\b/ },
  // env['AQE_X'], env[NAME], env.AQE_X, io.env['…']: a lookup in an env map
  { what: 'a lookup in an env map', pattern: /\benv\s*\[|\benv\.AQE_/ },
  // a variable's name as a whole string literal: the key of a lookup somewhere
  { what: "an AQE_* name as a string literal (a lookup key)", pattern: /(['"`])AQE_[A-Z0-9_]+\1/ },
];

/** Comments say which variable a value comes from; only code counts. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const FILES = ['schema', 'functions', 'uploader'].flatMap(sourceFiles);

describe('one configuration per entry point', () => {
  it('scans the shipped sources, config modules included', () => {
    expect(FILES.length).toBeGreaterThan(150);
    expect(FILES.filter((f) => CONFIG_MODULES.some((c) => c.test(f))).length).toBeGreaterThanOrEqual(4);
  });

  it('no shipped file but the config modules reads an AQE_* variable or process.env', () => {
    const found: string[] = [];
    for (const file of FILES) {
      if (CONFIG_MODULES.some((c) => c.test(file))) continue;
      const lines = code(readFileSync(join(ROOT, file), 'utf8')).split('\n');
      for (const { what, pattern } of READS) {
        if (what === 'process.env' && PASSES_PROCESS_ENV.includes(file)) continue;
        if (what.startsWith('an AQE_') && NAME_LISTS.includes(file)) continue;
        lines.forEach((line, i) => {
          if (pattern.test(line)) found.push(`${file}:${i + 1}: ${what}: ${line.trim().slice(0, 120)}`);
        });
      }
    }
    expect(found).toEqual([]);
  });

  it('the rule bites: each kind of read is caught in a line written to break it', () => {
    const samples = ["const dir = process.env.HOME;", "const t = io.env['AQE_LOCK_TIMEOUT'];", "const t = env[LOCK];", "export const VAR = 'AQE_SYNC_INTERVAL';"];
    expect(samples.map((s) => READS.some((r) => r.pattern.test(code(s))))).toEqual([true, true, true, true]);
    // naming a variable inside a message is not a read
    expect(READS.some((r) => r.pattern.test(code("throw new Error('set AQE_MODEL_DIR to a folder');")))).toBe(false);
  });
});
