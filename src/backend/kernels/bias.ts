// Bias add and bias gradient on the SIMD kernels. The stock wasm Add with a
// [C] operand broadcast over [..., C] runs a generic broadcasting loop, and
// the stock Sum over the leading axes (the bias gradient: sum of dy over
// batch and pixels) transposes the whole tensor first; both were ~1-1.5 ms
// per step on the MNIST CNN's first conv layer at batch 128.
// Only those exact cases take the fast path; every other Add/Sum (other
// dtypes, same-shape adds, other broadcasts, other reduction axes, SIMD
// unavailable) is handed to the stock kernel unchanged.
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { simdKernels } from './simd/index.js';
import { overStock, type KernelArgs, type Stock } from './stock.js';
import { asWasmBackend, dispose, tensorData } from './wasm-internals.js';


/** If `small` is [C] (after leading 1s) and `big` is [..., C], returns C. */
function biasWidth(big: TensorInfo, small: TensorInfo): number {
  const bs = big.shape;
  const ss = small.shape;
  if (bs.length < 2 || ss.length < 1 || ss.length > bs.length) return 0;
  const c = bs[bs.length - 1]!;
  if (c < 1 || ss[ss.length - 1] !== c) return 0;
  for (let i = 0; i < ss.length - 1; i++) if (ss[i] !== 1) return 0;
  return c;
}

function add(args: KernelArgs, stock: Stock): TensorInfo {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  if (a.dtype === 'float32' && b.dtype === 'float32') {
    const aBig = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape);
    const big = aBig ? a : b;
    const small = aBig ? b : a;
    const c = biasWidth(big, small);
    const size = tf.util.sizeFromShape(big.shape);
    if (c > 0 && size > c) {
      const backend = asWasmBackend(args.backend);
      const simd = simdKernels(backend);
      if (simd) {
        const out = backend.makeOutput(big.shape, 'float32');
        // IEEE addition is commutative, so operand order doesn't matter.
        simd.add_rows(tensorData(backend, big).memoryOffset, tensorData(backend, small).memoryOffset,
          tensorData(backend, out).memoryOffset, size / c, c);
        return out;
      }
    }
  }
  return stock(args);
}

function sum(args: KernelArgs, stock: Stock): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  if (x.dtype === 'float32' && rank >= 2) {
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    const k = axes.length;
    const leading = k >= 1 && k < rank && axes.every((v, i) => v === i);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const cols = tf.util.sizeFromShape(x.shape.slice(k));
    if (leading && rows === 0 && cols > 0) {
      // A sum over no rows is zeros (the stock kernel leaves the output unwritten).
      const backend = asWasmBackend(args.backend);
      const outShape = keepDims ? [...new Array<number>(k).fill(1), ...x.shape.slice(k)] : x.shape.slice(k);
      const out = backend.makeOutput(outShape, 'float32');
      const o = tensorData(backend, out).memoryOffset >>> 2;
      backend.wasm.HEAPF32.fill(0, o, o + cols);
      return out;
    }
    if (leading && rows > 0 && cols > 0) {
      const backend = asWasmBackend(args.backend);
      const simd = simdKernels(backend);
      if (simd) {
        const outShape = keepDims ? [...new Array<number>(k).fill(1), ...x.shape.slice(k)] : x.shape.slice(k);
        const out = backend.makeOutput(outShape, 'float32');
        const needTmp = cols % 4 !== 0 || cols > 16;
        const tmp = needTmp ? backend.makeOutput([cols], 'float32') : null;
        try {
          simd.sum_rows(tensorData(backend, x).memoryOffset, tensorData(backend, out).memoryOffset,
            tmp ? tensorData(backend, tmp).memoryOffset : 0, rows, cols);
        } finally {
          if (tmp) dispose(backend, tmp);
        }
        return out;
      }
    }
  }
  return stock(args);
}

const addOverride = overStock(tf.Add, add);
const sumOverride = overStock(tf.Sum, sum);
export const addConfig = addOverride.config;
export const sumConfig = sumOverride.config;

/** Called at registration with the kernels ours replace (the fallbacks). */
export function setStockBiasKernels(add: KernelConfig | undefined, sum: KernelConfig | undefined): void {
  addOverride.setStock(add);
  sumOverride.setStock(sum);
}
