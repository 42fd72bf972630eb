// Client-side SCRAM-SHA-256 password verifiers (RFC 5802 / 7677, PostgreSQL's stored format), so
// `ALTER ROLE … PASSWORD` sends a verifier and the plaintext never reaches the server's logs.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Redacted } from './redacted.js';

/** PostgreSQL's default iteration count (scram_iterations). */
export const SCRAM_ITERATIONS = 4096;

/**
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` for `password`. The password must be
 * ASCII without control characters (SASLprep is then the identity), which generatePassword guarantees.
 *
 * @example await client.query(`ALTER ROLE "aqe_sync" PASSWORD '${scramSha256Verifier(pw)}'`)
 */
export function scramSha256Verifier(password: Redacted<string>, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const plain = password.reveal();
  if (!/^[\x21-\x7e]+$/.test(plain)) throw new TypeError('scramSha256Verifier: the password must be printable ASCII (SASLprep is not implemented)');
  const salted = pbkdf2Sync(plain, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
