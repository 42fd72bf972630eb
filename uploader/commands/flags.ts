// Building blocks of the commands' flag schemas: commander hands over strings, booleans and arrays;
// these turn them into typed values, and a bad value into a zod issue that reads like a usage
// error (`--limit 0: expected …`, with its own `Try:` line when it has one).

import { z } from 'zod';
import { AppError } from '../../schema/errors.js';

/** A string option (undefined when not given). */
export const text = () => z.string().optional();

/** A switch (`--dry-run`): true when given. */
export const toggle = () =>
  z
    .boolean()
    .optional()
    .transform((v) => v === true);

/** A `--no-x` switch: true unless `--no-x` was given (commander's default is true). */
export const negatable = () => z.boolean().default(true);

/** A repeatable option collected into an array by its commander parser (undefined when not given). */
export const repeated = () => z.array(z.string()).optional();

/** Throws the usage error of one bad flag value (`message` then `Try: tryLine`), for use inside `parsed`. */
export function usage(message: string, tryLine: string): never {
  throw new AppError('USAGE', `${message}\nTry: ${tryLine}`);
}

/**
 * An option parsed by `parse` (which throws a USAGE AppError for a bad value: its message becomes
 * the issue, its `Try:` line the error's, when it ends with one).
 * @example limit: parsed((v) => (/^\d+$/.test(v) ? Number(v) : usage(`--limit ${v}: expected a whole number`, 'aqe-upload x --limit 5')))
 */
export function parsed<T>(parse: (raw: string) => T) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      if (raw === undefined) return undefined;
      try {
        return parse(raw);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const lines = err.message.split('\n');
        const last = lines.at(-1) ?? '';
        const tryLine = last.startsWith('Try: ') ? last.slice('Try: '.length) : undefined;
        ctx.addIssue({ code: 'custom', message: (tryLine !== undefined ? lines.slice(0, -1) : lines).join('\n'), ...(tryLine !== undefined ? { params: { try: tryLine } } : {}) });
        return z.NEVER;
      }
    });
}

/** A list option given repeatedly or comma-separated (commander's collector). */
export const collectList = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** A repeatable option (each occurrence one value). */
export const collect = (v: string, prev: string[] = []) => [...prev, v];
