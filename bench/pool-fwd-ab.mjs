// Interleaved A/B on the raw SIMD forward 2x2 max pool (no tfjs) at the MNIST CNN's shapes:
//   A: max_pool_2x2 (any c)   B: max_pool_2x2_c8 (c % 8 == 0)
// min and p25 of each, and whether the outputs' bits match (input has NaNs, -0, ties).
//   node bench/pool-fwd-ab.mjs [batch] [reps]
import { MB, quantile, rawKernels } from './lib/raw-kernels.mjs';

const batch = Number(process.argv[2] ?? 128);
const reps = Number(process.argv[3] ?? 200);
const { k, f32 } = rawKernels();
let seed = 7;
const X = 0, YA = 40 * MB, YB = 64 * MB;
for (let i = 0; i < (40 * MB) / 4; i++) {
  const r = (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  f32[i] = r < 0.01 ? NaN : r < 0.02 ? -0 : Math.max(0, r - 0.5);
}
for (const [name, h, w, c] of [['L1 24x24x8', 24, 24, 8], ['L2 8x8x16', 8, 8, 16]]) {
  const oh = h >> 1, ow = w >> 1;
  const a = () => k.max_pool_2x2(X, YA, batch, h, w, c, oh, ow);
  const b = () => k.max_pool_2x2_c8(X, YB, batch, h, w, c, oh, ow);
  const ta = [], tb = [];
  for (let i = 0; i < reps + 5; i++) {
    for (const [run, t] of (i & 1 ? [[a, ta], [b, tb]] : [[b, tb], [a, ta]])) {
      const t0 = performance.now();
      run();
      if (i >= 5) t.push(performance.now() - t0);
    }
  }
  const n = batch * oh * ow * c;
  const u = new Uint32Array(f32.buffer);
  let same = true;
  for (let i = 0; i < n; i++) if (u[YA / 4 + i] !== u[YB / 4 + i]) { same = false; break; }
  const [minA, minB, qA, qB] = [Math.min(...ta), Math.min(...tb), quantile(ta, 0.25), quantile(tb, 0.25)];
  console.log(`${name} b${batch}: A min ${minA.toFixed(3)} p25 ${qA.toFixed(3)} ms | B min ${minB.toFixed(3)} p25 ${qB.toFixed(3)} ms | ` +
    `B/A ${(minB / minA).toFixed(3)} (p25 ${(qB / qA).toFixed(3)}) | bits ${same ? 'equal' : 'DIFFER'}`);
}
