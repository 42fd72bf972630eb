// One place that removes secrets from text bound for logs and error messages: passwords in
// connection URLs and `password=` settings, bearer and OAuth tokens, signed-URL credentials.
// Pure; used by the logger and by every error mapping (database, Cloud Storage).

/**
 * `scheme://` and the rest of its whitespace-delimited token. A password typed raw (not
 * percent-encoded) may hold `@`, `:`, `/`, `#` or `%`, so the userinfo cannot be cut at the first
 * `@` (that leaked the rest of the password): it is parsed from the right.
 */
const URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s]+)/gi;

/**
 * The URL's userinfo ends at the LAST `@` of the token (a host never holds one); the user name
 * ends at the first `:` (a user name holds no raw `:`, `/`, `?` or `#`). Everything between is the
 * password. Cutting at the last `@` may hide more than the password when a path or query after the
 * host holds an `@` too: over-redaction, never a leak.
 */
function redactUrlToken(_match: string, scheme: string, rest: string): string {
  const at = rest.lastIndexOf('@');
  if (at < 0) return scheme + rest;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return scheme + rest;
  const user = userinfo.slice(0, colon);
  if (/[/?#]/.test(user)) return scheme + rest;
  return `${scheme}${user}:[redacted]${rest.slice(at)}`;
}

/** `text` with every recognisable secret replaced. */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_TOKEN, redactUrlToken)
    .replace(/(password\s*[=:]\s*)('[^']*'|"[^"]*"|\S+)/gi, '$1[redacted]')
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]')
    .replace(/ya29\.[A-Za-z0-9._-]+/g, '[redacted]')
    .replace(/([?&](?:access_token|token|key|X-Goog-Signature|X-Goog-Credential)=)[^&\s"]+/gi, '$1[redacted]');
}
