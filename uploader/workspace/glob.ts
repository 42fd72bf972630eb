// Glob patterns of the config's `exclude` list, matched against workspace-relative posix paths.
// Pure: `*` matches within one path segment, `**` any number of segments, `?` one character.

/**
 * Compiles a glob to a RegExp anchored at both ends. A pattern without `/` matches a base name
 * anywhere (like .gitignore): `*.tmp.json` excludes `.claude-flow/metrics/a.tmp.json`.
 * @example globToRegExp('.claude-flow/metrics/**').test('.claude-flow/metrics/x.json') // true
 */
export function globToRegExp(pattern: string): RegExp {
  const anchored = pattern.includes('/');
  const body = pattern.replace(/^\/+/, '').replace(/\/+$/, '/**');
  let re = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '*') {
      if (body[i + 1] === '*') {
        const slashAfter = body[i + 2] === '/';
        re += slashAfter ? '(?:.*/)?' : '.*';
        i += slashAfter ? 2 : 1;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(anchored ? `^${re}$` : `^(?:.*/)?${re}$`);
}

/** The first pattern that matches `path` (or a folder above it), or null. */
export function matchingExclude(path: string, patterns: readonly string[]): string | null {
  for (const pattern of patterns) {
    const re = globToRegExp(pattern);
    if (re.test(path)) return pattern;
    // A pattern naming a folder excludes everything below it.
    const segments = path.split('/');
    for (let n = 1; n < segments.length; n++) {
      if (re.test(segments.slice(0, n).join('/'))) return pattern;
    }
  }
  return null;
}
