/**
 * The direct training step on wasm: the kernels tfjs's tape runs for a planned model
 * (plan.ts), called straight from the kernel registry in the tape's place. The same
 * kernels on the same inputs with the same attributes give the same bits; what is left
 * out is the engine (a Tensor per result, tracking, scopes, profiling hooks), the tape
 * (recording, saved clones, gradient dispatch), tfjs-layers' call machinery (input
 * checks, name scopes) and results nothing reads (the labels' zero gradient, the data's
 * gradient in the first layer, ...). Every intermediate is freed by this step; only the
 * gradients leave it (as tensors for the optimizer, or read and freed by the caller).
 *
 * What the tape runs, per planned layer (recorded from tfjs-core 4.22 with bstune's kernels,
 * test/direct-step.test.ts holds the two paths to the same bits):
 * - conv: BstuneConv2DBiasRelu → [MaxPool]; back: BstuneMaxPoolReluGrad (with the pool) or
 *   BstuneReluGradBias, then Conv2DBackpropInput (not for the first layer) and Conv2DBackpropFilter.
 * - flatten: Reshape (a view here).
 * - dense relu: BatchMatMul, Add, Relu; back: BstuneReluGrad, Sum over rows, BatchMatMul (dx, dW).
 * - dense linear: _FusedMatMul on [1, b, k] views; back: BatchMatMul (dx, dW), Sum over [0, 1].
 * - loss (objective.ts's softmaxCrossEntropyMean): Max, Sub, Exp, Sum, Log, Add, Sub, Multiply,
 *   Neg, Sum, Sum, RealDiv; back: RealDiv, Exp, Sub, Multiply. The labels' one-hot floats are
 *   written here (OneHot then Cast give the same 0s and 1s), the accuracy is counted here
 *   (ArgMax's first-maximum rule, then exact small integer sums).
 * A conv whose output holds a NaN (the tape then recomputes its pre-activation), a shape
 * our fused kernels skip, or a switch that changes what the tape runs: that step returns
 * null and the caller runs it on the tape.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { LayersModel, Optimizer, Tensor } from '../../tf.js';
import type { IoPlan } from '../../model/shapes.js';
import { requireTf, tfCore as tf } from '../../backend/tfjs-require.js';
import { CONV_BIAS_RELU, MAX_POOL_RELU_GRAD, RELU_GRAD_BIAS, convBiasReluGradientsInstalled, poolReluFusionEnabled } from '../../backend/kernels/conv-bias-relu.js';
import { convBiasReluFusionEnabled, isFusedConvLayer } from '../../backend/kernels/fuse-conv-layers.js';
import { directConv2DEnabled, directConvInfo } from '../../backend/kernels/conv2d.js';
import { RELU_GRAD, reluGradientInstalled } from '../../backend/kernels/relu-grad.js';
import { simdKernels } from '../../backend/kernels/simd/index.js';
import { asWasmBackend, heapF32, heapI32, tensorData, type WasmBackendLike } from '../../backend/kernels/wasm-internals.js';
import { directPlan, type DirectPlan, type LayerFacts } from './plan.js';

let enabled = !(typeof process !== 'undefined' && process.env?.BSTUNE_DIRECT_STEP === '0');

/** Tests and benches: off trains every step on the tape (BSTUNE_DIRECT_STEP=0 at start-up). */
export function setDirectStep(on: boolean): void {
  enabled = on;
}

export function directStepEnabled(): boolean {
  return enabled;
}

let ran = 0;
/** Tests: how many batches' gradients the direct step computed. */
export function directStepCount(): number {
  return ran;
}

type Variable = tfc.Variable;
type LayerVariable = { read(): Tensor };
type Layer = {
  getClassName(): string; trainable: boolean; trainableWeights: unknown[]; nonTrainableWeights: unknown[];
  call?: unknown; _callHook?: unknown; strides?: number[]; poolSize?: number[]; padding?: string; dataFormat?: string;
  activation?: { getClassName(): string } | null; useBias?: boolean; units?: number; kernel?: LayerVariable | null; bias?: LayerVariable | null;
};

let stockClasses: Map<string, object> | null = null;
/** tfjs-layers' own classes of the layers plan.ts knows (a throwaway instance of each, never built). */
function stockClass(name: string): object | undefined {
  if (stockClasses == null) {
    const layers = (requireTf('@tensorflow/tfjs-layers') as typeof import('@tensorflow/tfjs-layers')).layers;
    stockClasses = new Map<string, object>([
      ['Conv2D', Object.getPrototypeOf(layers.conv2d({ filters: 1, kernelSize: 1 })) as object],
      ['MaxPooling2D', Object.getPrototypeOf(layers.maxPooling2d({ poolSize: 2 })) as object],
      ['Flatten', Object.getPrototypeOf(layers.flatten()) as object],
      ['Dense', Object.getPrototypeOf(layers.dense({ units: 1 })) as object],
    ]);
  }
  return stockClasses.get(name);
}

function factsOf(l: Layer): LayerFacts {
  const className = l.getClassName();
  const ownCall = Object.prototype.hasOwnProperty.call(l, 'call');
  const fusedConv = className === 'Conv2D' && isFusedConvLayer(l);
  const stock = Object.getPrototypeOf(l) === stockClass(className) && l._callHook == null && (!ownCall || fusedConv);
  return {
    className, stock, trainable: l.trainable, weights: l.trainableWeights.map((_, i) => String(i)), nonTrainable: l.nonTrainableWeights.length,
    fusedConv, ...(l.strides ? { strides: l.strides } : {}), ...(l.poolSize ? { poolSize: l.poolSize } : {}),
    ...(l.padding ? { padding: l.padding } : {}), ...(l.dataFormat ? { dataFormat: l.dataFormat } : {}),
    ...(l.activation ? { activation: l.activation.getClassName() } : {}), ...(l.useBias !== undefined ? { useBias: l.useBias } : {}),
    ...(l.units !== undefined ? { units: l.units } : {}),
  };
}

/** Why `model` trains on the tape under `io`, or null when the direct step knows every layer. */
export function directStepRefusal(model: LayersModel, io: IoPlan): string | null {
  const plan = planOf(model, io);
  return typeof plan === 'string' ? plan : null;
}

function planOf(model: LayersModel, io: IoPlan): { plan: DirectPlan; layers: Layer[] } | string {
  if (model.getClassName() !== 'Sequential') return 'not a Sequential model';
  const layers = model.layers as unknown as Layer[];
  const plan = directPlan(layers.map(factsOf), io, io.xShape.length);
  return typeof plan === 'string' ? plan : { plan, layers };
}

export interface DirectGradients {
  loss: number;
  correct: number;
  /** One per trainable weight, in model.trainableWeights' order; the caller frees them (free()). */
  grads: TensorInfo[];
}

interface Saved {
  x: TensorInfo;
  /** conv: its relu output (the pool's input); dense relu: the pre-activation. */
  y?: TensorInfo;
}

const POOL_ATTRS = { filterSize: [2, 2], strides: [2, 2], pad: 'valid', dimRoundingMode: undefined };

/** A step's tensors, all freed at the end unless released to the caller. */
class Arena {
  private readonly owned = new Set<TensorInfo>();
  constructor(readonly backend: WasmBackendLike) {}

  run(name: string, inputs: Record<string, TensorInfo | undefined>, attrs: object = {}): TensorInfo[] {
    const kernel = tf.getKernel(name, 'wasm');
    if (kernel == null) throw new Error(`bstune direct step: wasm kernel ${name} missing`);
    const out = kernel.kernelFunc({ inputs: inputs as tfc.NamedTensorInfoMap, backend: this.backend as unknown as tfc.KernelBackend, attrs: attrs as tfc.NamedAttrMap });
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) this.owned.add(o);
    return outs;
  }

  one(name: string, inputs: Record<string, TensorInfo | undefined>, attrs?: object): TensorInfo {
    return this.run(name, inputs, attrs)[0]!;
  }

  /** A float32 tensor holding `values` (or 0s). */
  floats(shape: number[], values?: ArrayLike<number>): TensorInfo {
    const t = this.backend.makeOutput(shape, 'float32');
    this.owned.add(t);
    const at = tensorData(this.backend, t).memoryOffset >>> 2;
    const heap = heapF32(this.backend);
    if (values) heap.set(values, at);
    else heap.fill(0, at, at + tf.util.sizeFromShape(shape));
    return t;
  }

  free(...ts: (TensorInfo | null | undefined)[]): void {
    for (const t of ts) if (t != null && this.owned.delete(t)) this.backend.disposeData(t.dataId);
  }

  /** An owned tensor under another shape (its data shared): the new object is the owned one. */
  reshape(t: TensorInfo, shape: number[]): TensorInfo {
    this.release(t);
    const v = view(t, shape);
    this.owned.add(v);
    return v;
  }

  owns(t: TensorInfo): boolean {
    return this.owned.has(t);
  }

  release(t: TensorInfo): TensorInfo {
    if (!this.owned.delete(t)) throw new Error('bstune direct step: released a tensor it does not own');
    return t;
  }

  freeAll(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId);
    this.owned.clear();
  }
}

const view = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });
const f32At = (backend: WasmBackendLike, t: TensorInfo): number => tensorData(backend, t).memoryOffset >>> 2;

/** A 2x2-pooled NHWC float32 tensor BstuneMaxPoolReluGrad covers (conv-bias-relu.ts's poolFits). */
function poolFits(shape: number[]): boolean {
  const [nb, h, w, c] = shape as [number, number, number, number];
  return shape.length === 4 && nb > 0 && h > 0 && w > 0 && h % 2 === 0 && w % 2 === 0 && c > 0 && c <= 16 && c % 4 === 0;
}

export class DirectStep {
  /** Index into the step's gradients of each weight, in the engine's registration order (what variableGrads' map keeps). */
  private order: number[] | null = null;
  private orderOf: Variable[] = [];
  /** Per batch size: whether the fused kernels take every layer's shapes (else the tape runs it). */
  private readonly fits = new Map<number, boolean>();

  private constructor(private readonly plan: DirectPlan, private readonly layers: Layer[], private readonly io: IoPlan) {}

  /** The direct step for `model` under `io`, or null when the tape must train it (plan.ts) or the switch is off. */
  static of(model: LayersModel, io: IoPlan): DirectStep | null {
    if (!enabled) return null;
    const p = planOf(model, io);
    if (typeof p === 'string') return null;
    // Planned layers' weights, in order, must be the model's trainable weights.
    const mine = p.layers.flatMap((l) => (l.kernel != null && l.trainableWeights.length === 2 ? [l.kernel, l.bias] : []));
    const theirs = model.trainableWeights as unknown[];
    if (mine.length !== theirs.length || mine.some((w, i) => w !== theirs[i])) return null;
    return new DirectStep(p.plan, p.layers.filter((l) => l.getClassName() !== 'MaxPooling2D'), io);
  }

  /**
   * Whether what the tape would run is what this step replays (switches, backend, gradients).
   * Not inside tf.profile: its peak counts the engine's tensors, which this step's are not, so
   * a profiled step (the loop's memory figure) runs on the tape and reads its peak honestly
   * (this step holds no tensor the tape does not).
   */
  private usable(): WasmBackendLike | null {
    if (!enabled || (tf.engine().state as { profiling?: boolean }).profiling === true || tf.getBackend() !== 'wasm' || !directConv2DEnabled() || !convBiasReluFusionEnabled() || !poolReluFusionEnabled() ||
        !convBiasReluGradientsInstalled() || !reluGradientInstalled() || tf.getKernel(CONV_BIAS_RELU, 'wasm') == null) return null;
    const backend = asWasmBackend(tf.backend());
    return simdKernels(backend) == null ? null : backend;
  }

  /**
   * The mean loss of n samples (x: n × sampleSize floats, y: n class indices), their
   * correct count and the gradients, as the tape computes them; null when this batch
   * must run on the tape (nothing is left allocated then).
   */
  gradients(xData: Float32Array, yData: Int32Array | Float32Array, n: number): DirectGradients | null {
    const backend = this.usable();
    if (backend == null || !(yData instanceof Int32Array) || n < 1 || !this.shapesFit(n)) return null;
    const a = new Arena(backend);
    try {
      const out = this.run(a, xData, yData, n);
      if (out != null) ran++;
      return out;
    } finally {
      a.freeAll();
    }
  }

  /** The shapes each layer sees at batch n fit the kernels the tape would run (directConvInfo, the pool gradient's cases). */
  private shapesFit(n: number): boolean {
    let fit = this.fits.get(n);
    if (fit !== undefined) return fit;
    fit = true;
    let shape = [n, ...this.io.xShape];
    for (const [i, L] of this.plan.layers.entries()) {
      const l = this.layers[i]!;
      if (L.kind === 'conv') {
        const filter = l.kernel!.read();
        const bias = l.bias!.read();
        const info = directConvInfo({ dataId: {}, shape, dtype: 'float32' }, filter, { strides: L.strides, pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
        if (info == null || bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== info.outChannels || (L.pool && !poolFits(info.outShape))) {
          fit = false;
          break;
        }
        shape = L.pool ? [n, info.outHeight >> 1, info.outWidth >> 1, info.outChannels] : info.outShape;
      } else if (L.kind === 'flatten') {
        shape = [n, tf.util.sizeFromShape(shape) / n];
      } else {
        const w = l.kernel!.read();
        if (w.dtype !== 'float32' || w.shape.length !== 2 || w.shape[0] !== shape[1]) {
          fit = false;
          break;
        }
        shape = [n, w.shape[1]!];
      }
    }
    if (fit && shape[1] !== this.io.outputSize) fit = false;
    this.fits.set(n, fit);
    return fit;
  }

  private run(a: Arena, xData: Float32Array, yData: Int32Array, n: number): DirectGradients | null {
    const { backend } = a;
    const sample = tf.util.sizeFromShape(this.io.xShape);
    if (xData.length < n * sample || yData.length < n) return null;
    const x = a.floats([n, ...this.io.xShape], xData.subarray(0, n * sample));
    const vars = this.layers.map((l) => (l.kernel != null ? [l.kernel.read(), l.bias!.read()] : []));
    const saved: Saved[] = [];
    let h = x;
    // Forward, as the layers' calls run it under the tape.
    for (const [i, L] of this.plan.layers.entries()) {
      const [w, b] = vars[i]!;
      if (L.kind === 'conv') {
        const [y, nan] = a.run(CONV_BIAS_RELU, { x: h, filter: w, bias: b }, L.pool ? { strides: L.strides, pool2x2: true } : { strides: L.strides });
        // A NaN pre-activation: the tape's gradient recomputes it; so does the tape here.
        if (heapI32(backend)[tensorData(backend, nan!).memoryOffset >>> 2] !== 0) return null;
        a.free(nan);
        saved.push({ x: h, y: y! });
        h = L.pool ? a.one(tf.MaxPool, { x: y }, POOL_ATTRS) : y!;
      } else if (L.kind === 'flatten') {
        saved.push({ x: h });
        h = view(h, [n, tf.util.sizeFromShape(h.shape) / n]);
      } else if (L.activation === 'relu') {
        const mm = a.one(tf.BatchMatMul, { a: h, b: w }, { transposeA: false, transposeB: false });
        const pre = a.one(tf.Add, { a: mm, b });
        a.free(mm);
        saved.push({ x: h, y: pre });
        h = a.one(tf.Relu, { x: pre });
      } else {
        const [k, units] = w!.shape as [number, number];
        saved.push({ x: h });
        const out = a.one(tf._FusedMatMul, { a: view(h, [1, n, k]), b: view(w!, [1, k, units]), bias: b, preluActivationWeights: undefined },
          { transposeA: false, transposeB: false, activation: 'linear', leakyreluAlpha: 0.2 });
        h = view(out, [n, units]);
      }
    }
    const classes = this.io.outputSize;
    const logits = h;
    const correct = countCorrect(heapF32(backend), f32At(backend, logits), yData, n, classes);
    // softmaxCrossEntropyMean (objective.ts) and its gradient.
    const oneHot = new Float32Array(n * classes);
    for (let r = 0; r < n; r++) {
      const c = yData[r]!;
      if (c >= 0 && c < classes) oneHot[r * classes + c] = 1;
    }
    const labels = a.floats([n, classes], oneHot);
    const max = a.one(tf.Max, { x: logits }, { reductionIndices: [1], keepDims: true });
    const shifted = a.one(tf.Sub, { a: logits, b: max });
    const exps = a.one(tf.Exp, { x: shifted });
    a.free(shifted);
    const sums = a.one(tf.Sum, { x: exps }, { axis: [1], keepDims: false });
    a.free(exps);
    const logs = a.one(tf.Log, { x: sums });
    a.free(sums);
    const lse = a.one(tf.Add, { a: view(max, [n]), b: logs });
    a.free(max, logs);
    const logResult = a.one(tf.Sub, { a: logits, b: view(lse, [n, 1]) });
    a.free(lse);
    const products = a.one(tf.Multiply, { a: logResult, b: labels });
    const negs = a.one(tf.Neg, { x: products });
    a.free(products);
    const costs = a.one(tf.Sum, { x: negs }, { axis: [1], keepDims: false });
    a.free(negs);
    const total = a.one(tf.Sum, { x: costs }, { axis: null, keepDims: false });
    a.free(costs);
    const rows = a.floats([], [n]);
    const lossT = a.one(tf.RealDiv, { a: total, b: rows });
    const loss = heapF32(backend)[f32At(backend, lossT)]!;
    a.free(total, lossT);
    const one = a.floats([], [1]);
    const scale = a.one(tf.RealDiv, { a: one, b: rows });
    a.free(one, rows);
    const softmax = a.one(tf.Exp, { x: logResult });
    a.free(logResult);
    const diff = a.one(tf.Sub, { a: softmax, b: labels });
    a.free(softmax, labels);
    let dy: TensorInfo | null = a.one(tf.Multiply, { a: scale, b: diff });
    a.free(scale, diff);

    // Backward, layer by layer from the last, as the tape's gradient functions run.
    const grads: TensorInfo[][] = this.plan.layers.map(() => []);
    const firstWeighted = this.plan.weightCounts.findIndex((c) => c > 0);
    for (let i = this.plan.layers.length - 1; i >= 0; i--) {
      const L = this.plan.layers[i]!;
      const s = saved[i]!;
      // A layer's input is freed once its gradient is taken, unless the layer before still needs it (a conv's y).
      const lastUse = (t: TensorInfo): TensorInfo | null => (saved[i - 1]?.y === t ? null : t);
      const [w] = vars[i]!;
      const needDx = i > firstWeighted;
      const g: TensorInfo = dy!;
      if (L.kind === 'flatten') {
        dy = a.owns(g) ? a.reshape(g, s.x.shape) : view(g, s.x.shape);
        continue;
      }
      if (L.kind === 'conv') {
        const [act, db] = a.run(L.pool ? MAX_POOL_RELU_GRAD : RELU_GRAD_BIAS, L.pool ? { dy: g, x: s.y } : { dy: g, y: s.y });
        a.free(g, s.y);
        const conv = { strides: L.strides, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined };
        dy = needDx ? a.one(tf.Conv2DBackpropInput, { dy: act, filter: w }, { ...conv, inputShape: s.x.shape }) : null;
        const dw = a.one(tf.Conv2DBackpropFilter, { x: s.x, dy: act }, { ...conv, filterShape: w!.shape });
        a.free(act, lastUse(s.x));
        grads[i] = [a.release(dw), a.release(db!)];
      } else if (L.activation === 'relu') {
        const act = a.one(RELU_GRAD, { dy: g, x: s.y });
        a.free(g, s.y);
        const db = a.one(tf.Sum, { x: act }, { axis: [0], keepDims: false });
        dy = needDx ? a.one(tf.BatchMatMul, { a: act, b: w }, { transposeA: false, transposeB: true }) : null;
        const dw = a.one(tf.BatchMatMul, { a: s.x, b: act }, { transposeA: true, transposeB: false });
        a.free(act, lastUse(s.x));
        grads[i] = [a.release(dw), a.release(db)];
      } else {
        const [k, units] = w!.shape as [number, number];
        const g3 = view(g, [1, n, units]);
        const dx = needDx ? a.one(tf.BatchMatMul, { a: g3, b: view(w!, [1, k, units]) }, { transposeA: false, transposeB: true }) : null;
        const dw = a.one(tf.BatchMatMul, { a: view(s.x, [1, n, k]), b: g3 }, { transposeA: true, transposeB: false });
        const db = a.one(tf.Sum, { x: g3 }, { axis: [0, 1], keepDims: false });
        a.free(g, lastUse(s.x));
        dy = dx == null ? null : a.reshape(dx, [n, k]);
        grads[i] = [a.release(a.reshape(dw, [k, units])), a.release(db)];
      }
    }
    return { loss, correct, grads: grads.flat() };
  }

  /** Frees gradients a caller took from gradients(). */
  free(grads: TensorInfo[]): void {
    const backend = asWasmBackend(tf.backend());
    for (const g of grads) backend.disposeData(g.dataId);
  }

  /** into[i] += g[i] · scale over the gradients laid end to end (as a replica sums dataSync()'s values), then frees them. */
  addScaled(grads: TensorInfo[], into: Float32Array, scale: number): void {
    const backend = asWasmBackend(tf.backend());
    const heap = heapF32(backend);
    let off = 0;
    for (const g of grads) {
      const at = f32At(backend, g);
      const size = tf.util.sizeFromShape(g.shape);
      for (let i = 0; i < size; i++) into[off + i] = into[off + i]! + heap[at + i]! * scale;
      off += size;
    }
    this.free(grads);
  }

  /**
   * gradients() as tensors keyed as tf.variableGrads keys them: by variable name, in the
   * engine's registration order (Adam keeps its moments by position in that map). The
   * caller disposes them. Null when the batch must run on the tape.
   */
  gradientTensors(xData: Float32Array, yData: Int32Array | Float32Array, n: number): { loss: number; correct: number; grads: Record<string, Tensor> } | null {
    const g = this.gradients(xData, yData, n);
    if (g == null) return null;
    const engine = tf.engine();
    const tensors = g.grads.map((info) => engine.makeTensorFromTensorInfo(info) as unknown as Tensor);
    const vars = this.layers.flatMap((l) => (l.kernel != null ? [l.kernel.read(), l.bias!.read()] : [])) as unknown as Variable[];
    const grads: Record<string, Tensor> = {};
    for (const j of this.registrationOrder(vars)) grads[vars[j]!.name] = tensors[j]!;
    return { loss: g.loss, correct: g.correct, grads };
  }

  /** optimizer.minimize's step on one batch; null when it must run on the tape (nothing was applied). */
  step(optimizer: Optimizer, xData: Float32Array, yData: Int32Array | Float32Array, n: number): { loss: number; correct: number } | null {
    const g = this.gradientTensors(xData, yData, n);
    if (g == null) return null;
    try {
      optimizer.applyGradients(g.grads);
    } finally {
      tf.dispose(Object.values(g.grads) as unknown as tfc.Tensor[]);
    }
    return { loss: g.loss, correct: g.correct };
  }

  private registrationOrder(vars: Variable[]): number[] {
    if (this.order == null || vars.some((v, i) => v !== this.orderOf[i])) {
      const position = new Map(Object.keys(tf.engine().registeredVariables).map((name, i) => [name, i]));
      this.order = vars.map((_, i) => i).sort((p, q) => (position.get(vars[p]!.name) ?? 0) - (position.get(vars[q]!.name) ?? 0));
      this.orderOf = vars;
    }
    return this.order;
  }
}

/** Rows whose first maximum (ArgMax's rule) is the label: exact, as the tape's float sum of 0s and 1s is. */
function countCorrect(heap: Float32Array, at: number, labels: Int32Array, n: number, classes: number): number {
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const row = at + r * classes;
    let best = heap[row]!;
    let arg = 0;
    for (let c = 1; c < classes; c++) {
      const v = heap[row + c]!;
      if (v > best) {
        best = v;
        arg = c;
      }
    }
    if (arg === labels[r]) correct++;
  }
  return correct;
}
