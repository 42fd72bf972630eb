// Discovery: which files of a workspace are sources, of what kind (confirmed from their first
// bytes), and what is missing or wrong with the others. Reads file headers only; never opens
// anything that is not a regular file (a FIFO would block).

import type { Stats } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { WORKSPACE_CONFIG_FILE, WORKSPACE_STATE_DIR } from '../../schema/config/workspace-config.js';
import type { ErrorCode } from '../../schema/errors.js';
import { AppError } from '../../schema/errors.js';
import type { SourceFormat, SourceKind } from '../../schema/sources/catalogue.js';
import type { SourceSpec, UploaderConfig } from '../config.js';
import type { ContentKind } from './content-kind.js';
import { contentKindOf, describeContentKind, HEADER_BYTES } from './content-kind.js';
import { matchingExclude } from './glob.js';
import { sourceIdFor } from './source-identity.js';

export type DiscoveredState = 'present' | 'missing' | 'problem' | 'excluded' | 'disabled';

/** One file (or missing path) of a source, as found on disk. */
export interface DiscoveredFile {
  sourceId: string;
  spec: SourceSpec;
  /** Workspace-relative posix path. */
  path: string;
  absPath: string;
  kind: SourceKind;
  format: SourceFormat;
  state: DiscoveredState;
  size?: number;
  /** Last modification of the file (SQLite: the later of the file and its -wal). */
  modifiedAt?: Date;
  /** Why the file is missing, excluded or cannot be used: plain words, with what to do. */
  problem?: { code: ErrorCode; message: string };
}

/**
 * Fails with WORKSPACE_NOT_FOUND unless `root` is an existing directory.
 * @example await assertWorkspace('/home/me/project')
 */
export async function assertWorkspace(root: string): Promise<void> {
  const st = await stat(root).catch(() => null);
  if (st === null) {
    throw new AppError('WORKSPACE_NOT_FOUND', `workspace ${root} does not exist; give the folder that holds v3/, .agentic-qe/, .claude-flow/ …\nTry: aqe-upload sources --workspace /path/to/project`);
  }
  if (!st.isDirectory()) {
    throw new AppError('WORKSPACE_NOT_FOUND', `workspace ${root} is not a folder; give the folder that holds v3/, .agentic-qe/, .claude-flow/ …\nTry: aqe-upload sources --workspace /path/to/project`);
  }
}

/** The text of the workspace's config file, or null when it has none. */
export async function readConfigText(root: string): Promise<string | null> {
  const path = join(root, WORKSPACE_CONFIG_FILE);
  const st = await stat(path).catch(() => null);
  if (st === null) return null;
  if (!st.isFile()) throw new AppError('CONFIG_INVALID', `${path} is not a regular file; replace it with a JSON file or remove it\nTry: aqe-upload sources --workspace ${root}`);
  const fh = await open(path, 'r');
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Every path of every source of `config`, with its state. Order: sources as configured, then paths. */
export async function discoverSources(config: Pick<UploaderConfig, 'workspace' | 'sources' | 'exclude'>): Promise<DiscoveredFile[]> {
  const out: DiscoveredFile[] = [];
  const claimed = new Map<string, string>();
  // links are judged by where they really lead, against where the workspace really is
  const realRoot = await realpath(config.workspace).catch(() => config.workspace);
  for (const spec of config.sources) {
    for (const path of spec.paths) {
      for (const file of await discoverPath(config.workspace, realRoot, spec, path, config.exclude)) {
        // One file, one source: a path listed twice is captured under the first source naming it.
        const owner = claimed.get(file.path);
        if (owner !== undefined && file.state !== 'disabled') {
          out.push({ ...file, state: 'excluded', problem: { code: 'CONFIG_INVALID', message: `${file.path} is already captured as source "${owner}"` } });
          continue;
        }
        if (file.state !== 'disabled') claimed.set(file.path, file.sourceId);
        out.push(file);
      }
    }
  }
  return out;
}

async function discoverPath(root: string, realRoot: string, spec: SourceSpec, path: string, exclude: readonly string[]): Promise<DiscoveredFile[]> {
  const absPath = join(root, ...path.split('/'));
  const declaredKind: SourceKind = spec.kind === 'auto' ? 'json' : spec.kind;
  // each path of a source with several paths is its own identity (source-identity.ts)
  const base: DiscoveredFile = { sourceId: sourceIdFor(spec.id, spec.paths, path), spec, path, absPath, kind: declaredKind, format: spec.format ?? 'json', state: 'present' };
  if (!spec.enabled) return [{ ...base, state: 'disabled' }];
  if (path.split('/')[0] === WORKSPACE_STATE_DIR) {
    return [{ ...base, state: 'excluded', problem: { code: 'CONFIG_INVALID', message: `${path} is inside the uploader's own ${WORKSPACE_STATE_DIR}/ folder, never a source` } }];
  }
  const excludedBy = matchingExclude(path, exclude);
  if (excludedBy !== null) return [{ ...base, state: 'excluded', problem: { code: 'CONFIG_INVALID', message: `excluded by "${excludedBy}" in ${WORKSPACE_CONFIG_FILE}` } }];

  let st: Stats;
  try {
    st = await stat(absPath);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [{ ...base, state: 'missing', problem: { code: 'SOURCE_UNREADABLE', message: `${path} not found` } }];
    return [{ ...base, state: 'problem', problem: unreadable(path, err) }];
  }
  const real = await resolveInside(base, realRoot);
  if (real.outside) return [{ ...base, state: 'problem', problem: real.outside }];
  base.absPath = real.path;

  if (st.isDirectory()) {
    const wantsDir = spec.kind === 'json-dir' || spec.kind === 'auto' || (spec.kind === 'json' && spec.format === 'json');
    if (!wantsDir) return [{ ...base, state: 'problem', problem: wrongKind(spec, path, 'a folder') }];
    return discoverJsonDir(root, realRoot, { ...base, kind: 'json-dir' }, exclude);
  }
  if (!st.isFile()) return [{ ...base, state: 'problem', problem: notRegular(spec, path, st) }];

  let header: Buffer;
  try {
    header = await readHeader(absPath);
  } catch (err) {
    return [{ ...base, state: 'problem', problem: unreadable(path, err) }];
  }
  const content = contentKindOf(header);
  const resolved = resolveKind(spec, content);
  const found: DiscoveredFile = { ...base, kind: resolved?.kind ?? base.kind, format: resolved?.format ?? base.format, size: st.size, modifiedAt: st.mtime };
  if (resolved === null) return [{ ...found, state: 'problem', problem: wrongKind(spec, path, describeContentKind(content)) }];
  if (found.kind === 'sqlite') {
    const wal = await stat(`${absPath}-wal`).catch(() => null);
    if (wal?.isFile() && wal.mtime > st.mtime) found.modifiedAt = wal.mtime;
  }
  const files = [found];
  if (found.kind === 'redb') {
    for (const suffix of spec.sidecars) files.push(...(await discoverSidecar(base, realRoot, `${path}${suffix}`, exclude)));
  }
  return files;
}

/** The kind/format of a file whose content is `content`, or null when it is not what the spec expects. */
function resolveKind(spec: SourceSpec, content: ContentKind): { kind: SourceKind; format: SourceFormat } | null {
  if (spec.kind === 'auto') {
    if (content === 'sqlite') return { kind: 'sqlite', format: 'sqlite' };
    if (content === 'redb') return { kind: 'redb', format: 'ruvector-redb' };
    if (content === 'json') return { kind: 'json', format: 'json' };
    return null;
  }
  if (spec.kind === 'json-dir') return null;
  const expected: ContentKind = spec.kind === 'sqlite' ? 'sqlite' : spec.kind === 'redb' ? 'redb' : 'json';
  if (content !== expected) return null;
  return { kind: spec.kind, format: spec.format ?? 'json' };
}

async function discoverJsonDir(root: string, realRoot: string, dir: DiscoveredFile, exclude: readonly string[]): Promise<DiscoveredFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir.absPath, { withFileTypes: true })).filter((e) => e.name.endsWith('.json') && !e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    return [{ ...dir, state: 'problem', problem: unreadable(dir.path, err) }];
  }
  if (names.length === 0) return [{ ...dir, state: 'missing', problem: { code: 'SOURCE_UNREADABLE', message: `${dir.path}/ has no *.json files` } }];
  const out: DiscoveredFile[] = [];
  for (const name of names) {
    const path = `${dir.path}/${name}`;
    const file: DiscoveredFile = { ...dir, path, absPath: join(root, ...path.split('/')), kind: 'json-dir' };
    if (path === WORKSPACE_CONFIG_FILE) continue;
    const excludedBy = matchingExclude(path, exclude);
    if (excludedBy !== null) {
      out.push({ ...file, state: 'excluded', problem: { code: 'CONFIG_INVALID', message: `excluded by "${excludedBy}" in ${WORKSPACE_CONFIG_FILE}` } });
      continue;
    }
    let st: Stats;
    try {
      st = await stat(file.absPath);
    } catch (err) {
      out.push({ ...file, state: 'problem', problem: unreadable(path, err) });
      continue;
    }
    const real = await resolveInside(file, realRoot);
    if (real.outside) out.push({ ...file, state: 'problem', problem: real.outside });
    else if (st.isFile()) out.push({ ...file, absPath: real.path, size: st.size, modifiedAt: st.mtime });
    else out.push({ ...file, state: 'problem', problem: notRegular(dir.spec, path, st) });
  }
  return out;
}

async function discoverSidecar(main: DiscoveredFile, realRoot: string, path: string, exclude: readonly string[]): Promise<DiscoveredFile[]> {
  if (matchingExclude(path, exclude) !== null) return [];
  const absPath = join(main.absPath, '..', path.split('/').pop()!);
  const st = await stat(absPath).catch(() => null);
  if (st === null) return []; // sidecars are optional
  const file: DiscoveredFile = { ...main, path, absPath, kind: 'json', format: 'ruvector-redb-meta', state: 'present', size: st.size, modifiedAt: st.mtime };
  const real = await resolveInside(file, realRoot);
  if (real.outside) return [{ ...file, state: 'problem', problem: real.outside }];
  if (!st.isFile()) return [{ ...file, state: 'problem', problem: notRegular(main.spec, path, st) }];
  return [{ ...file, absPath: real.path }];
}

/**
 * Where `file` really is (links of the file and of every folder on its path resolved), or why it
 * is refused: it resolves outside the workspace and its source did not opt in. The target is never
 * named (an absolute path outside the workspace is not for the manifest).
 */
async function resolveInside(file: DiscoveredFile, realRoot: string): Promise<{ path: string; outside?: undefined } | { path?: undefined; outside: { code: ErrorCode; message: string } }> {
  let real: string;
  try {
    real = await realpath(file.absPath);
  } catch {
    return { path: file.absPath };
  }
  if (file.spec.followLinksOutside || real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : `${realRoot}${sep}`)) return { path: real };
  const key = file.spec.origin === 'catalogue' ? `"sources.${file.spec.id}.followLinksOutside": true` : `"followLinksOutside": true in the "extraSources" entry "${file.spec.id}"`;
  return {
    outside: {
      code: 'SOURCE_OUTSIDE_WORKSPACE',
      message: `${file.path}: is a link (or lies under a linked folder) that leads outside the workspace, so it is not captured: a link must not ship files from elsewhere into the shared database. Move the data into the workspace, or, if this link is intended, set ${key} in ${WORKSPACE_CONFIG_FILE}`,
    },
  };
}

async function readHeader(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function expectedWords(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'sqlite':
      return 'a SQLite database (a file starting with "SQLite format 3")';
    case 'redb':
      return 'a redb file written by @ruvector/core';
    case 'json-dir':
      return 'a folder of *.json files';
    case 'json':
      return 'a JSON file';
    default:
      return 'a SQLite database, a redb file, a JSON file or a folder of *.json files';
  }
}

function fixWords(spec: SourceSpec): string {
  return spec.origin === 'catalogue'
    ? `point "sources.${spec.id}.paths" in ${WORKSPACE_CONFIG_FILE} at the right file, or set "sources.${spec.id}.enabled": false`
    : `fix the "extraSources" entry "${spec.id}" in ${WORKSPACE_CONFIG_FILE}`;
}

function wrongKind(spec: SourceSpec, path: string, found: string): { code: ErrorCode; message: string } {
  return { code: 'SOURCE_WRONG_KIND', message: `${path}: expected ${expectedWords(spec)}, found ${found}; ${fixWords(spec)}` };
}

function notRegular(spec: SourceSpec, path: string, st: Stats): { code: ErrorCode; message: string } {
  const what = st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : st.isBlockDevice() || st.isCharacterDevice() ? 'a device' : st.isDirectory() ? 'a folder' : 'not a regular file';
  return { code: 'SOURCE_UNREADABLE', message: `${path}: expected ${expectedWords(spec)}, found ${what}, which cannot be read as a source; ${fixWords(spec)}` };
}

function unreadable(path: string, err: unknown): { code: ErrorCode; message: string } {
  const code = codeOf(err);
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied; make it readable by this user' : `${err instanceof Error ? err.message : String(err)}`;
  return { code: 'SOURCE_UNREADABLE', message: `${path}: cannot be read (${why})` };
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
