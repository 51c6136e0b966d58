// Conv2DBackpropFilter for wasm (tfjs-backend-wasm has none). Unpadded
// convs run the direct SIMD kernel; otherwise (and without SIMD):
// dW[KK, CO] = colT[KK, P] · dy[P, CO], with colT built by the SIMD wasm
// im2col (simd/; the JS loop is the fallback: 1.8 -> 1.0 ms for the CNN's
// first layer at batch 128) and the product
// run by the backend's XNNPACK matmul. The batch is processed in chunks so
// the im2col buffer stays cache-sized; partial products are summed in JS.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { im2colTransposed } from './im2col.js';
import { planConvGrad, type ConvGradAttrs } from './conv-grad-plan.js';
import { simdKernels } from './simd/index.js';
import {
  asWasmBackend, dispose, f32Offset, heapF32, tensorData, wasmTranspose, withHeapView,
  xnnConv2d, xnnMatMul, type WasmBackendLike,
} from './wasm-internals.js';


// Below this many input channels the im2col + matmul path measured faster.
const CONV_PATH_MIN_IN_CHANNELS = 4;

// Unpadded convs use the direct SIMD kernel (simd conv_bpf) when SIMD is
// available: on the MNIST CNN at batch 128 it took layer 1 (1 -> 8 channels)
// from 3.5 (XNNPACK) to 0.85 ms and layer 2 (8 -> 16) from 2.7 to 1.15 ms
// (bench/filter-ab.mjs, 4-tap x 8-channel register blocks; the earlier 5x8
// blocks ran 1.7 / 2.6 ms). Padded convs keep the XNNPACK paths below.
let directEnabled = true;

/** Tests and benches: turn the direct SIMD kernel off to exercise the XNNPACK paths. */
export function setDirectFilterGrad(on: boolean): void {
  directEnabled = on;
}

interface FilterAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilter(args: { inputs: tfc.NamedTensorInfoMap; backend: unknown;
    attrs?: tfc.NamedAttrMap }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as FilterAttrs;
  const { info, kk, perImage, chunk, geometry } = planConvGrad('Conv2DBackpropFilter', attrs, x.shape as [number, number, number, number], attrs.filterShape);
  const { batchSize, outHeight, outWidth, filterHeight, filterWidth, inChannels, outChannels } = info;
  if (batchSize === 0 || outHeight * outWidth === 0) {
    // An empty batch contributes nothing: the gradient is zero (the paths below would leave it unwritten).
    const empty = backend.makeOutput(attrs.filterShape, 'float32');
    const o = tensorData(backend, empty).memoryOffset >>> 2;
    heapF32(backend).fill(0, o, o + tf.util.sizeFromShape(attrs.filterShape));
    return empty;
  }

  const simd = simdKernels(backend);
  const pad = info.padInfo;
  if (simd && directEnabled && pad.top === 0 && pad.left === 0 && pad.bottom === 0 && pad.right === 0 &&
      info.dilationHeight === 1 && info.dilationWidth === 1) {
    const out = backend.makeOutput(attrs.filterShape, 'float32');
    simd.conv_bpf(tensorData(backend, x).memoryOffset, tensorData(backend, dy).memoryOffset,
      tensorData(backend, out).memoryOffset, batchSize, info.inHeight, info.inWidth, inChannels,
      outHeight, outWidth, filterHeight, filterWidth, info.strideHeight, info.strideWidth, outChannels);
    return out;
  }
  if (info.strideHeight === 1 && info.strideWidth === 1 && inChannels >= CONV_PATH_MIN_IN_CHANNELS) {
    return filterGradViaConv(backend, x, dy, info);
  }
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  const col = backend.makeOutput([kk, chunk * perImage], 'float32');
  const partial = chunk < batchSize ? backend.makeOutput([kk, outChannels], 'float32') : null;
  const dyData = tensorData(backend, dy);
  const outSize = kk * outChannels;
  try {
    for (let b0 = 0; b0 < batchSize; b0 += chunk) {
      const b1 = Math.min(batchSize, b0 + chunk);
      const p = (b1 - b0) * perImage;
      if (simd) {
        const g = geometry;
        simd.im2col_t(tensorData(backend, x).memoryOffset + b0 * g.inH * g.inW * g.inC * 4,
          tensorData(backend, col).memoryOffset, b1 - b0, g.inH, g.inW, g.inC, g.outH, g.outW,
          g.fh, g.fw, g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft);
      } else {
        im2colTransposed(heapF32(backend), f32Offset(backend, x), f32Offset(backend, col), b0, b1, geometry);
      }
      const target = b0 === 0 ? out : (partial as TensorInfo);
      const dyByteOffset = dyData.memoryOffset + b0 * perImage * outChannels * 4;
      withHeapView(backend, dyByteOffset, p * outChannels, (dyId) => {
        xnnMatMul(backend, tensorData(backend, col).id, kk, p, dyId, outChannels,
          tensorData(backend, target).id);
      });
      if (b0 > 0) {
        const heap = heapF32(backend);
        const o = f32Offset(backend, out);
        const q = f32Offset(backend, target);
        for (let i = 0; i < outSize; i++) heap[o + i] += heap[q + i];
      }
    }
  } finally {
    dispose(backend, col);
    if (partial) dispose(backend, partial);
  }
  return out;
}

/**
 * Stride-1 dW as an XNNPACK convolution with batch and channels swapped:
 * dW[ci,kh,kw,co] = conv(xᵀ[ci,H,W,b], dyᵀ[oh,ow,b,co]) with the forward
 * padding. No im2col buffer; faster than the matmul path once inC >= 4.
 */
function filterGradViaConv(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo,
    info: tfc.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outChannels, outHeight, outWidth,
    filterHeight: fh, filterWidth: fw } = info;
  const xT = wasmTranspose(backend, x, [3, 1, 2, 0]);
  const dyT = wasmTranspose(backend, dy, [1, 2, 0, 3]);
  const tmp = backend.makeOutput([inChannels, fh, fw, outChannels], 'float32');
  const out = backend.makeOutput(info.filterShape, 'float32');
  try {
    xnnConv2d(backend, tensorData(backend, xT).id, tensorData(backend, dyT).id,
      tensorData(backend, tmp).id, {
        batch: inChannels, inH: inHeight, inW: inWidth, inC: batchSize, outC: outChannels,
        fh: outHeight, fw: outWidth, padTop: info.padInfo.top, padBottom: info.padInfo.bottom,
        padLeft: info.padInfo.left, padRight: info.padInfo.right,
        strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
      });
    // [ci, kh, kw, co] -> [kh, kw, ci, co]; tiny, so plain JS.
    const heap = heapF32(backend);
    const src = f32Offset(backend, tmp);
    const dst = f32Offset(backend, out);
    const taps = fh * fw;
    for (let ci = 0; ci < inChannels; ci++) {
      for (let t = 0; t < taps; t++) {
        const s = src + (ci * taps + t) * outChannels;
        heap.copyWithin(dst + (t * inChannels + ci) * outChannels, s, s + outChannels);
      }
    }
  } finally {
    // Disposing dyT also drops the XNNPACK operator cached on it as a filter.
    dispose(backend, xT, dyT, tmp);
  }
  return out;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tfc.KernelFunc,
};
