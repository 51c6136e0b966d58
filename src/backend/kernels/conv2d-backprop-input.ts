// Faster Conv2DBackpropInput for wasm (the stock kernel is a scalar C++
// loop): dcol[P, KK] = dy[P, CO] · Wᵀ[CO, KK] on the backend's XNNPACK
// matmul, then a col2im scatter-add into dx (the SIMD wasm kernel in simd/,
// ~2x faster than the JS loop it replaced, which stays as the fallback).
// Works for any stride/padding.
// The batch is chunked so each dcol block stays cache-sized.
// (Measured alternative: a stride-1 full XNNPACK conv with the flipped filter
// was ~2x slower on the MNIST CNN because it multiplies the zero padding.)
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { col2imAdd } from './im2col.js';
import { planConvGrad, type ConvGradAttrs } from './conv-grad-plan.js';
import { simdKernels } from './simd/index.js';
import {
  asWasmBackend, dispose, f32Offset, heapF32, tensorData, withHeapView, xnnMatMul,
} from './wasm-internals.js';

// Unpadded convs whose filter rows span at least 8 floats (fw * inC >= 8)
// run the direct SIMD kernel (simd conv_bpi): on the MNIST CNN's second
// layer at batch 128 it took 2.8 -> 1.7 ms (bench/input-ab.mjs, load ~4). Narrower
// rows would go through its slow per-pixel tail, so they keep the path below.
let directEnabled = true;

/** Tests and benches: turn the direct SIMD kernel off (matmul + col2im only). */
export function setDirectInputGrad(on: boolean): void {
  directEnabled = on;
}

interface InputAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

function conv2DBackpropInput(args: { inputs: tfc.NamedTensorInfoMap; backend: unknown;
    attrs?: tfc.NamedAttrMap }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as InputAttrs;
  const { info, kk, perImage, chunk, geometry } = planConvGrad('Conv2DBackpropInput', attrs, attrs.inputShape, filter.shape as [number, number, number, number]);
  const { batchSize, outChannels } = info;

  const simd = simdKernels(backend);
  const dx = backend.makeOutput(info.inShape, 'float32');
  const wT = backend.makeOutput([outChannels, kk], 'float32');
  const pad = info.padInfo;
  const direct = simd != null && directEnabled && pad.top === 0 && pad.left === 0 && pad.bottom === 0 &&
    pad.right === 0 && info.filterWidth * info.inChannels >= 8 && outChannels >= 1 &&
    batchSize * perImage > 0;
  const col = direct ? null : backend.makeOutput([chunk * perImage, kk], 'float32');
  try {
    let heap = heapF32(backend);
    const dxOff = f32Offset(backend, dx);
    const wOff = f32Offset(backend, filter);
    const tOff = f32Offset(backend, wT);
    for (let r = 0; r < kk; r++) {
      for (let o = 0; o < outChannels; o++) heap[tOff + o * kk + r] = heap[wOff + r * outChannels + o];
    }
    if (direct) {
      // Zeroes dx itself.
      simd.conv_bpi(tensorData(backend, dy).memoryOffset, tOff * 4, dxOff * 4, batchSize, info.inHeight,
        info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
        info.strideHeight, info.strideWidth, outChannels);
      return dx;
    }
    heap.fill(0, dxOff, dxOff + tf.util.sizeFromShape(info.inShape));
    const dyData = tensorData(backend, dy);
    const wTId = tensorData(backend, wT).id;
    const colId = tensorData(backend, col as TensorInfo).id;
    for (let b0 = 0; b0 < batchSize; b0 += chunk) {
      const b1 = Math.min(batchSize, b0 + chunk);
      const p = (b1 - b0) * perImage;
      withHeapView(backend, dyData.memoryOffset + b0 * perImage * outChannels * 4,
        p * outChannels, (dyId) => xnnMatMul(backend, dyId, p, outChannels, wTId, kk, colId));
      if (simd) {
        const g = geometry;
        simd.col2im_add(tensorData(backend, col as TensorInfo).memoryOffset, dxOff * 4 + b0 * g.inH * g.inW * g.inC * 4,
          b1 - b0, g.inH, g.inW, g.inC, g.outH, g.outW, g.fh, g.fw, g.strideH, g.strideW, g.padTop, g.padLeft);
      } else {
        heap = heapF32(backend);
        col2imAdd(heap, f32Offset(backend, col as TensorInfo), dxOff, b0, b1, geometry);
      }
    }
  } finally {
    // Disposing wT also drops XNNPACK's packed-weights operator cached on it.
    dispose(backend, wT);
    if (col) dispose(backend, col);
  }
  return dx;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tfc.KernelFunc,
};
