import { expect } from 'vitest';

export type Shape = number[];
/** Relative error allowed between a wasm kernel and the cpu reference, in float32. */
export const TOL = 1e-4;

export function rand(shape: Shape): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
}

/** Max absolute difference over the reference's largest magnitude; NaN anywhere counts as infinite. */
export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(got.length).toBe(ref.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}
