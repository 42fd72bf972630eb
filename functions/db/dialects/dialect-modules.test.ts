import { describe, expect, it } from 'vitest';
import { dialectSql, VECTOR_DIALECTS } from '../dialect.js';

const vector = [0.5, -0.25, 1e-7, 3];

describe('the dialect modules', () => {
  for (const name of VECTOR_DIALECTS) {
    const sql = dialectSql(name);

    it(`${name}: is picked by its own name, and has a vector type exactly when it has an extension`, () => {
      expect(sql.dialect).toBe(name);
      expect(sql.vectorType === null).toBe(sql.extension === null);
    });

    it(`${name}: writes a vector for a direct COPY in the column's own text form (real[] braces without an extension)`, () => {
      const text = sql.encodeVector(vector, vector.length);
      expect(text).toMatch(/^\[.*\]$/);
      const column = sql.copyColumnText(text);
      expect(column).toBe(sql.extension === null ? `{${text.slice(1, -1)}}` : text);
      expect(column.slice(1, -1).split(',').map(Number)).toEqual(vector);
    });

    it(`${name}: notes how it searched exactly when every plan is an exact scan`, () => {
      const alwaysExact = [false, true].every((filtered) => sql.searchPlan({ k: 10, filtered }).exact);
      expect(sql.searchNote !== null).toBe(alwaysExact);
    });
  }
});
