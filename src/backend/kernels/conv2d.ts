// Forward Conv2D for wasm: unpadded convs with few input channels and outC a
// multiple of 8 run the direct SIMD kernel (simd conv_fwd); everything else
// (and every case without SIMD) goes to the stock XNNPACK kernel unchanged.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { simdKernels } from './simd/index.js';
import { overStock, type KernelArgs, type Stock } from './stock.js';
import { asWasmBackend, tensorData } from './wasm-internals.js';

// bench/conv-fwd-ab.mjs, batch 128: MNIST CNN layer 1 (1 -> 8 channels,
// 5x5) 2.1 -> 0.9 ms, layer 2 (8 -> 16) 1.87 -> 1.40 ms (then ~15% less with
// bottom-tested tap loops and no branch inside them); at 32-64 input
// channels (3x3 -> 64) the two are level, so wider convs stay on XNNPACK.
const DIRECT_MAX_IN_CHANNELS = 16;

let directEnabled = true;

/** Tests and benches: turn the direct SIMD kernel off (stock kernel only). */
export function setDirectConv2D(on: boolean): void {
  directEnabled = on;
}

export function directConv2DEnabled(): boolean {
  return directEnabled;
}

export interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tfc.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The geometry of an NHWC float conv our direct kernel runs (unpadded, dilation 1,
 * 1-16 input channels, outC a multiple of 8, non-empty), or null. SIMD is checked apart.
 */
export function directConvInfo(x: TensorInfo, filter: TensorInfo, a: ConvAttrs): tfc.backend_util.Conv2DInfo | null {
  if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || filter.dtype !== 'float32' ||
      x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number], a.strides, a.dilations, a.pad,
    a.dimRoundingMode, false, 'channelsLast');
  const p = info.padInfo;
  const fits = p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && info.outChannels % 8 === 0 &&
    info.inChannels >= 1 && info.inChannels <= DIRECT_MAX_IN_CHANNELS && info.filterWidth >= 1 &&
    info.filterHeight >= 1 && tf.util.sizeFromShape(info.outShape) > 0;
  return fits ? info : null;
}

function conv2D(args: KernelArgs, stock: Stock): TensorInfo {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const info = directEnabled ? directConvInfo(x, filter, args.attrs as unknown as ConvAttrs) : null;
  if (info != null) {
    const backend = asWasmBackend(args.backend);
    const simd = simdKernels(backend);
    if (simd) {
      const out = backend.makeOutput(info.outShape, 'float32');
      simd.conv_fwd(tensorData(backend, x).memoryOffset, tensorData(backend, filter).memoryOffset,
        tensorData(backend, out).memoryOffset, info.batchSize, info.inHeight, info.inWidth,
        info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
        info.strideHeight, info.strideWidth, info.outChannels, 0, 0);
      return out;
    }
  }
  return stock(args);
}

const conv2DOverride = overStock(tf.Conv2D, conv2D);
export const conv2DConfig = conv2DOverride.config;
export const setStockConv2D = conv2DOverride.setStock;
