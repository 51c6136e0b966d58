import type { Tf } from '../tf.js';

interface WasmModule {
  _malloc: (bytes: number) => number;
  asm?: { malloc?: (bytes: number) => number };
  HEAPU8: Uint8Array;
}

/**
 * tfjs-backend-wasm takes tensor memory with `_malloc` and does not check the result.
 * When the heap cannot grow past its 4 GiB cap, malloc either returns 0 (and the tensor
 * is written over address 0) or traps inside the allocator with "memory access out of
 * bounds" (seen here: heap at 3.3 GiB, asking for 1.2 GiB) — which looks like any other
 * bug. Failing inside the allocator, or getting no memory, is by definition an
 * allocation failure, so it becomes a plain out-of-memory error naming the request.
 */
/** The heap plus a request above this cannot be served under the 4 GiB cap once bookkeeping and fragmentation are counted. */
const NEAR_CAP = 3.5 * 2 ** 30;

export function guardWasmAllocations(tf: Tf): void {
  const wasm = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
  if (!wasm || typeof wasm._malloc !== 'function') return;
  // Emscripten's `_malloc` is a stub that, on first use, overwrites itself with the raw
  // export; so the guard calls the export and the property ignores later assignments.
  const stub = wasm._malloc.bind(wasm);
  const malloc = (bytes: number) => (wasm.asm?.malloc ? wasm.asm.malloc(bytes) : stub(bytes));
  const exhausted = (bytes: number, cause?: unknown) => {
    const heap = wasm.HEAPU8.byteLength / 2 ** 30;
    return new RangeError(`wasm heap exhausted: cannot allocate ${(bytes / 2 ** 20).toFixed(1)} MiB (heap at ${heap.toFixed(2)} GiB of its 4 GiB cap)`, { cause });
  };
  const guarded = (bytes: number) => {
    let ptr: number;
    try {
      ptr = malloc(bytes);
    } catch (e) {
      // Only a request that could not fit under the cap is an out-of-memory; a trap inside
      // malloc on a small heap is heap corruption (a bug) and must not look like an OOM.
      if (e instanceof WebAssembly.RuntimeError && wasm.HEAPU8.byteLength + bytes > NEAR_CAP) throw exhausted(bytes, e);
      throw e;
    }
    if (ptr === 0 && bytes > 0) throw exhausted(bytes);
    return ptr;
  };
  Object.defineProperty(wasm, '_malloc', { configurable: true, get: () => guarded, set: () => {} });
}
