// DepthwiseConv2dNativeBackpropInput for wasm (missing from the backend):
// scatter-add of dy through the filter taps.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { type DepthwiseAttrs, depthwiseInfo, forEachTap } from './depthwise-geometry.js';
import { asWasmBackend, f32Offset, heapF32 } from './wasm-internals.js';

function depthwiseBackpropInput(args: { inputs: tfc.NamedTensorInfoMap; backend: unknown;
    attrs?: tfc.NamedAttrMap }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as DepthwiseAttrs & { inputShape: number[] };
  const info = depthwiseInfo(attrs.inputShape, filter.shape, attrs);
  const inC = info.inChannels;
  const outC = info.outChannels;
  const chMul = outC / inC;
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  const heap = heapF32(backend);
  const dxOff = f32Offset(backend, out);
  const dyOff = f32Offset(backend, dy);
  const wOff = f32Offset(backend, filter);
  heap.fill(0, dxOff, dxOff + tf.util.sizeFromShape(attrs.inputShape));
  forEachTap(info, (xPixel, dyPixel, tap) => {
    const xi = dxOff + xPixel * inC;
    const di = dyOff + dyPixel * outC;
    const wi = wOff + tap * outC;
    for (let c = 0; c < inC; c++) {
      let s = 0;
      for (let m = 0; m < chMul; m++) s += heap[di + c * chMul + m] * heap[wi + c * chMul + m];
      heap[xi + c] += s;
    }
  });
  return out;
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tfc.KernelFunc,
};
