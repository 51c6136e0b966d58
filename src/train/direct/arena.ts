/**
 * The direct step's tensors (runner.ts): the backend's TensorInfos, made by calling
 * registered wasm kernels straight (no engine, no Tensor objects), each owned here until
 * freed or released to the caller; whatever is left is freed when the step ends, thrown
 * or not, so a step leaves nothing allocated.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../../backend/tfjs-require.js';
import { f32Offset, heapF32, type WasmBackendLike } from '../../backend/kernels/wasm-internals.js';

/** A step's tensors, all freed at the end unless released to the caller. */
export class Arena {
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
    const at = f32Offset(this.backend, t);
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

/** The same data under another shape (a Reshape on wasm shares it too); not owned by itself. */
export const view = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });
