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
 * - loss: objective.ts's softmaxCrossEntropyMean and its gradient (loss.ts).
 * The layers it knows: plan.ts (pure) on the facts model-facts.ts reads; the tensors: arena.ts.
 * A conv whose output holds a NaN (the tape then recomputes its pre-activation), a shape
 * our fused kernels skip, or a switch that changes what the tape runs: that step returns
 * null and the caller runs it on the tape.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { LayersModel, Optimizer, Tensor } from '../../tf.js';
import type { IoPlan } from '../../model/shapes.js';
import { tfCore as tf } from '../../backend/tfjs-require.js';
import { CONV_BIAS_RELU, MAX_POOL_RELU_GRAD, RELU_GRAD_BIAS, convBiasReluGradientsInstalled, poolReluFusionEnabled } from '../../backend/kernels/conv-bias-relu.js';
import { convBiasReluFusionEnabled } from '../../backend/kernels/fuse-conv-layers.js';
import { directConv2DEnabled, directConvInfo } from '../../backend/kernels/conv2d.js';
import { RELU_GRAD, reluGradientInstalled } from '../../backend/kernels/relu-grad.js';
import { simdKernels } from '../../backend/kernels/simd/index.js';
import { asWasmBackend, f32Offset, heapF32, heapI32, tensorData, type WasmBackendLike } from '../../backend/kernels/wasm-internals.js';
import type { DirectPlan } from './plan.js';
import { Arena, view } from './arena.js';
import { softmaxCrossEntropy } from './loss.js';
import { planOf, type Layer } from './model-facts.js';

export { directStepRefusal } from './model-facts.js';

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
    const logits = h;
    const { loss, correct, dLogits } = softmaxCrossEntropy(a, logits, yData, n, this.io.outputSize);
    let dy: TensorInfo | null = dLogits;

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
        grads[i] = [dw, db!];
      } else if (L.activation === 'relu') {
        const act = a.one(RELU_GRAD, { dy: g, x: s.y });
        a.free(g, s.y);
        const db = a.one(tf.Sum, { x: act }, { axis: [0], keepDims: false });
        dy = needDx ? a.one(tf.BatchMatMul, { a: act, b: w }, { transposeA: false, transposeB: true }) : null;
        const dw = a.one(tf.BatchMatMul, { a: s.x, b: act }, { transposeA: true, transposeB: false });
        a.free(act, lastUse(s.x));
        grads[i] = [dw, db];
      } else {
        const [k, units] = w!.shape as [number, number];
        const g3 = view(g, [1, n, units]);
        const dx = needDx ? a.one(tf.BatchMatMul, { a: g3, b: view(w!, [1, k, units]) }, { transposeA: false, transposeB: true }) : null;
        const dw = a.one(tf.BatchMatMul, { a: view(s.x, [1, n, k]), b: g3 }, { transposeA: true, transposeB: false });
        const db = a.one(tf.Sum, { x: g3 }, { axis: [0, 1], keepDims: false });
        a.free(g, lastUse(s.x));
        dy = dx == null ? null : a.reshape(dx, [n, k]);
        grads[i] = [a.reshape(dw, [k, units]), db];
      }
    }
    // Released only now: a kernel that throws (the wasm heap exhausted) leaves the arena every gradient to free.
    return { loss, correct, grads: grads.flat().map((g) => a.release(g)) };
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
      const at = f32Offset(backend, g);
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
