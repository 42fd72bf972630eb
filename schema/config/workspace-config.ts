// The workspace config file `aqe-sync.config.json`: which sources to capture, extra sources, paths
// to exclude, and defaults for the environment and bucket. Pure: a zod schema and a parser that
// returns every issue at once, each naming its JSON path and saying how to fix it.

import { z } from 'zod';
import { describeJsonSyntaxError } from '../json-syntax.js';
import { CATALOGUE, ENV_NAME_PATTERN, SOURCE_FORMATS, SOURCE_ID_PATTERN, SOURCE_ROLES } from '../sources/catalogue.js';
import type { SourceFormat, SourceRole } from '../sources/catalogue.js';

/** File name of the workspace config, at the workspace root. */
export const WORKSPACE_CONFIG_FILE = 'aqe-sync.config.json';

/** The workspace's own folder (local bucket, state): never a source. */
export const WORKSPACE_STATE_DIR = '.aqe-sync';

const roleSchema = z.enum(SOURCE_ROLES as [SourceRole, ...SourceRole[]], {
  error: `expected one of ${SOURCE_ROLES.join(', ')}`,
});
const formatSchema = z.enum(SOURCE_FORMATS as [SourceFormat, ...SourceFormat[]], {
  error: `expected one of ${SOURCE_FORMATS.join(', ')}`,
});

/** A path inside the workspace: relative, posix separators, no `..`, not under `.aqe-sync/`. */
const workspacePath = z
  .string({ error: 'expected a path relative to the workspace, e.g. "v3/.agentic-qe/memory.db"' })
  .min(1, 'expected a non-empty path relative to the workspace')
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(p), 'expected a path relative to the workspace, got an absolute path; write it relative to the workspace root')
  .refine((p) => !p.includes('\\'), 'use "/" as the separator')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.' || s === ''), 'remove "..", "." and empty segments: sources live inside the workspace')
  .refine((p) => p.split('/')[0] !== WORKSPACE_STATE_DIR, `"${WORKSPACE_STATE_DIR}/" is the uploader's own folder and never a source; choose another path`)
  .refine((p) => !/[\u0000-\u001f]/.test(p), 'remove control characters');

const sourceOverride = z.strictObject({
  /** false: the source is not captured (listed as disabled by `sources`). */
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
  /** Replaces the catalogue's default paths (every existing one is captured). */
  paths: z.array(workspacePath, { error: 'expected an array of paths relative to the workspace' }).min(1, 'give at least one path, or set "enabled": false').optional(),
  role: roleSchema.optional(),
  /**
   * true: follow links (of the file, or of a folder on its path) that resolve outside the
   * workspace. By default such a source is refused: a link must not ship a file from elsewhere.
   */
  followLinksOutside: z.boolean({ error: 'expected true or false' }).optional(),
});

const extraSource = z.strictObject({
  id: z.string({ error: 'expected a source id' }).regex(SOURCE_ID_PATTERN, 'expected lowercase letters, digits and "-" (at most 63), e.g. "team-notes"'),
  path: workspacePath,
  /** When absent, decided from the content (SQLite → sqlite, redb → ruvector-redb, otherwise json). */
  format: formatSchema.optional(),
  role: roleSchema.optional(),
  /** As `sources.<id>.followLinksOutside`. */
  followLinksOutside: z.boolean({ error: 'expected true or false' }).optional(),
});

const KNOWN_IDS = new Set(CATALOGUE.map((e) => e.id));

/** Schema of `aqe-sync.config.json`. Unknown keys are errors (a typo must not be ignored). */
export const workspaceConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    env: z.string({ error: 'expected a string' }).regex(ENV_NAME_PATTERN, 'expected lowercase letters, digits, "-" or "_" (at most 63), e.g. "laptop"').optional(),
    bucket: z.string({ error: 'expected a bucket URL' }).min(1, 'expected gs://bucket[/prefix] or file:///absolute/dir').optional(),
    /** A label for this machine recorded in manifests (none by default: no host name leaves the machine unasked). */
    host: z.string({ error: 'expected a label' }).regex(/^[A-Za-z0-9_.-]{1,63}$/, 'expected letters, digits, ".", "_" or "-" (at most 63), e.g. "alice-laptop"').optional(),
    sources: z.record(z.string(), sourceOverride, { error: 'expected an object keyed by source id' }).optional(),
    extraSources: z.array(extraSource, { error: 'expected an array of { id, path, format?, role? }' }).optional(),
    /** Glob patterns (`*`, `**`, `?`) of workspace paths never captured. */
    exclude: z.array(z.string().min(1, 'expected a non-empty glob pattern'), { error: 'expected an array of glob patterns' }).optional(),
  });

export type WorkspaceConfig = z.infer<typeof workspaceConfigSchema>;
export type SourceOverride = z.infer<typeof sourceOverride>;
export type ExtraSource = z.infer<typeof extraSource>;

export type ParseWorkspaceConfigResult = { ok: true; config: WorkspaceConfig } | { ok: false; issues: string[] };

/**
 * Parses the text of `aqe-sync.config.json`. Every issue comes back at once, each starting with
 * its JSON path: `sources.v3-memory.role: expected one of PRIMARY, ACTIVE, …`.
 * @example parseWorkspaceConfig('{"env":"laptop"}') // { ok: true, config: { env: 'laptop' } }
 */
export function parseWorkspaceConfig(text: string): ParseWorkspaceConfigResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [`(file): not valid JSON (${describeJsonSyntaxError(err)}); fix the syntax or delete the file to use the defaults`] };
  }
  const parsed = workspaceConfigSchema.safeParse(json);
  // Cross-field rules run on the raw document too, so they are reported with the schema's issues.
  const issues = [...(parsed.success ? [] : parsed.error.issues.map((i) => `${formatJsonPath(i.path)}: ${issueMessage(i)}`)), ...crossFieldIssues(json)];
  if (parsed.success && issues.length === 0) return { ok: true, config: parsed.data };
  return { ok: false, issues };
}

/** Rules across fields: source ids known to the catalogue, extra source ids unique and new. */
function crossFieldIssues(json: unknown): string[] {
  const issues: string[] = [];
  if (typeof json !== 'object' || json === null) return issues;
  const doc = json as Record<string, unknown>;
  const sources = doc['sources'];
  if (typeof sources === 'object' && sources !== null && !Array.isArray(sources)) {
    for (const id of Object.keys(sources)) {
      if (!KNOWN_IDS.has(id)) {
        issues.push(`${formatJsonPath(['sources', id])}: unknown source id "${id}"; known ids: ${[...KNOWN_IDS].join(', ')}. Add new sources under "extraSources"`);
      }
    }
  }
  const extras = doc['extraSources'];
  if (Array.isArray(extras)) {
    const seen = new Set<string>();
    extras.forEach((e: unknown, i) => {
      const id = typeof e === 'object' && e !== null ? (e as Record<string, unknown>)['id'] : undefined;
      if (typeof id !== 'string') return;
      if (KNOWN_IDS.has(id)) issues.push(`${formatJsonPath(['extraSources', i, 'id'])}: "${id}" is a catalogue source; change its paths under "sources.${id}.paths" instead`);
      else if (seen.has(id)) issues.push(`${formatJsonPath(['extraSources', i, 'id'])}: duplicate id "${id}"; give each extra source its own id`);
      seen.add(id);
    });
  }
  return issues;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling`;
  return issue.message;
}

function formatJsonPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
