// Forward MaxPool for wasm: 2x2 stride-2 unpadded windows (the usual pooling
// layer) on float32 run the SIMD kernel (simd max_pool_2x2); everything else
// goes to the stock XNNPACK kernel unchanged. The stock kernel took ~0.15 ms
// for the MNIST CNN's first pool at batch 128, and its NaN handling differs
// from the cpu backend's (ours matches cpu: NaN never wins).
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { noteMaxPoolInput, takePooled } from './conv-bias-relu.js';
import { simdKernels } from './simd/index.js';
import { overStock, type KernelArgs, type Stock } from './stock.js';
import { asWasmBackend, tensorData } from './wasm-internals.js';

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tfc.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

let directEnabled = true;

/** Tests and benches: turn the SIMD kernel off (stock kernel only). */
export function setDirectMaxPool(on: boolean): void {
  directEnabled = on;
}

function maxPool(args: KernelArgs, stock: Stock): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const a = args.attrs as unknown as PoolAttrs;
  noteMaxPoolInput(x, args.attrs);
  if (directEnabled && x.dtype === 'float32' && x.shape.length === 4) {
    const backend = asWasmBackend(args.backend);
    const simd = simdKernels(backend);
    const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number],
      a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const p = info.padInfo;
    if (simd && info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 &&
        info.strideWidth === 2 && p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0 &&
        2 * info.outHeight <= info.inHeight && 2 * info.outWidth <= info.inWidth &&
        tf.util.sizeFromShape(info.outShape) > 0) {
      const pooled = takePooled(x, info.outShape);
      if (pooled != null) return pooled;
      const out = backend.makeOutput(info.outShape, 'float32');
      simd.max_pool_2x2(tensorData(backend, x).memoryOffset, tensorData(backend, out).memoryOffset,
        info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth);
      return out;
    }
  }
  return stock(args);
}

const maxPoolOverride = overStock(tf.MaxPool, maxPool);
export const maxPoolConfig = maxPoolOverride.config;
export const setStockMaxPool = maxPoolOverride.setStock;
