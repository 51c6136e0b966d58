/**
 * 2-D Transpose on the wasm backend, in cache-sized blocks. The stock kernel walks the
 * output in one pass whose reads stride through the whole input: transposing the MLP's
 * 512 × 784 batch (BatchMatMul's xᵀ·dy, the first layer's weight gradient) took ~4 ms
 * here, 0.6 ms in 16 × 16 blocks, and it was most of a batch-512 step. Only moves bits
 * (through an int32 view, so NaN payloads and -0 survive): results are the same.
 * Other ranks, permutations and dtypes go to the stock kernel.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tfCore as tf } from './tfjs-require.js';
import { overStock, registerOverStock, type KernelArgs, type Stock } from './kernels/stock.js';
import { asWasmBackend, f32Offset, heapI32 } from './kernels/wasm-internals.js';

const BLOCK = 16;

/** out[c][r] = x[r][c] for an x of rows × cols 32-bit values, all offsets in 32-bit words. */
export function transposeBlocks(heap: Int32Array, src: number, dst: number, rows: number, cols: number): void {
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(r0 + BLOCK, rows);
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = Math.min(c0 + BLOCK, cols);
      for (let r = r0; r < r1; r++) {
        const s = src + r * cols;
        for (let c = c0; c < c1; c++) heap[dst + c * rows + r] = heap[s + c]!;
      }
    }
  }
}

function transpose(args: KernelArgs, stock: Stock): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { perm } = args.attrs as { perm: number[] };
  const [rows, cols] = x.shape as [number, number];
  if (x.shape.length !== 2 || perm[0] !== 1 || perm[1] !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || rows * cols === 0) {
    return stock(args);
  }
  const backend = asWasmBackend(args.backend);
  const out = backend.makeOutput([cols, rows], x.dtype);
  // After allocating: malloc may grow the heap and detach an earlier view.
  transposeBlocks(heapI32(backend), f32Offset(backend, x), f32Offset(backend, out), rows, cols);
  return out;
}

const transposeOverride = overStock(tf.Transpose, transpose);

/** Idempotent: replaces the stock wasm Transpose (kept for every other case); `false` puts it back (tests). */
export function registerTransposeKernel(on = true): void {
  registerOverStock(transposeOverride, on);
}
