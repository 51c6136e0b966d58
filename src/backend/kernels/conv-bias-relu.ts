// Conv2D + bias + relu as one wasm kernel for training. tfjs-core runs a relu
// conv unfused while gradients are recorded (Conv2D, Add, Relu: two full-size
// temporaries, and Relu's gradient then a Sum for the bias on the way back).
// BstuneConv2DBiasRelu stores relu(conv + bias) straight from our direct conv
// (conv_fwd's epilogue: Add's and Relu's float operations, so the same bits);
// its gradient runs one pass for dy * step(y) and the bias sum (relu_grad's and
// sum_rows's operations and order), then the stock gradient's own kernels.
// fuse-conv-layers.ts decides when a layer uses it.
// A 2x2 max pool right after it (the usual CNN block) goes one step further:
// the pool's gradient (BstuneMaxPoolReluGrad) also applies the relu mask and
// sums the bias gradient while its rows are in cache, so the conv's gradient
// takes both as they are (same operations, same order, same bits).
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { directConvInfo, type ConvAttrs } from './conv2d.js';
import { RELU_GRAD } from './relu-grad.js';
import { simdKernels } from './simd/index.js';
import { asWasmBackend, dispose, heapI32, tensorData } from './wasm-internals.js';

export const CONV_BIAS_RELU = 'BstuneConv2DBiasRelu';
export const RELU_GRAD_BIAS = 'BstuneReluGradBias';
export const MAX_POOL_RELU_GRAD = 'BstuneMaxPoolReluGrad';

// Data of our kernel's relu outputs; the attrs of MaxPool calls on them (tfjs
// hands a kernel and its gradient the same attrs object; the gradient's saved x
// is a copy, on wasm with data of its own); the bias gradients the pool's
// gradient computed, keyed by the dx it returned (the conv's dy when the pool is
// y's only user).
const reluOutputs = new WeakSet<object>();
const poolsOfRelu = new WeakSet<object>();
const pooledBiasGrads = new WeakMap<tfc.Tensor, tfc.Tensor>();
/**
 * Forward pool fusion: when fuse-conv-layers sees a 2x2 stride-2 valid MaxPooling2D right after the
 * fused conv (attr pool2x2), the conv runs in chunks of images (~64 KB of output) and pools each chunk
 * with max_pool_2x2_c8 while it is in cache; the next MaxPool call on that output returns the stashed
 * result (the same pmax operations, so the same bits). At most one stash waits: a new one frees an
 * unclaimed one. Switch: BSTUNE_FUSE_POOLFWD=0 / setPoolForwardFusion(false).
 */
let poolForward = !(typeof process !== 'undefined' && process.env?.BSTUNE_FUSE_POOLFWD === '0');
let pendingPool: { key: object; shape: number[]; out: TensorInfo; backend: ReturnType<typeof asWasmBackend> } | null = null;

let pooledTaken = 0;
/** Tests: how many MaxPool calls returned a pool computed with the conv. */
export function pooledForwardCount(): number {
  return pooledTaken;
}

/** Tests and benches: off runs the conv in one call and MaxPool on its own (today's path). */
export function setPoolForwardFusion(on: boolean): void {
  poolForward = on;
}

/** Called by the wasm MaxPool kernel (2x2 stride 2 valid, float32): the pooled y computed with x, or null. */
export function takePooled(x: TensorInfo, outShape: number[]): TensorInfo | null {
  const p = pendingPool;
  if (p == null || p.key !== x.dataId) return null;
  pendingPool = null;
  // A reshape shares the conv output's data: only a pool of the conv output's own shape is the stash.
  if (tf.util.arraysEqual(p.shape, x.shape) && tf.util.arraysEqual(p.out.shape, outShape)) {
    pooledTaken++;
    return p.out;
  }
  dispose(p.backend, p.out);
  return null;
}

let poolFusion = !(typeof process !== 'undefined' && process.env?.BSTUNE_FUSE_POOL === '0');

/** Called by the wasm MaxPool kernel with each call's input and attrs. */
export function noteMaxPoolInput(x: TensorInfo, attrs: object | undefined): void {
  if (attrs != null && reluOutputs.has(x.dataId)) poolsOfRelu.add(attrs);
}

/** Tests and benches: off gives MaxPool its stock gradient after the fused conv too. */
export function setPoolReluFusion(on: boolean): void {
  poolFusion = on;
}

/** Whether MaxPool's gradient after the fused conv is BstuneMaxPoolReluGrad (BSTUNE_FUSE_POOL, setPoolReluFusion). */
export function poolReluFusionEnabled(): boolean {
  return poolFusion;
}

/** Attributes of BstuneConv2DBiasRelu: always NHWC, unpadded, dilation 1. */
export interface ConvBiasReluAttrs {
  strides: [number, number];
  /** A 2x2 stride-2 valid max pool takes this output next (fuse-conv-layers): pool it here too. */
  pool2x2?: boolean;
}

const convAttrs = (strides: [number, number]): ConvAttrs => ({ strides, pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });

type Args = { inputs: tfc.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

/** Outputs [y, nan]: nan (int32 [1]) is 1 when some conv + bias was NaN. */
function convBiasRelu(args: Args): TensorInfo[] {
  const { x, filter, bias } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  const { strides, pool2x2 } = args.attrs as ConvBiasReluAttrs;
  const backend = asWasmBackend(args.backend);
  const simd = simdKernels(backend);
  const info = directConvInfo(x, filter, convAttrs(strides));
  if (simd == null || info == null || bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== info.outChannels) {
    throw new Error(`bstune kernels: ${CONV_BIAS_RELU} called outside its cases (fuse-conv-layers.ts checks them)`);
  }
  const out = backend.makeOutput(info.outShape, 'float32');
  const nan = backend.makeOutput([1], 'int32');
  const nanOffset = tensorData(backend, nan).memoryOffset;
  heapI32(backend)[nanOffset >>> 2] = 0;
  const c = info.outChannels;
  const pool = poolForward && pool2x2 === true && c % 8 === 0 && info.outHeight >= 2 && info.outWidth >= 2;
  if (pool && pendingPool != null) {
    dispose(pendingPool.backend, pendingPool.out);
    pendingPool = null;
  }
  const ph = info.outHeight >> 1, pw = info.outWidth >> 1;
  const pooled = pool ? backend.makeOutput([info.batchSize, ph, pw, c], 'float32') : null;
  const xImg = info.inHeight * info.inWidth * info.inChannels * 4;
  const yImg = info.outHeight * info.outWidth * c * 4;
  const pImg = ph * pw * c * 4;
  // Pooling: images in ~64 KB chunks of output, each pooled while in cache; else the whole batch at once.
  const chunk = pool ? Math.max(1, Math.floor(65536 / yImg)) : info.batchSize;
  const x0 = tensorData(backend, x).memoryOffset, y0 = tensorData(backend, out).memoryOffset;
  const f0 = tensorData(backend, filter).memoryOffset, b0 = tensorData(backend, bias).memoryOffset;
  for (let b = 0; b < info.batchSize; b += chunk) {
    const nb = Math.min(chunk, info.batchSize - b);
    simd.conv_fwd(x0 + b * xImg, f0, y0 + b * yImg, nb, info.inHeight, info.inWidth,
      info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
      info.strideHeight, info.strideWidth, c, b0, nanOffset);
    if (pooled != null) {
      simd.max_pool_2x2_c8(y0 + b * yImg, tensorData(backend, pooled).memoryOffset + b * pImg, nb,
        info.outHeight, info.outWidth, c, ph, pw);
    }
  }
  if (pooled != null) pendingPool = { key: out.dataId, shape: [...out.shape], out: pooled, backend };
  reluOutputs.add(out.dataId);
  return [out, nan];
}

/** Outputs [dy * step(y), its sums over every axis but the last]. */
function reluGradBias(args: Args): TensorInfo[] {
  const { dy, y } = args.inputs as { dy: TensorInfo; y: TensorInfo };
  const backend = asWasmBackend(args.backend);
  const simd = simdKernels(backend);
  if (simd == null) throw new Error(`bstune kernels: ${RELU_GRAD_BIAS} needs the SIMD kernels`);
  const cols = y.shape[y.shape.length - 1]!;
  const n = tf.util.sizeFromShape(y.shape);
  const out = backend.makeOutput(y.shape, 'float32');
  const sum = backend.makeOutput([cols], 'float32');
  const dyAt = tensorData(backend, dy).memoryOffset;
  const yAt = tensorData(backend, y).memoryOffset;
  const outAt = tensorData(backend, out).memoryOffset;
  const sumAt = tensorData(backend, sum).memoryOffset;
  if (cols > 0 && cols <= 16 && cols % 4 === 0) {
    simd.relu_grad_bias(dyAt, yAt, outAt, sumAt, n / cols, cols);
  } else {
    // Wider layers: the same two kernels the unfused gradient runs (relu grad, then Sum).
    simd.relu_grad(dyAt, yAt, outAt, n);
    const tmp = backend.makeOutput([cols], 'float32');
    try {
      simd.sum_rows(outAt, sumAt, tensorData(backend, tmp).memoryOffset, n / cols, cols);
    } finally {
      dispose(backend, tmp);
    }
  }
  return [out, sum];
}

/** Outputs [MaxPoolGrad(dy, x) * step(x), its sums over every axis but the last]. */
function maxPoolReluGrad(args: Args): TensorInfo[] {
  const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
  const backend = asWasmBackend(args.backend);
  const simd = simdKernels(backend);
  const [nb, h, w, c] = x.shape as [number, number, number, number];
  if (simd == null || !poolFits(x)) throw new Error(`bstune kernels: ${MAX_POOL_RELU_GRAD} called outside its cases`);
  const dx = backend.makeOutput(x.shape, 'float32');
  const sum = backend.makeOutput([c], 'float32');
  const tmp = backend.makeOutput([c], 'float32');
  try {
    simd.max_pool_grad_2x2_relu_bias(tensorData(backend, x).memoryOffset, tensorData(backend, dy).memoryOffset,
      tensorData(backend, dx).memoryOffset, tensorData(backend, sum).memoryOffset, tensorData(backend, tmp).memoryOffset,
      nb, h, w, c, h / 2, w / 2);
  } finally {
    dispose(backend, tmp);
  }
  return [dx, sum];
}

/** A float32 NHWC x that 2x2 windows cover exactly, with 4, 8, 12 or 16 channels. */
function poolFits(x: TensorInfo): boolean {
  const [nb, h, w, c] = x.shape;
  return x.dtype === 'float32' && x.shape.length === 4 && nb! > 0 && h! > 0 && w! > 0 && h! % 2 === 0 && w! % 2 === 0 &&
    c! > 0 && c! <= 16 && c! % 4 === 0;
}

export const maxPoolReluGradKernelConfig: KernelConfig = {
  kernelName: MAX_POOL_RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: maxPoolReluGrad as unknown as tfc.KernelFunc,
};

export const convBiasReluKernelConfig: KernelConfig = {
  kernelName: CONV_BIAS_RELU,
  backendName: 'wasm',
  kernelFunc: convBiasRelu as unknown as tfc.KernelFunc,
};

export const reluGradBiasKernelConfig: KernelConfig = {
  kernelName: RELU_GRAD_BIAS,
  backendName: 'wasm',
  kernelFunc: reluGradBias as unknown as tfc.KernelFunc,
};

const run = (name: string, inputs: tfc.NamedTensorMap, attrs: object = {}): tfc.Tensor | tfc.Tensor[] =>
  tf.engine().runKernel(name, inputs, attrs as tfc.NamedAttrMap) as tfc.Tensor | tfc.Tensor[];

export const convBiasReluGradConfig: tfc.GradConfig = {
  kernelName: CONV_BIAS_RELU,
  inputsToSave: ['x', 'filter', 'bias'],
  outputsToSave: [true, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, filter, bias, y, nan] = saved as tfc.Tensor[];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tfc.Tensor;
    const { strides } = attrs as unknown as ConvBiasReluAttrs;
    let dyAct: tfc.Tensor;
    let db: tfc.Tensor;
    const pooled = pooledBiasGrads.get(dy);
    if (nan!.dataSync()[0] === 0 && pooled != null) {
      dyAct = dy;
      db = pooled;
    } else if (nan!.dataSync()[0] === 0) {
      [dyAct, db] = run(RELU_GRAD_BIAS, { dy, y: y! }) as [tfc.Tensor, tfc.Tensor];
    } else {
      // A NaN pre-activation with its sign bit set became +0 in y, where the
      // unfused gradient multiplies by that NaN: recompute it, as they would
      // (a pooled dy is already masked: masking again changes no bits).
      const pre = tf.add(tf.conv2d(x as tfc.Tensor4D, filter as tfc.Tensor4D, strides, 'valid'), bias!);
      dyAct = run(RELU_GRAD, { dy, x: pre }) as tfc.Tensor;
      db = tf.sum(dyAct, [0, 1, 2]);
    }
    // Conv2D's own gradient (tfjs-core's conv2DGradConfig) on dyAct.
    const conv = { strides, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined };
    return {
      x: () => run(tf.Conv2DBackpropInput, { dy: dyAct, filter: filter! }, { ...conv, inputShape: x!.shape }) as tfc.Tensor,
      filter: () => run(tf.Conv2DBackpropFilter, { x: x!, dy: dyAct }, { ...conv, filterShape: filter!.shape }) as tfc.Tensor,
      bias: () => db,
    };
  },
};

const same = (v: unknown, n: number): boolean => (Array.isArray(v) ? v : [v, v]).every((d) => d === n);
let stockMaxPoolGradient: tfc.GradConfig | undefined;

// MaxPool's gradient: after our fused conv (x is its relu output), 2x2 stride-2
// valid windows run BstuneMaxPoolReluGrad; every other case runs tfjs's own.
const maxPoolGradient: tfc.GradConfig = {
  kernelName: tf.MaxPool,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tfc.Tensor[];
    const a = attrs as unknown as { filterSize: unknown; strides: unknown; pad: unknown };
    const g = dy as tfc.Tensor;
    if (poolFusion && x != null && poolsOfRelu.has(attrs) && same(a.filterSize, 2) && same(a.strides, 2) &&
        a.pad === 'valid' && poolFits(x) && g.dtype === 'float32' && tf.getBackend() === 'wasm' &&
        simdKernels(asWasmBackend(tf.backend())) != null) {
      const [dx, db] = run(MAX_POOL_RELU_GRAD, { dy: g, x }) as [tfc.Tensor, tfc.Tensor];
      pooledBiasGrads.set(dx, db);
      return { x: () => dx };
    }
    if (stockMaxPoolGradient == null) throw new Error('bstune kernels: stock MaxPool gradient missing');
    return stockMaxPoolGradient.gradFunc(dy, saved, attrs);
  },
};

/** Whether the gradients above are the registered ones (src/train/direct replays what they run). */
export function convBiasReluGradientsInstalled(): boolean {
  return tf.getGradient(CONV_BIAS_RELU) === convBiasReluGradConfig && tf.getGradient(tf.MaxPool) === maxPoolGradient;
}

/** Idempotent: registers the fused op's gradient and MaxPool's (above). */
export function installConvBiasReluGradients(): void {
  if (tf.getGradient(CONV_BIAS_RELU) !== convBiasReluGradConfig) tf.registerGradient(convBiasReluGradConfig);
  const current = tf.getGradient(tf.MaxPool);
  if (current === maxPoolGradient) return;
  stockMaxPoolGradient = current;
  tf.registerGradient(maxPoolGradient);
}
