// The blocked 2-D wasm Transpose moves the same bits as the stock kernel (NaN payloads,
// -0, int32), for shapes around the block size; other ranks still go to the stock kernel.
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { registerTransposeKernel } from '../src/backend/transpose.js';
import { setSimdKernelsEnabled } from '../src/backend/kernels/simd/index.js';
import type { Tf, Tensor } from '../src/tf.js';

let tf: Tf;
beforeAll(async () => {
  tf = await setupBackend('wasm');
});

const bits = (t: Tensor): Int32Array => new Int32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);

function both(make: () => Tensor, perm: number[]): [Int32Array, Int32Array] {
  const run = (on: boolean): Int32Array => {
    registerTransposeKernel(on);
    return tf.tidy(() => {
      const x = make();
      const y = tf.transpose(x, perm);
      return x.dtype === 'int32' ? Int32Array.from(y.dataSync() as Int32Array) : bits(y);
    });
  };
  try {
    return [run(false), run(true)];
  } finally {
    registerTransposeKernel(true);
  }
}

describe('wasm Transpose in blocks', () => {
  const shapes: [number, number][] = [[1, 1], [1, 37], [37, 1], [15, 17], [16, 16], [33, 50], [512, 10], [10, 512], [130, 784]];
  for (const [r, c] of shapes) {
    it(`float32 ${r}x${c}: the same bits as the stock kernel, and out[j][i] = x[i][j]`, () => {
      const values = Float32Array.from({ length: r * c }, (_, i) => Math.sin(i) * 1e3);
      const raw = new Int32Array(values.buffer);
      if (values.length > 3) {
        values[1] = -0;
        raw[2] = 0x7fc00123; // a NaN with a payload
        values[3] = Infinity;
      }
      const [stock, ours] = both(() => tf.tensor2d(values, [r, c]), [1, 0]);
      expect(ours).toEqual(stock);
      for (let i = 0; i < r; i += Math.max(1, r >> 3)) for (let j = 0; j < c; j += Math.max(1, c >> 3)) expect(ours[j * r + i]).toBe(raw[i * c + j]);
    });
  }
  it('int32 values, and rank 3 and 4 permutations (stock) are unchanged', () => {
    const [a, b] = both(() => tf.tensor2d(Int32Array.from({ length: 40 * 23 }, (_, i) => i * 7919 - 5e5), [40, 23], 'int32'), [1, 0]);
    expect(b).toEqual(a);
    for (const [shape, perm] of [[[3, 4, 5], [2, 0, 1]], [[2, 6, 6, 3], [3, 1, 2, 0]]] as [number[], number[]][]) {
      const n = shape.reduce((p, q) => p * q, 1);
      const [s, o] = both(() => tf.tensor(Float32Array.from({ length: n }, (_, i) => i / 3), shape), perm);
      expect(o).toEqual(s);
    }
  });
  it('the MLP weight gradient xᵀ·dy at batch 512 is bit-identical with either kernel', () => {
    // With the SIMD kernels, aᵀ·b runs on matmul_tn and transposes nothing: off, the product
    // goes through the backend's Transpose and XNNPACK, which is what this compares.
    setSimdKernelsEnabled(false);
    try {
      const [s, o] = both(() => {
      const x = tf.tensor2d(Float32Array.from({ length: 512 * 784 }, (_, i) => ((i * 37) % 255) / 255), [512, 784]);
      const dy = tf.tensor2d(Float32Array.from({ length: 512 * 10 }, (_, i) => Math.cos(i) / 512), [512, 10]);
      // transpose([[..]], [0, 1]) is the identity: the product is what is compared.
      return tf.matMul(x, dy, true, false);
      }, [0, 1]);
      expect(o).toEqual(s);
    } finally {
      setSimdKernelsEnabled(true);
    }
  });
});
