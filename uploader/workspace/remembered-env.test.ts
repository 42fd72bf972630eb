import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../schema/errors.js';
import { loadConfig } from '../config.js';
import { decideRemember, readRememberedEnv, writeRememberedEnv } from './remembered-env.js';

describe('the remembered environment', () => {
  it('is recorded by the first push with --env, unless the config file names one', () => {
    expect(decideRemember({ env: 'laptop', envOrigin: 'flag' }, null, false)).toEqual({ action: 'record', env: 'laptop' });
    expect(decideRemember({ env: 'laptop', envOrigin: 'flag' }, null, true)).toEqual({ action: 'none' });
    expect(decideRemember({ env: 'laptop', envOrigin: 'env' }, null, false)).toEqual({ action: 'none' });
    expect(decideRemember({ env: 'ci', envOrigin: 'flag' }, { env: 'laptop', file: 'f' }, false)).toEqual({ action: 'differs', env: 'ci', remembered: 'laptop' });
    expect(decideRemember({ env: 'laptop', envOrigin: 'flag' }, { env: 'laptop', file: 'f' }, false)).toEqual({ action: 'none' });
  });

  it('comes after --env, AQE_ENV and the config file, before the default', () => {
    const remembered = { env: 'laptop', file: '/w/.aqe-sync/workspace.json' };
    const base = { workspace: '/w', configText: null, remembered };
    expect(loadConfig({ ...base, flags: {}, env: {} })).toMatchObject({ env: 'laptop', envOrigin: 'remembered' });
    expect(loadConfig({ ...base, flags: {}, env: { AQE_ENV: 'ci' } }).env).toBe('ci');
    expect(loadConfig({ ...base, flags: {}, env: {}, configText: '{"env": "devpod"}' }).env).toBe('devpod');
    expect(loadConfig({ ...base, flags: { env: 'x' }, env: {} }).env).toBe('x');
    expect(loadConfig({ ...base, flags: {}, env: {}, remembered: null })).toMatchObject({ env: 'local', envOrigin: 'default' });
  });

  it('round-trips through .aqe-sync/workspace.json; a bad record is reported with the file', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'aqe-remember-'));
    try {
      expect(await readRememberedEnv(ws)).toBeNull();
      const file = await writeRememberedEnv(ws, 'laptop');
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ env: 'laptop' });
      expect(await readRememberedEnv(ws)).toEqual({ env: 'laptop', file });
      await writeFile(file, '{"env": "Not Valid"}');
      let err: unknown;
      try {
        loadConfig({ flags: {}, env: {}, workspace: ws, configText: null, remembered: await readRememberedEnv(ws) });
      } catch (e) {
        err = e;
      }
      expect(isAppError(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain(`${file}: env (remembered from the first push with --env): "Not Valid" is not a valid environment name`);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });
});
