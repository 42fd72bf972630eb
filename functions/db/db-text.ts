// Text and JSON that PostgreSQL stores without complaint. Error reports, warnings and run records
// quote what they found in a source (member names, values), and PostgreSQL refuses NUL in text and
// jsonb, and unpaired UTF-16 surrogates (22P02): a quarantine record that fails to be written would
// turn a hostile snapshot into one retried forever. Used for every such parameter outside COPY.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` without NUL, with each unpaired surrogate replaced by U+FFFD. */
export function textForDb(s: string): string {
  return s.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\ufffd');
}

// JSON.stringify escapes exactly the unpaired surrogates (\udXXX) and control characters (\u0000);
// an escaped backslash before them (`\\u0000` in the text) is data and stays.
const BAD_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})/gi;

/** JSON text of `value` that a jsonb parameter accepts: NUL dropped, unpaired surrogates as U+FFFD. */
export function jsonForDb(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.replace(BAD_ESCAPE, (_m, slashes: string, code: string) => (code === '0000' ? slashes : `${slashes}\\ufffd`));
}
