// Loader for the hand-written SIMD kernels (kernels.wat). The module is
// instantiated against the tfjs wasm backend's OWN WebAssembly.Memory, so its
// functions take byte offsets of tensors in the tfjs heap and write outputs in
// place. Memory growth is harmless: the Memory object stays the same, only
// JS typed-array views detach (callers re-read heapF32 after allocating).
// Returns null (callers keep their JS loops) when the runtime lacks wasm
// SIMD, the backend's memory can't be found or is shared (threaded build),
// or BSTUNE_SIMD_KERNELS=0 is set.
import type { WasmBackendLike } from '../wasm-internals.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** All pointers are byte offsets into the tfjs heap; sizes are element counts. */
export interface SimdKernels {
  col2im_add(col: number, dx: number, nb: number, inH: number, inW: number, inC: number,
    outH: number, outW: number, fh: number, fw: number, sh: number, sw: number,
    pt: number, pl: number): void;
  im2col_t(x: number, col: number, nb: number, inH: number, inW: number, inC: number,
    outH: number, outW: number, fh: number, fw: number, sh: number, sw: number,
    dh: number, dw: number, pt: number, pl: number): void;
  max_pool_grad_2x2(x: number, dy: number, dx: number, nb: number, inH: number, inW: number,
    c: number, outH: number, outW: number): void;
  /** y = 2x2 stride-2 unpadded max pool of x (cpu's first-maximum, NaN-never-wins semantics). */
  max_pool_2x2(x: number, y: number, nb: number, inH: number, inW: number, c: number,
    outH: number, outW: number): void;
  max_pool_2x2_c8(x: number, y: number, nb: number, inH: number, inW: number, c: number,
    outH: number, outW: number): void;
  /** max_pool_grad_2x2 times step(x) for x = relu(...) covered exactly, and sum[c] its column sums (sum_rows's order); c 4-16, a multiple of 4; tmp: c floats. */
  max_pool_grad_2x2_relu_bias(x: number, dy: number, dx: number, sum: number, tmp: number, nb: number, inH: number,
    inW: number, c: number, outH: number, outW: number): void;
  max_pool_grad(x: number, dy: number, dx: number, nb: number, inH: number, inW: number,
    c: number, outH: number, outW: number, sh: number, sw: number, fh: number, fw: number,
    dh: number, dw: number, pt: number, pl: number): void;
  /** Direct dW[fh, fw, inC, outC] of an unpadded NHWC conv (dilation 1); zeroes dw first. */
  conv_bpf(x: number, dy: number, dw: number, nb: number, inH: number, inW: number, inC: number,
    outH: number, outW: number, fh: number, fw: number, sh: number, sw: number, outC: number): void;
  /** Direct dx of an unpadded NHWC conv (dilation 1) from dy and wT[outC, fh, fw, inC]; zeroes dx first. */
  conv_bpi(dy: number, wT: number, dx: number, nb: number, inH: number, inW: number, inC: number,
    outH: number, outW: number, fh: number, fw: number, sh: number, sw: number, outC: number): void;
  /**
   * Direct y = conv(x, w) of an unpadded NHWC conv (dilation 1), outC a multiple of 8; with
   * bias != 0, y = relu(conv + bias) (Add's then Relu's bits) and the i32 at nan set to 1 when
   * a conv + bias was NaN (bias = 0: nan unused).
   */
  conv_fwd(x: number, w: number, y: number, nb: number, inH: number, inW: number, inC: number,
    outH: number, outW: number, fh: number, fw: number, sh: number, sw: number, outC: number,
    bias: number, nan: number): void;
  /** out = dy * step(y) and sum[cols] = out's column sums (sum_rows's order) for y[rows, cols]; cols 4, 8, 12 or 16. */
  relu_grad_bias(dy: number, y: number, out: number, sum: number, rows: number, cols: number): void;
  /** out = dy * step(x) over n floats (the Relu gradient, bit for bit). */
  relu_grad(dy: number, x: number, out: number, n: number): void;
  /** c[m, n] = sum_k a[k, m] * b[k, n] (aᵀ·b) for row-major a[k, m], b[k, n]; k, m, n >= 1. */
  matmul_tn(a: number, b: number, c: number, k: number, m: number, n: number): void;
  /** c[i, j] = sum_k a[i, k] * b[j, k] (a·bᵀ) for row-major a[I, K], b[J, K]; I, J >= 1. */
  matmul_nt(a: number, b: number, c: number, i: number, j: number, k: number): void;
  /** out[cols] = column sums of x[rows, cols]; tmp: cols floats of scratch. */
  sum_rows(x: number, out: number, tmp: number, rows: number, cols: number): void;
  /** out[rows, cols] = x + v (v broadcast over rows). */
  add_rows(x: number, v: number, out: number, rows: number, cols: number): void;
}

let compiled: WebAssembly.Module | null | undefined;
let enabled = !(typeof process !== 'undefined' && process.env?.BSTUNE_SIMD_KERNELS === '0');
const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/** Tests use this to exercise the JS fallback paths. */
export function setSimdKernelsEnabled(on: boolean): void {
  enabled = on;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function compile(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64));
    } catch {
      compiled = null; // no wasm SIMD / bulk memory in this runtime
    }
  }
  return compiled;
}

/** The Emscripten module's memory (Module.asm.memory; wasmMemory in some builds). */
function backendMemory(backend: WasmBackendLike): WebAssembly.Memory | null {
  const m = backend.wasm as unknown as { asm?: { memory?: unknown }; wasmMemory?: unknown };
  const mem = m.asm?.memory ?? m.wasmMemory;
  if (!(mem instanceof WebAssembly.Memory)) return null;
  // The threaded tfjs build uses shared memory; our import is unshared.
  if (typeof SharedArrayBuffer !== 'undefined' && mem.buffer instanceof SharedArrayBuffer) return null;
  return mem;
}

/** The SIMD kernels bound to this backend's heap, or null (use JS loops). */
export function simdKernels(backend: WasmBackendLike): SimdKernels | null {
  if (!enabled) return null;
  const mem = backendMemory(backend);
  if (mem == null) return null;
  let k = instances.get(mem);
  if (k === undefined) {
    const mod = compile();
    k = null;
    if (mod != null) {
      try {
        k = new WebAssembly.Instance(mod, { env: { memory: mem } }).exports as unknown as SimdKernels;
      } catch {
        k = null;
      }
    }
    instances.set(mem, k);
  }
  return k;
}
