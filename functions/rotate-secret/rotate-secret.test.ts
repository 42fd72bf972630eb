import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Redacted } from '../secrets/redacted.js';
import type { SecretVersionInfo } from '../secrets/secret-source.js';
import { expiredVersions, generatePassword } from './rotate-secret.js';
import { parseRotationEvent, sameSecret } from './rotation-event.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';

const SECRET = 'projects/my-proj/secrets/db-password';
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');

describe('parseRotationEvent', () => {
  it('rotates on SECRET_ROTATE for the configured secret (project number or id)', () => {
    const r = parseRotationEvent({ message: { attributes: { eventType: 'SECRET_ROTATE', secretId: 'projects/123456/secrets/db-password' }, data: b64({ name: 'x' }), messageId: 'm1' } }, SECRET);
    expect(r).toEqual({ action: 'rotate', secret: SECRET, messageId: 'm1', eventType: 'SECRET_ROTATE' });
  });
  it('picks which of the rotated roles\' secrets a message is about', () => {
    const READER = 'projects/my-proj/secrets/db-reader-password';
    const r = parseRotationEvent({ message: { attributes: { eventType: 'SECRET_ROTATE', secretId: 'projects/123456/secrets/db-reader-password' }, messageId: 'm3' } }, [SECRET, READER]);
    expect(r).toEqual({ action: 'rotate', secret: READER, messageId: 'm3', eventType: 'SECRET_ROTATE' });
    expect(parseRotationEvent({ message: { attributes: { eventType: 'SECRET_ROTATE', secretId: 'projects/1/secrets/db-password-x' } } }, [SECRET, READER]).action).toBe('ignore');
  });
  it('reads the secret from the payload when the attribute is missing', () => {
    const r = parseRotationEvent({ message: { attributes: { eventType: 'SECRET_ROTATE' }, data: b64({ name: SECRET }), messageId: 'm2' } }, SECRET);
    expect(r.action).toBe('rotate');
  });
  it('only expires versions on other events of the secret, ignores other secrets and junk', () => {
    expect(parseRotationEvent({ message: { attributes: { eventType: 'SECRET_VERSION_ADD', secretId: SECRET } } }, SECRET).action).toBe('expire');
    expect(parseRotationEvent({ message: { attributes: { eventType: 'SECRET_ROTATE', secretId: 'projects/my-proj/secrets/other' } } }, SECRET).action).toBe('ignore');
    expect(parseRotationEvent({ message: { attributes: { eventType: 'SECRET_ROTATE', secretId: 'projects/other-proj/secrets/db-password' } } }, SECRET).action).toBe('ignore');
    expect(parseRotationEvent(undefined, SECRET).action).toBe('ignore');
    expect(parseRotationEvent({ message: { data: 'not base64 json' } }, SECRET).action).toBe('ignore');
  });
  it('compares secret names', () => {
    expect(sameSecret('projects/1/secrets/a', 'projects/p/secrets/a')).toBe(true);
    expect(sameSecret('projects/q/secrets/a', 'projects/p/secrets/a')).toBe(false);
  });
});

describe('expiredVersions', () => {
  const NOW = new Date('2026-03-01T00:00:00Z');
  const v = (n: number, hoursAgo: number, state: SecretVersionInfo['state'] = 'ENABLED'): SecretVersionInfo => ({
    name: `${SECRET}/versions/${n}`,
    state,
    createTime: new Date(NOW.getTime() - hoursAgo * 3600_000),
  });
  it('keeps a superseded version enabled for the grace period after its successor was created', () => {
    const versions = [v(3, 1), v(2, 30), v(1, 24 * 60)];
    expect(expiredVersions(versions, NOW, 24 * 3600_000).map((x) => x.name)).toEqual([`${SECRET}/versions/1`]);
    expect(expiredVersions(versions, NOW, 0).map((x) => x.name)).toEqual([`${SECRET}/versions/1`, `${SECRET}/versions/2`]);
  });
  it('never returns the latest enabled version, nor disabled ones', () => {
    const versions = [v(3, 1000, 'DISABLED'), v(2, 2000), v(1, 3000, 'DISABLED')];
    expect(expiredVersions(versions, NOW, 0)).toEqual([]);
  });
});

describe('scramSha256Verifier', () => {
  it('computes PostgreSQL’s SCRAM-SHA-256 verifier without containing the password', () => {
    const pw = generatePassword();
    expect(pw.reveal()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const salt = Buffer.alloc(16, 7);
    const v = scramSha256Verifier(pw, salt, 4096);
    const salted = pbkdf2Sync(pw.reveal(), salt, 4096, 32, 'sha256');
    const stored = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64');
    const server = createHmac('sha256', salted).update('Server Key').digest('base64');
    expect(v).toBe(`SCRAM-SHA-256$4096:${salt.toString('base64')}$${stored}:${server}`);
    expect(v).not.toContain(pw.reveal());
    expect(String(pw)).toBe('[redacted]');
    expect(() => scramSha256Verifier(new Redacted('naïve'))).toThrow(/printable ASCII/);
  });
});
