// Typed access to the parts of tfjs-backend-wasm that custom kernels need.
// The backend class does not expose these publicly, so we describe them
// structurally and check at runtime that the shape is what we expect.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';

export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tfc.DataType;
}

type WasmArg = 'number' | 'array';
type WasmFn = (...args: Array<number | Uint8Array>) => void;

export interface WasmModuleLike {
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  cwrap(name: string, returnType: null, argTypes: WasmArg[]): WasmFn;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

export interface WasmBackendLike {
  wasm: WasmModuleLike;
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: tfc.DataType): tfc.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function asWasmBackend(backend: unknown): WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  if (b == null || b.wasm == null || b.dataIdMap == null ||
      typeof b.makeOutput !== 'function') {
    throw new Error('bstune kernels: expected the tfjs wasm backend');
  }
  return b as WasmBackendLike;
}

export function tensorData(backend: WasmBackendLike, t: tfc.TensorInfo): WasmTensorData {
  const d = backend.dataIdMap.get(t.dataId);
  if (d == null) throw new Error('bstune kernels: tensor is not on the wasm backend');
  return d;
}

/** Float32 element offset of a tensor in the wasm heap. */
export function f32Offset(backend: WasmBackendLike, t: tfc.TensorInfo): number {
  return tensorData(backend, t).memoryOffset >>> 2;
}

/**
 * The heap view must be re-read after every allocation: malloc can grow the
 * wasm memory, which detaches previously obtained typed arrays.
 */
export function heapF32(backend: WasmBackendLike): Float32Array {
  return backend.wasm.HEAPF32;
}

export function heapI32(backend: WasmBackendLike): Int32Array {
  return backend.wasm.HEAP32;
}

export function dispose(backend: WasmBackendLike, ...infos: tfc.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

const shapeBytes = (shape: readonly number[]): Uint8Array =>
  new Uint8Array(new Int32Array(shape).buffer);

// cwrap results are cached per wasm module so a re-created backend gets
// fresh bindings.
const fnCache = new WeakMap<WasmModuleLike, Map<string, WasmFn>>();

function wasmFn(backend: WasmBackendLike, name: string, args: WasmArg[]): WasmFn {
  let m = fnCache.get(backend.wasm);
  if (m == null) {
    m = new Map();
    fnCache.set(backend.wasm, m);
  }
  let f = m.get(name);
  if (f == null) {
    f = backend.wasm.cwrap(name, null, args);
    m.set(name, f);
  }
  return f;
}

/**
 * out[M,N] = a[M,K] · b[K,N] through the backend's XNNPACK fully-connected
 * path, which tfjs only takes for untransposed, batch-1 operands.
 */
export function xnnMatMul(backend: WasmBackendLike, aId: number, m: number, k: number,
    bId: number, n: number, outId: number): void {
  const f = wasmFn(backend, 'BatchMatMul',
    ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
  f(aId, shapeBytes([1, m, k]), 3, bId, shapeBytes([1, k, n]), 3, 0, 0, outId);
}

export interface XnnConvParams {
  batch: number; inH: number; inW: number; inC: number; outC: number;
  fh: number; fw: number;
  padTop: number; padRight: number; padBottom: number; padLeft: number;
  strideH: number; strideW: number; dilationH: number; dilationW: number;
}

/** NHWC conv through the backend's cached XNNPACK convolution operator. */
export function xnnConv2d(backend: WasmBackendLike, xId: number, filterId: number,
    outId: number, p: XnnConvParams): void {
  const f = wasmFn(backend, 'Conv2D', new Array<WasmArg>(19).fill('number'));
  f(xId, p.batch, p.inH, p.inW, filterId, p.fh, p.fw, p.padTop, p.padRight,
    p.padBottom, p.padLeft, 0, p.dilationH, p.dilationW, p.strideH, p.strideW,
    p.inC, p.outC, outId);
}

/**
 * Registers a view of existing heap memory as a wasm tensor id, so XNNPACK
 * kernels can read sub-ranges (e.g. a batch chunk) without copying. The id
 * comes from the backend's own counter so it can never collide.
 */
export function withHeapView<T>(backend: WasmBackendLike, byteOffset: number,
    size: number, body: (id: number) => T): T {
  const counter = backend as unknown as { dataIdNextNumber: number };
  if (typeof counter.dataIdNextNumber !== 'number') {
    throw new Error('bstune kernels: unsupported tfjs-backend-wasm version');
  }
  const id = counter.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, byteOffset);
  try {
    return body(id);
  } finally {
    backend.wasm.tfjs.disposeData(id);
  }
}

/** Runs the backend's own Transpose kernel (handles size-1 dims for us). */
export function wasmTranspose(backend: WasmBackendLike, x: tfc.TensorInfo, perm: number[]): tfc.TensorInfo {
  const kernel = tf.getKernel(tf.Transpose, 'wasm');
  if (kernel == null) throw new Error('bstune kernels: wasm Transpose kernel missing');
  return kernel.kernelFunc({ inputs: { x }, backend: backend as unknown as tfc.KernelBackend,
    attrs: { perm } }) as tfc.TensorInfo;
}
