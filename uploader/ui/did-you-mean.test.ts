import { describe, expect, it } from 'vitest';
import { editDistance, suggestCommand } from './did-you-mean.js';

const NAMES = ['push', 'watch', 'sources', 'demo', 'load', 'search', 'similar', 'duplicates', 'embed', 'migrate', 'reconcile', 'status', 'verify', 'rollback', 'patterns', 'pull', 'snapshots', 'rebuild', 'doctor', 'completion'];

describe('suggestCommand', () => {
  it('suggests the command a typo was meant to be', () => {
    expect(suggestCommand('pussh', NAMES)).toBe('push');
    expect(suggestCommand('stauts', NAMES)).toBe('status');
    expect(suggestCommand('serach', NAMES)).toBe('search');
    expect(suggestCommand('reconcle', NAMES)).toBe('reconcile');
    expect(suggestCommand('snapshot', NAMES)).toBe('snapshots');
    expect(suggestCommand('complet', NAMES)).toBe('completion');
  });

  it('suggests nothing for a word that is not close to any command', () => {
    expect(suggestCommand('frobnicate', NAMES)).toBeNull();
    expect(suggestCommand('x', NAMES)).toBeNull();
  });

  it('counts an adjacent swap as one edit', () => {
    expect(editDistance('pusj', 'push')).toBe(1);
    expect(editDistance('psuh', 'push')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('resolveCommandWord', () => {
  it('takes options first as the default command, and names an unknown word', async () => {
    const { resolveCommandWord } = await import('../run-cli.js');
    expect(resolveCommandWord([], NAMES)).toEqual({ kind: 'default' });
    expect(resolveCommandWord(['--workspace', 'x'], NAMES)).toEqual({ kind: 'default' });
    expect(resolveCommandWord(['--help'], NAMES)).toEqual({ kind: 'top' });
    expect(resolveCommandWord(['status', '--json'], NAMES)).toEqual({ kind: 'command' });
    expect(resolveCommandWord(['pussh'], NAMES)).toEqual({ kind: 'unknown', word: 'pussh', suggestion: 'push' });
  });
});
