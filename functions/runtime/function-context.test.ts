// The function runtime's lazily opened clients: a missing bucket setting is a CONFIG_INVALID
// error naming the variable and what to set, not a bare Error.
import { describe, expect, it } from 'vitest';
import { CONFIG_ENV } from '../entry-points.js';
import { createFunctionContext } from './function-context.js';

describe('the function runtime', () => {
  it('names the missing bucket variable and what to set when the store is asked for', () => {
    const runtime = createFunctionContext({ env: { [CONFIG_ENV.databaseUrl]: 'postgres://u@127.0.0.1:1/db' } });
    expect(() => runtime.store()).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(new RegExp(`^${CONFIG_ENV.bucket} is not set: .*set it`)) }));
  });

  it('opens the store once a bucket is set', () => {
    const runtime = createFunctionContext({ env: { [CONFIG_ENV.databaseUrl]: 'postgres://u@127.0.0.1:1/db', [CONFIG_ENV.bucket]: 'aqe-snapshots-test' } });
    expect(runtime.store()).toBe(runtime.store());
  });
});
