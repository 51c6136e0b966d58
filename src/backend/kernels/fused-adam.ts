// Adam with the per-variable update done in one JS pass over the wasm heap.
// tf.train.adam issues ~14 small kernels per variable per step (mul, add,
// square, div, sqrt, ...); on wasm each costs ~5-10 µs of engine overhead
// while the math itself is tiny, so for small models the optimizer dominates
// the step. The arithmetic below mirrors AdamOptimizer.applyGradients op for
// op, rounding to float32 after every operation (Math.fround): float32
// +,-,*,/,sqrt computed in double and rounded once are correctly rounded, as
// the wasm kernels' are, so results match tf.train.adam on wasm bit for bit.
// On any other backend it defers to the stock implementation.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { AdamGradients, AdamInternals } from '../adam-internals.js';
import { asWasmBackend, f32Offset, heapF32, tensorData, type WasmBackendLike } from './wasm-internals.js';

export class WasmFusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: AdamGradients): void {
    if (tf.getBackend() !== 'wasm') {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const backend = asWasmBackend(tf.backend());
    const f = Math.fround;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const heap0 = heapF32(backend);
    const accB1 = heap0[f32Offset(backend, self.accBeta1)]!;
    const accB2 = heap0[f32Offset(backend, self.accBeta2)]!;
    // The scalars tfjs would build from these numbers are float32.
    const k = {
      b1: f(self.beta1), omb1: f(1 - self.beta1), b2: f(self.beta2), omb2: f(1 - self.beta2),
      c1: f(1 - accB1), c2: f(1 - accB2), eps: f(self.epsilon), negLr: f(-self.learningRate),
    };
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name]!;
      self.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      self.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const gradient = Array.isArray(variableGradients)
        ? variableGradients[i]!.tensor : variableGradients[name] as tfc.Tensor | undefined;
      if (gradient == null) return;
      if (gradient.dtype !== 'float32' || value.dtype !== 'float32') {
        throw new Error(`fused Adam: ${name} is not float32`);
      }
      updateVariable(backend, value, gradient, self.accumulatedFirstMoment[i]!.variable,
        self.accumulatedSecondMoment[i]!.variable, k);
    });
    assignNew(backend, self.accBeta1, [f(accB1 * k.b1)]);
    assignNew(backend, self.accBeta2, [f(accB2 * k.b2)]);
    self.incrementIterations();
  }
}

interface AdamConstants {
  b1: number; omb1: number; b2: number; omb2: number; c1: number; c2: number; eps: number; negLr: number;
}

/**
 * Writes new value/m/v into fresh buffers and assigns them, like the stock
 * optimizer's variable.assign, when another tensor may share a variable's
 * data (a clone, a view); in place when nothing does.
 */
function updateVariable(backend: WasmBackendLike, value: tfc.Variable, gradient: tfc.Tensor,
    m: tfc.Variable, v: tfc.Variable, k: AdamConstants): void {
  const n = value.size;
  if (m.size !== n || v.size !== n || gradient.size !== n) {
    // An optimizer reused on other variables: refuse before allocating, as the stock one throws.
    throw new Error(`fused Adam: variable ${value.name} has ${n} values but its slots hold ${m.size}/${v.size}`);
  }
  // Each buffer only its variable holds (no clone or view shares it): written in place, the
  // same values, without three allocations and three assigns (engine bookkeeping) per variable.
  const inPlace = inPlaceNow() && soleOwner(backend, value) && soleOwner(backend, m) && soleOwner(backend, v);
  const outV = inPlace ? null : backend.makeOutput(value.shape, 'float32');
  const outM = inPlace ? null : backend.makeOutput(value.shape, 'float32');
  const outS = inPlace ? null : backend.makeOutput(value.shape, 'float32');
  const heap = heapF32(backend); // after allocating: malloc may grow memory
  const g0 = f32Offset(backend, gradient);
  const m0 = f32Offset(backend, m);
  const s0 = f32Offset(backend, v);
  const x0 = f32Offset(backend, value);
  const om = outM ? f32Offset(backend, outM) : m0;
  const os = outS ? f32Offset(backend, outS) : s0;
  const ox = outV ? f32Offset(backend, outV) : x0;
  const f = Math.fround;
  const { b1, omb1, b2, omb2, c1, c2, eps, negLr } = k;
  for (let i = 0; i < n; i++) {
    const g = heap[g0 + i]!;
    const mi = f(f(heap[m0 + i]! * b1) + f(g * omb1));
    const si = f(f(heap[s0 + i]! * b2) + f(f(g * g) * omb2));
    const mHat = f(mi / c1);
    const sHat = f(si / c2);
    const step = f(f(mHat / f(f(Math.sqrt(sHat)) + eps)) * negLr);
    heap[om + i] = mi;
    heap[os + i] = si;
    heap[ox + i] = f(step + heap[x0 + i]!);
  }
  if (outM && outS && outV) {
    assignInfo(m, outM);
    assignInfo(v, outS);
    assignInfo(value, outV);
  } else {
    for (const t of [m, v, value]) renewId(backend, t);
  }
}

/**
 * The backend's C++ side caches work per tensor id (XNNPACK operators holding a packed copy
 * of a matmul's or conv's weights), forgotten when the id is disposed: an in-place write
 * must do that too, or the next forward reads the old weights. The buffer stays.
 */
function renewId(backend: WasmBackendLike, t: tfc.Tensor): void {
  const d = tensorData(backend, t);
  backend.wasm.tfjs.disposeData(d.id);
  backend.wasm.tfjs.registerTensor(d.id, t.size, d.memoryOffset);
}

let inPlaceUpdates = true;
/** Tests and benches: off writes every update into fresh buffers (the assign path). */
export function setInPlaceAdam(on: boolean): void {
  inPlaceUpdates = on;
}

/**
 * Not inside tf.profile: the training loop's memory figure is the profiled step's peak, which
 * has always counted the fresh buffers; that step keeps them, so the figure stays what it was
 * (an upper bound for the in-place steps).
 */
function inPlaceNow(): boolean {
  return inPlaceUpdates && (tf.engine().state as { profiling?: boolean }).profiling !== true;
}

/** Only this variable holds its buffer: nothing else sees an in-place write. */
function soleOwner(backend: WasmBackendLike, t: tfc.Tensor): boolean {
  const b = backend as unknown as { refCount?(dataId: object): number };
  return typeof b.refCount === 'function' && b.refCount(t.dataId) === 1;
}

function assignInfo(variable: tfc.Variable, info: tfc.TensorInfo): void {
  const t = tf.engine().makeTensorFromTensorInfo(info);
  variable.assign(t);
  t.dispose();
}

function assignNew(backend: WasmBackendLike, variable: tfc.Variable, values: number[]): void {
  if (inPlaceNow() && soleOwner(backend, variable)) {
    heapF32(backend).set(values, f32Offset(backend, variable));
    renewId(backend, variable);
    return;
  }
  const out = backend.makeOutput(variable.shape, 'float32');
  heapF32(backend).set(values, f32Offset(backend, out));
  assignInfo(variable, out);
}
