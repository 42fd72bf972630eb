// Fuzz targets for what must never leak or freeze: redaction of connection URLs (passwords typed
// raw, with `@`, `:`, `/`, `#`, `%` … anywhere), shared by targets.ts (FUZZ_TARGETS: the vitest
// run and the 10,000-case bench).
import fc from 'fast-check';
import { redactSecrets } from '../../schema/redact.js';
import { FuzzFailure } from './checks.js';

export interface RedactionInput {
  scheme: string;
  user: string;
  password: string;
  host: string;
  port: number | null;
  path: string;
  query: string;
  before: string;
  after: string;
  /** Percent-encode the password (as a careful user would), or type it raw. */
  encoded: boolean;
}

/** Printable characters a password may hold raw in a URL token (anything but whitespace). */
const passwordChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'@:/#?%&=+!$*()[]{}\'",;~`^|\\<>.'.split('')) },
  { weight: 10, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.split('')) },
  { weight: 1, arbitrary: fc.constantFrom('é', 'ß', '密', '🔑') },
);
const word = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')), minLength: min, maxLength: max });
/** Text around the URL: whitespace next to it, anything (no secrets) farther away. */
const surrounding = fc.array(fc.constantFrom('connect', 'to', 'failed:', 'error', '(', ')', '"', "'", 'at', 'db', '→', 'ECONNREFUSED'), { maxLength: 6 }).map((w) => w.join(' '));

export const redactionInput: fc.Arbitrary<RedactionInput> = fc.record({
  scheme: fc.constantFrom('postgres', 'postgresql', 'pglite', 'redis', 'https', 'mysql+tcp'),
  user: fc.oneof(word(1, 12), fc.constant('postgres'), word(1, 6).map((w) => `${w}@corp`)),
  password: fc.string({ unit: passwordChar, minLength: 1, maxLength: 24 }),
  host: fc.oneof(word(1, 12).map((w) => `${w}.internal`), fc.constant('127.0.0.1'), fc.constant('[::1]'), fc.constant('db1,db2')),
  port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }),
  path: fc.oneof(fc.constant(''), word(1, 8).map((w) => `/${w}`)),
  query: fc.oneof(fc.constant(''), fc.constant('?sslmode=require'), word(1, 6).map((w) => `?application_name=${w}`)),
  before: surrounding,
  after: surrounding,
  encoded: fc.boolean(),
});

/** The text a log line or error message would carry. */
export function redactionText(i: RedactionInput): { text: string; password: string; url: string } {
  const password = i.encoded ? encodeURIComponent(i.password) : i.password;
  const url = `${i.scheme}://${i.user}:${password}@${i.host}${i.port === null ? '' : `:${i.port}`}${i.path}${i.query}`;
  const text = `${i.before}${i.before ? ' ' : ''}${url}${i.after ? ' ' : ''}${i.after}`;
  return { text, password, url };
}

/**
 * For any URL with a password (raw or encoded) in any text: the redacted text holds no part of
 * the password that is not also elsewhere in the text, keeps the scheme, user and host, and
 * redacting again changes nothing.
 */
export function checkRedaction(i: RedactionInput): void {
  const { text, password } = redactionText(i);
  const out = redactSecrets(text);
  if (redactSecrets(out) !== out) throw new FuzzFailure(`redaction is not idempotent: ${JSON.stringify(out)}`);
  // every piece of the password of 4+ characters that appears nowhere else in the text must be gone
  const rest = text.replace(password, '\u0000');
  for (let len = Math.min(password.length, 8); len >= 4; len--) {
    for (let s = 0; s + len <= password.length; s++) {
      const piece = password.slice(s, s + len);
      if (!rest.includes(piece) && !'[redacted]'.includes(piece) && out.includes(piece)) throw new FuzzFailure(`redacted text ${JSON.stringify(out)} still holds ${JSON.stringify(piece)} of the password ${JSON.stringify(password)}`);
    }
  }
  if (password.length < 4 && out.includes(`:${password}@`)) throw new FuzzFailure(`redacted text ${JSON.stringify(out)} still holds the password ${JSON.stringify(password)}`);
  if (!out.includes(`${i.scheme}://${i.user}:[redacted]@`)) throw new FuzzFailure(`redacted text ${JSON.stringify(out)} lost the scheme and user (expected "${i.scheme}://${i.user}:[redacted]@")`);
  if (!i.query.includes('@') && !i.path.includes('@') && !out.includes(`@${i.host}`)) throw new FuzzFailure(`redacted text ${JSON.stringify(out)} lost the host ${i.host}`);
}
