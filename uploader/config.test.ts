import { describe, expect, it } from 'vitest';
import { isAppError } from '../schema/errors.js';
import { loadConfig, resolveWorkspace } from './config.js';

const ws = '/home/me/project';
const file = (doc: unknown) => JSON.stringify(doc);

describe('loadConfig precedence', () => {
  it('takes flags over environment variables over the config file over defaults', () => {
    const text = file({ env: 'from-file', bucket: 'gs://file-bucket' });
    expect(loadConfig({ flags: { env: 'from-flag' }, env: { AQE_ENV: 'from-env' }, workspace: ws, configText: text }).env).toBe('from-flag');
    expect(loadConfig({ flags: {}, env: { AQE_ENV: 'from-env' }, workspace: ws, configText: text }).env).toBe('from-env');
    expect(loadConfig({ flags: {}, env: {}, workspace: ws, configText: text })).toMatchObject({ env: 'from-file', bucket: 'gs://file-bucket', bucketOrigin: 'config', localBucket: false });
    expect(loadConfig({ flags: {}, env: {}, workspace: ws, configText: null })).toMatchObject({
      env: 'local',
      bucket: 'file:///home/me/project/.aqe-sync/bucket',
      bucketOrigin: 'default',
      localBucket: true,
      database: { url: 'pglite:///home/me/project/.aqe-sync/db', origin: 'default' },
    });
    expect(loadConfig({ flags: {}, env: { AQE_DATABASE_URL: 'postgres://x' }, workspace: ws, configText: null }).database).toEqual({ url: 'postgres://x', origin: 'env' });
    expect(loadConfig({ flags: { database: 'pglite://memory' }, env: { AQE_DATABASE_URL: 'postgres://x' }, workspace: ws, configText: null }).database).toEqual({ url: 'pglite://memory', origin: 'flag' });
  });

  it('resolves the workspace from the flag, then AQE_WORKSPACE, then the current folder', () => {
    expect(resolveWorkspace({ workspace: 'a' }, { AQE_WORKSPACE: '/b' }, '/cwd')).toBe('/cwd/a');
    expect(resolveWorkspace({}, { AQE_WORKSPACE: '/b' }, '/cwd')).toBe('/b');
    expect(resolveWorkspace({}, {}, '/cwd')).toBe('/cwd');
  });

  it('reports every problem at once, naming each setting', () => {
    let caught: unknown;
    try {
      loadConfig({ flags: { env: 'Bad Env' }, env: { AQE_BUCKET: 'ftp://x' }, workspace: ws, configText: file({ sources: { 'v3-memory': { enabled: 'yes' } } }) });
    } catch (err) {
      caught = err;
    }
    expect(isAppError(caught, 'CONFIG_INVALID')).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain('--env: "Bad Env" is not a valid environment name');
    expect(message).toContain('AQE_BUCKET: bucket URL "ftp://x"');
    expect(message).toContain('aqe-sync.config.json: sources.v3-memory.enabled: expected true or false');
    expect(message.split('\n').pop()).toMatch(/^Try: aqe-upload /);
  });

  it('reads AQE_STORAGE_RETRIES as a whole number from 0 to 20, and names it when it is not', () => {
    expect(loadConfig({ flags: {}, env: {}, workspace: ws, configText: null }).storageRetries).toBeUndefined();
    expect(loadConfig({ flags: {}, env: { AQE_STORAGE_RETRIES: '0' }, workspace: ws, configText: null }).storageRetries).toBe(0);
    expect(loadConfig({ flags: {}, env: { AQE_STORAGE_RETRIES: ' 3 ' }, workspace: ws, configText: null }).storageRetries).toBe(3);
    for (const bad of ['lots', '-1', '1.5', '21', '1e3']) {
      let caught: unknown;
      try {
        loadConfig({ flags: {}, env: { AQE_STORAGE_RETRIES: bad }, workspace: ws, configText: null });
      } catch (err) {
        caught = err;
      }
      expect(isAppError(caught, 'CONFIG_INVALID'), bad).toBe(true);
      expect((caught as Error).message).toContain(`AQE_STORAGE_RETRIES: "${bad}" is not a retry count; expected a whole number from 0 to 20`);
    }
  });

  it('a bad bucket alone is a BUCKET_URL_INVALID error', () => {
    expect(() => loadConfig({ flags: { bucket: 'file://relative' }, env: {}, workspace: ws, configText: null })).toThrow(/three slashes/);
  });

  it('applies source overrides and adds extra sources', () => {
    const cfg = loadConfig({
      flags: {},
      env: {},
      workspace: ws,
      configText: file({ sources: { 'v3-memory': { paths: ['data/v3.db'], role: 'STALE' } }, extraSources: [{ id: 'notes', path: 'notes', format: 'json' }], exclude: ['*.tmp'] }),
    });
    expect(cfg.sources.find((s) => s.id === 'v3-memory')).toMatchObject({ paths: ['data/v3.db'], role: 'STALE', kind: 'sqlite' });
    expect(cfg.sources.find((s) => s.id === 'notes')).toMatchObject({ kind: 'json', format: 'json', role: 'ACTIVE', origin: 'config' });
    expect(cfg.exclude).toEqual(['*.tmp']);
  });

  it('refuses the uploader’s own folder as a source path', () => {
    expect(() => loadConfig({ flags: {}, env: {}, workspace: ws, configText: file({ extraSources: [{ id: 'x', path: '.aqe-sync/bucket/a.json' }] }) })).toThrow(/uploader's own folder/);
  });
});
