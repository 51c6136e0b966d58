// bstune's SIMD kernels (src/backend/kernels/simd/kernels.wasm) instantiated bare, without tfjs, for
// the raw-kernel A/B benches: the exports, a 128 MiB heap as floats, and the quantile they report.
import { readFileSync } from 'node:fs';

export const MB = 1 << 20;

export function rawKernels() {
  const file = new URL('../../src/backend/kernels/simd/kernels.wasm', import.meta.url);
  const memory = new WebAssembly.Memory({ initial: 2048 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { memory } }).exports;
  return { k, f32: new Float32Array(memory.buffer) };
}

export const quantile = (v, p) => [...v].sort((x, y) => x - y)[Math.floor(v.length * p)];
