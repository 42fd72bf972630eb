// A value that never prints: String(), JSON, util.inspect and template literals show
// "[redacted]". Only `reveal()` returns the secret, at the one place it is needed.

import { inspect } from 'node:util';

export class Redacted<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}
