// DepthwiseConv2dNativeBackpropFilter for wasm (missing from the backend).
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { type DepthwiseAttrs, depthwiseInfo, forEachTap } from './depthwise-geometry.js';
import { asWasmBackend, f32Offset, heapF32 } from './wasm-internals.js';

function depthwiseBackpropFilter(args: { inputs: tfc.NamedTensorInfoMap; backend: unknown;
    attrs?: tfc.NamedAttrMap }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as DepthwiseAttrs & { filterShape: number[] };
  const info = depthwiseInfo(x.shape, attrs.filterShape, attrs);
  const inC = info.inChannels;
  const outC = info.outChannels;
  const chMul = outC / inC;
  // Accumulate in float64: the sums run over batch*outH*outW terms.
  const acc = new Float64Array(info.filterHeight * info.filterWidth * outC);
  const heap = heapF32(backend);
  const xOff = f32Offset(backend, x);
  const dyOff = f32Offset(backend, dy);
  forEachTap(info, (xPixel, dyPixel, tap) => {
    const xi = xOff + xPixel * inC;
    const di = dyOff + dyPixel * outC;
    const ai = tap * outC;
    for (let c = 0; c < inC; c++) {
      const xv = heap[xi + c];
      for (let m = 0; m < chMul; m++) acc[ai + c * chMul + m] += xv * heap[di + c * chMul + m];
    }
  });
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  heapF32(backend).set(acc, f32Offset(backend, out));
  return out;
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tfc.KernelFunc,
};
