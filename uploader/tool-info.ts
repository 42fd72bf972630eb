// The tool's name and version (from the package.json above this file, in source and in dist/) and
// nothing about the machine (a host label goes into manifests only when configured: AQE_HOST).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOOL_NAME = 'aqe-upload';

let cachedVersion: string | undefined;

/** The package version, found by walking up from this module to the project's package.json. */
export function toolVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'aqe-cloud-sync' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        return pkg.version;
      }
    } catch {
      // no package.json here: keep walking up
    }
    dir = dirname(dir);
  }
  cachedVersion = '0.0.0';
  return cachedVersion;
}

