// The Relu gradient in one pass on wasm. tfjs-core computes it as
// mul(dy, cast(step(x))): three kernels and two full-size temporaries per
// relu layer (Step and Multiply were ~0.45 ms of the MNIST CNN's step at batch
// 128). On wasm with float32 operands our gradient runs one kernel,
// BstuneReluGrad, with the same bits (dy * step(x), Step's NaN rule
// included); on every other backend, dtype or shape it calls tfjs's own
// gradient unchanged.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { simdKernels } from './simd/index.js';
import { asWasmBackend, f32Offset, heapF32, tensorData } from './wasm-internals.js';

export const RELU_GRAD = 'BstuneReluGrad';

function reluGrad(args: { inputs: tfc.NamedTensorInfoMap; backend: unknown }): TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const simd = simdKernels(backend);
  if (simd) {
    simd.relu_grad(tensorData(backend, dy).memoryOffset, tensorData(backend, x).memoryOffset,
      tensorData(backend, out).memoryOffset, n);
    return out;
  }
  const heap = heapF32(backend);
  const d = f32Offset(backend, dy);
  const xo = f32Offset(backend, x);
  const o = f32Offset(backend, out);
  for (let i = 0; i < n; i++) {
    const v = heap[xo + i]!;
    heap[o + i] = heap[d + i]! * (v > 0 ? 1 : Number.isNaN(v) ? NaN : 0);
  }
  return out;
}

export const reluGradKernelConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad as unknown as tfc.KernelFunc,
};

let stockGradient: tfc.GradConfig | undefined;

const reluGradient: tfc.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tfc.Tensor[];
    const g = dy as tfc.Tensor;
    if (tf.getBackend() === 'wasm' && x != null && x.dtype === 'float32' && g.dtype === 'float32' &&
        tf.util.arraysEqual(x.shape, g.shape)) {
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tfc.Tensor };
    }
    if (stockGradient == null) throw new Error('bstune kernels: stock Relu gradient missing');
    return stockGradient.gradFunc(dy, saved, attrs);
  },
};

// Second order (unused by training, kept correct): d/d(dy) = step(x), d/dx = 0.
const reluGradGradient: tfc.GradConfig = {
  kernelName: RELU_GRAD,
  inputsToSave: ['x'],
  gradFunc: (ddx, saved) => {
    const [x] = saved as tfc.Tensor[];
    return {
      dy: () => tf.mul(ddx as tfc.Tensor, tf.cast(tf.step(x as tfc.Tensor), 'float32')),
      x: () => tf.zerosLike(x as tfc.Tensor),
    };
  },
};

/** Whether Relu's registered gradient is the one above (src/train/direct replays it). */
export function reluGradientInstalled(): boolean {
  return tf.getGradient(tf.Relu) === reluGradient;
}

/** Idempotent: routes the Relu gradient through BstuneReluGrad on wasm. */
export function installReluGradient(): void {
  const current = tf.getGradient(tf.Relu);
  if (current === reluGradient) return;
  stockGradient = current;
  tf.registerGradient(reluGradient);
  tf.registerGradient(reluGradGradient);
}
