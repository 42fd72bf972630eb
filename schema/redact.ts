// One place that removes secrets from text bound for logs and error messages: passwords in
// connection URLs and `password=` settings, bearer and OAuth tokens, signed-URL credentials.
// Pure; used by the logger and by every error mapping (database, Cloud Storage).

/** `text` with every recognisable secret replaced. */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:[redacted]@')
    .replace(/(password\s*[=:]\s*)('[^']*'|"[^"]*"|\S+)/gi, '$1[redacted]')
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]')
    .replace(/ya29\.[A-Za-z0-9._-]+/g, '[redacted]')
    .replace(/([?&](?:access_token|token|key|X-Goog-Signature|X-Goog-Credential)=)[^&\s"]+/gi, '$1[redacted]');
}
