// Interleaved A/B of two builds of the SIMD module (kernels.wasm) on the raw conv kernels,
// without tfjs: the MNIST CNN's batch-128 shapes, call by call A, B, A, B on identical data,
// min and 25th percentile of each (the min is the code's speed; a shared machine inflates the
// rest). Also prints the largest relative difference of the two outputs (summation order).
//   git show main:src/backend/kernels/simd/kernels.wasm > /tmp/a.wasm
//   node bench/conv-raw-ab.mjs /tmp/a.wasm src/backend/kernels/simd/kernels.wasm [reps] [filter]
import { readFileSync } from 'node:fs';

const [fileA, fileB] = process.argv.slice(2, 4);
if (!fileA || !fileB) throw new Error('usage: node bench/conv-raw-ab.mjs A.wasm B.wasm [reps] [filter]');
const reps = Number(process.argv[4] ?? 60);
const filter = process.argv[5] ?? '';
const B = 128;
const X = 0, W = 8 << 20, Y = 16 << 20, T = 32 << 20, BIAS = 40 << 20, NAN = 41 << 20; // byte offsets of inputs and outputs

function load(file) {
  const memory = new WebAssembly.Memory({ initial: 1024 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { memory } }).exports;
  const f32 = new Float32Array(memory.buffer);
  let seed = 7;
  for (let i = 0; i < (48 << 20) / 4; i++) f32[i] = ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  return { k, f32 };
}

// [run, output offset, output floats]
const cases = {
  'fwd L1': [(k) => k.conv_fwd(X, W, Y, B, 28, 28, 1, 24, 24, 5, 5, 1, 1, 8), Y, B * 24 * 24 * 8],
  'fwd L2': [(k) => k.conv_fwd(X, W, Y, B, 12, 12, 8, 8, 8, 5, 5, 1, 1, 16), Y, B * 8 * 8 * 16],
  // conv + bias + relu (conv_fwd's epilogue; a build without it ignores the two extra arguments,
  // so against main this is the fused kernel's cost over the plain conv's)
  'fwd+bias+relu L1': [(k) => k.conv_fwd(X, W, Y, B, 28, 28, 1, 24, 24, 5, 5, 1, 1, 8, BIAS, NAN), Y, B * 24 * 24 * 8],
  'fwd+bias+relu L2': [(k) => k.conv_fwd(X, W, Y, B, 12, 12, 8, 8, 8, 5, 5, 1, 1, 16, BIAS, NAN), Y, B * 8 * 8 * 16],
  'bpf L1': [(k) => k.conv_bpf(X, Y, W, B, 28, 28, 1, 24, 24, 5, 5, 1, 1, 8), W, 5 * 5 * 8],
  'bpf L2': [(k) => k.conv_bpf(X, Y, W, B, 12, 12, 8, 8, 8, 5, 5, 1, 1, 16), W, 5 * 5 * 8 * 16],
  'bpi L2': [(k) => k.conv_bpi(Y, W, T, B, 12, 12, 8, 8, 8, 5, 5, 1, 1, 16), T, B * 12 * 12 * 8],
};
const a = load(fileA), b = load(fileB);
const quantile = (v, p) => [...v].sort((x, y) => x - y)[Math.floor(v.length * p)];
for (const [name, [run, out, n]] of Object.entries(cases)) {
  if (!name.includes(filter)) continue;
  const ta = [], tb = [];
  for (let i = 0; i < reps + 3; i++) {
    for (const [m, t] of [[a, ta], [b, tb]]) {
      const t0 = performance.now();
      run(m.k);
      if (i >= 3) t.push(performance.now() - t0);
    }
  }
  let diff = 0, scale = 0;
  const oa = a.f32.subarray(out / 4, out / 4 + n), ob = b.f32.subarray(out / 4, out / 4 + n);
  for (let i = 0; i < n; i++) { diff = Math.max(diff, Math.abs(oa[i] - ob[i])); scale = Math.max(scale, Math.abs(oa[i])); }
  const [minA, minB, qA, qB] = [Math.min(...ta), Math.min(...tb), quantile(ta, 0.25), quantile(tb, 0.25)];
  console.log(`${name}: A min ${minA.toFixed(3)} p25 ${qA.toFixed(3)} ms | B min ${minB.toFixed(3)} p25 ${qB.toFixed(3)} ms | ` +
    `B/A ${(minB / minA).toFixed(3)} (p25 ${(qB / qA).toFixed(3)}) | rel diff ${(diff / scale).toExponential(1)}`);
}
