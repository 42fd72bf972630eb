import { describe, expect, it } from 'vitest';
import { errorMessage } from './errors.js';

describe('errorMessage', () => {
  it('describes a thrown plain object by its message and code, never as [object Object]', () => {
    expect(errorMessage({ message: 'database is locked', code: 'EBUSY' })).toBe('database is locked (code EBUSY)');
    expect(errorMessage({ status: 1, name: 'ExitStatus' })).toBe('{"status":1,"name":"ExitStatus"}');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(errorMessage(circular)).toBe('a plain object with no message');
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('text')).toBe('text');
  });
});
