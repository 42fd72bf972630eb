// Words for a JSON syntax error that never quote the text: V8's JSON.parse messages carry a
// snippet of the input ("Unexpected token 'r', "root:*:195"... is not valid JSON"), and a source
// file may be anything (a link to a credentials file), so only the kind of error and where it is
// are kept. Pure.

/**
 * What is wrong with JSON text, from the error JSON.parse threw: the kind and the position, never
 * a character of the text.
 * @example describeJsonSyntaxError(new SyntaxError('Unexpected token \'r\', "root:*:195"... is not valid JSON')) // 'an unexpected character'
 */
export function describeJsonSyntaxError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/unexpected end of json input/i.test(message)) return 'a document that ends before it is complete (truncated?)';
  const at = /at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message);
  const where = at ? ` at character ${at[1]}${at[2] ? ` (line ${at[2]}, column ${at[3]})` : ''}` : '';
  if (/after JSON/i.test(message)) return `more content after the JSON document${where}`;
  if (/control character/i.test(message)) return `a control character inside a string${where}`;
  if (/unterminated string/i.test(message)) return `an unterminated string${where}`;
  if (/^Expected /.test(message)) {
    // "Expected ',' or ']' after array element": JSON's own punctuation, not the input's
    const expected = /^Expected ([^]*?) in JSON/.exec(message)?.[1];
    return `a syntax error${where}${expected ? ` (expected ${expected})` : ''}`;
  }
  return `an unexpected character${where}`;
}
