import { describe, expect, it } from 'vitest';
import { describeJsonSyntaxError } from './json-syntax.js';

const errorOf = (text: string): unknown => {
  try {
    JSON.parse(text);
  } catch (err) {
    return err;
  }
  throw new Error('parsed');
};

describe('describeJsonSyntaxError', () => {
  it('says what and where, never quoting the text', () => {
    const secret = 'root:*:19500:0:99999:7:::\nsecret-token-1234';
    for (const text of [secret, `{"a": ${secret}}`, `{"a": 1} ${secret}`, `["${secret}`, `{"a": "x\ny${secret}"}`]) {
      const words = describeJsonSyntaxError(errorOf(text));
      expect(words).not.toMatch(/root|secret|19500|token/);
    }
    expect(describeJsonSyntaxError(errorOf('{"a":'))).toBe('a document that ends before it is complete (truncated?)');
    expect(describeJsonSyntaxError(errorOf('{"a":1} x'))).toBe('more content after the JSON document at character 8');
    expect(describeJsonSyntaxError(errorOf('[1,2 3]'))).toMatch(/^a syntax error at character 5 \(expected ',' or '\]'/);
  });
});
