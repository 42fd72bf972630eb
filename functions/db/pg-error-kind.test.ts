import { describe, expect, it } from 'vitest';
import { toDbError } from './pg-error-kind.js';

describe('toDbError', () => {
  it('calls a permission error a permission error, with what to do', () => {
    const err = toDbError(Object.assign(new Error('permission denied for schema aqe'), { code: '42501' }), 'migrate');
    expect(err.code).toBe('DB_PERMISSION');
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/^migrate: permission denied \(the database role lacks a privilege\) \(SQLSTATE 42501\): permission denied for schema aqe; what to do: grant the role/);
    expect(err.message).not.toMatch(/syntax error/);
  });

  it('names a missing table as schema drift', () => {
    const err = toDbError(Object.assign(new Error('relation "aqe.events" does not exist'), { code: '42P01' }));
    expect(err.code).toBe('DB_SCHEMA');
    expect(err.message).toMatch(/undefined table .*run `aqe-upload migrate`/);
  });
});
