// UnsortedSegmentSum for wasm (missing from tfjs-backend-wasm): a single
// scatter-add pass over the heap. Ids outside [0, numSegments) are dropped,
// matching TensorFlow.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { asWasmBackend, heapF32, heapI32, tensorData } from './wasm-internals.js';

function unsortedSegmentSum(args: { inputs: tfc.NamedTensorInfoMap; backend: unknown;
    attrs?: tfc.NamedAttrMap }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = Number((args.attrs as { numSegments: number }).numSegments);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`wasm UnsortedSegmentSum: unsupported dtype ${x.dtype}`);
  }
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const inner = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const heap = x.dtype === 'float32' ? heapF32(backend) : heapI32(backend);
  const ids = heapI32(backend);
  const xOff = tensorData(backend, x).memoryOffset >>> 2;
  const idOff = tensorData(backend, segmentIds).memoryOffset >>> 2;
  const oOff = tensorData(backend, out).memoryOffset >>> 2;
  heap.fill(0, oOff, oOff + numSegments * inner);
  for (let r = 0; r < rows; r++) {
    const s = ids[idOff + r];
    if (s < 0 || s >= numSegments) continue;
    const src = xOff + r * inner;
    const dst = oOff + s * inner;
    for (let i = 0; i < inner; i++) heap[dst + i] += heap[src + i];
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tfc.KernelFunc,
};
