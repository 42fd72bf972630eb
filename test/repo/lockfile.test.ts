// The lockfile answers every dependency edge npm ci will ask about. npm install against a registry
// (or mirror) that lacks a platform build of an optional dependency silently leaves the entry out;
// npm ci then refuses the whole lock as "out of sync" before installing anything. This check runs
// the same resolution npm does (walk up node_modules folders) so the gap fails here, not in CI.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type LockEntry = {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
};

function unresolvedEdges(packages: Record<string, LockEntry>): string[] {
  const missing: string[] = [];
  const resolves = (from: string, name: string): boolean => {
    let base = from;
    for (;;) {
      if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
      if (base === '') return false;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut < 0 ? '' : base.slice(0, cut);
    }
  };
  for (const [location, entry] of Object.entries(packages)) {
    const edges = {
      ...entry.dependencies,
      ...entry.optionalDependencies,
      ...(location === '' ? entry.devDependencies : {}),
    };
    for (const name of Object.keys(edges)) {
      if (!resolves(location, name)) missing.push(`${location || '(root)'} -> ${name}`);
    }
  }
  return missing;
}

describe('package-lock.json', () => {
  const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };

  it('resolves every dependency and optional (platform) dependency, as npm ci requires', () => {
    expect(unresolvedEdges(lock.packages)).toEqual([]);
  });

  it('finds an optional platform package left out of a lock', () => {
    const broken = {
      '': { dependencies: { tool: '1.0.0' } },
      'node_modules/tool': { version: '1.0.0', optionalDependencies: { 'tool-darwin-arm64': '1.0.0' } },
    };
    expect(unresolvedEdges(broken)).toEqual(['node_modules/tool -> tool-darwin-arm64']);
  });

  it('agrees with the root package.json', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as LockEntry;
    const root = lock.packages[''] ?? {};
    expect(root.dependencies ?? {}).toEqual(manifest.dependencies ?? {});
    expect(root.devDependencies ?? {}).toEqual(manifest.devDependencies ?? {});
  });
});
