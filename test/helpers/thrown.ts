import { expect } from 'vitest';
import { BstuneError } from '../../src/errors.js';

/** Runs `f`, asserts it threw a BstuneError, and returns that error for further checks. */
export function bstuneErrorFrom(f: () => unknown): BstuneError {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(BstuneError);
  return thrown as BstuneError;
}
