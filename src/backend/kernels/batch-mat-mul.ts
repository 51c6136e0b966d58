// BatchMatMul for wasm with fast transposed cases. The stock kernel only
// uses XNNPACK for untransposed batch-1 operands; dense-layer gradients
// (dW = xᵀ·dy, dx = dy·Wᵀ) fall to a scalar loop (~0.24 ms for the MLP's
// 784x32x10 dW). Here the transposed operand is first transposed by the
// backend's XNNPACK Transpose, then the product runs on XNNPACK. aᵀ·b (the
// weight gradient) runs the SIMD kernel simd matmul_tn when it loads: the MLP's
// 512x784ᵀ·512x10 took 2.8 ms that way (a transpose of x, then an XNNPACK
// operator built and b packed for each call), ~0.2 ms direct. a·b with a
// narrow b (the dense forward x·W) and a·bᵀ with long rows run simd matmul_nt
// (the MLP's 512x784·784x10: 0.48 ms stock, ~0.25 ms). Everything else goes
// to the stock kernel.
import { tfCore as tf } from '../tfjs-require.js';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { simdKernels } from './simd/index.js';
import { overStock, type KernelArgs, type Stock } from './stock.js';
import { asWasmBackend, dispose, tensorData, wasmTranspose, withHeapView, xnnMatMul } from './wasm-internals.js';

// a·b goes to matmul_nt when b is at most this wide (wider: XNNPACK's GEMM) and the
// dot products are at least DOT_MIN_K long (shorter ones lose to the per-output sums).
const NARROW_MAX_N = 64;
const DOT_MIN_K = 16;

function batchMatMul(args: KernelArgs, stock: Stock): TensorInfo {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  // a·b with a narrow b (a dense layer's forward x·W): SIMD dot products on bᵀ.
  const narrow = !transposeA && !transposeB && b.shape.length >= 2 &&
    b.shape[b.shape.length - 1]! <= NARROW_MAX_N && b.shape[b.shape.length - 2]! >= DOT_MIN_K;
  if ((!(transposeA || transposeB) && !narrow) || batchA !== 1 || batchB !== 1 ||
      a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return stock(args);
  }
  const backend = asWasmBackend(args.backend);
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1]! : a.shape[ar - 2]!;
  const k = transposeA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const kB = transposeB ? b.shape[br - 1]! : b.shape[br - 2]!;
  const n = transposeB ? b.shape[br - 2]! : b.shape[br - 1]!;
  if (k !== kB) {
    throw new Error(`Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ` +
      `${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2),
    b.shape.slice(0, -2)), m, n];
  const out = backend.makeOutput(outShape, 'float32');
  if (m * n === 0) return out;
  if (k === 0) {
    // XNNPACK rejects empty operands; the product of empty sums is zeros.
    const o = tensorData(backend, out).memoryOffset >>> 2;
    backend.wasm.HEAPF32.fill(0, o, o + m * n);
    return out;
  }
  const simd = simdKernels(backend);
  if (simd && transposeA && !transposeB) {
    // aᵀ·b straight from a [k, m] and b [k, n]: no transpose, no XNNPACK operator built
    // (and weights packed) for a fresh b every call.
    simd.matmul_tn(tensorData(backend, a).memoryOffset, tensorData(backend, b).memoryOffset,
      tensorData(backend, out).memoryOffset, k, m, n);
    return out;
  }
  if (simd && !transposeA && (narrow || (transposeB && k >= DOT_MIN_K))) {
    // a·bᵀ from rows of a and b; a narrow untransposed b is transposed first (n x k floats, small).
    const bT = narrow ? wasmTranspose(backend, { ...b, shape: [k, n] }, [1, 0]) : null;
    try {
      simd.matmul_nt(tensorData(backend, a).memoryOffset, tensorData(backend, bT ?? b).memoryOffset,
        tensorData(backend, out).memoryOffset, m, n, k);
    } finally {
      if (bT) dispose(backend, bT);
    }
    return out;
  }
  if (narrow) {
    dispose(backend, out);
    return stock(args);
  }
  // Rank-2 views share data with the inputs (the backend's reshape is free).
  const aT = transposeA ? wasmTranspose(backend, { ...a, shape: [k, m] }, [1, 0]) : null;
  const bT = transposeB ? wasmTranspose(backend, { ...b, shape: [n, k] }, [1, 0]) : null;
  try {
    const aId = tensorData(backend, aT ?? a).id;
    const outId = tensorData(backend, out).id;
    if (bT) {
      xnnMatMul(backend, aId, m, k, tensorData(backend, bT).id, n, outId);
    } else {
      // XNNPACK caches its operator on the weights' tensor id, whatever their shape, and a
      // reshape keeps the id: a fresh id for this call means no operator built for another
      // shape can be reused (it would write past the output).
      withHeapView(backend, tensorData(backend, b).memoryOffset, k * n, (bId) => xnnMatMul(backend, aId, m, k, bId, n, outId));
    }
  } finally {
    // Disposing bT also drops the XNNPACK operator cached on it as weights.
    if (aT) dispose(backend, aT);
    if (bT) dispose(backend, bT);
  }
  return out;
}

const batchMatMulOverride = overStock(tf.BatchMatMul, batchMatMul);
export const batchMatMulConfig = batchMatMulOverride.config;
export const setStockBatchMatMul = batchMatMulOverride.setStock;
