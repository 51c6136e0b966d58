// Interleaved A/B on the raw SIMD kernels (no tfjs) of the backward of relu -> 2x2 max pool with
// the bias sum, at the MNIST CNN's batch-128 shapes (default; or [batch]):
//   A: max_pool_grad_2x2 then relu_grad_bias (two passes over the full-size gradient)
//   B: max_pool_grad_2x2_relu_bias (one pass; sums each row pair while it is in cache)
// min and p25 of each, and whether the outputs' bits match.
//   node bench/pool-relu-ab.mjs [batch] [reps]
import { MB, quantile, rawKernels } from './lib/raw-kernels.mjs';

const batch = Number(process.argv[2] ?? 128);
const reps = Number(process.argv[3] ?? 60);
const { k, f32 } = rawKernels();
let seed = 7;
const X = 0, DY = 24 * MB, DXA = 40 * MB, DXB = 64 * MB, TMPA = 88 * MB, SUMA = 89 * MB, SUMB = 90 * MB, TMPB = 91 * MB;
for (let i = 0; i < (24 * MB) / 4; i++) f32[i] = Math.max(0, ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5); // relu output
for (let i = DY / 4; i < (40 * MB) / 4; i++) f32[i] = ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
for (const [name, h, w, c] of [['L1 24x24x8', 24, 24, 8], ['L2 8x8x16', 8, 8, 16]]) {
  const a = () => { k.max_pool_grad_2x2(X, DY, TMPA, batch, h, w, c, h / 2, w / 2); k.relu_grad_bias(TMPA, X, DXA, SUMA, batch * h * w, c); };
  const b = () => k.max_pool_grad_2x2_relu_bias(X, DY, DXB, SUMB, TMPB, batch, h, w, c, h / 2, w / 2);
  const ta = [], tb = [];
  for (let i = 0; i < reps + 3; i++) {
    for (const [run, t] of [[a, ta], [b, tb]]) {
      const t0 = performance.now();
      run();
      if (i >= 3) t.push(performance.now() - t0);
    }
  }
  const n = batch * h * w * c;
  const same = (p, q, m) => { const u = new Uint32Array(f32.buffer); for (let i = 0; i < m; i++) if (u[p / 4 + i] !== u[q / 4 + i]) return false; return true; };
  const [minA, minB, qA, qB] = [Math.min(...ta), Math.min(...tb), quantile(ta, 0.25), quantile(tb, 0.25)];
  console.log(`${name} b${batch}: A min ${minA.toFixed(3)} p25 ${qA.toFixed(3)} ms | B min ${minB.toFixed(3)} p25 ${qB.toFixed(3)} ms | ` +
    `B/A ${(minB / minA).toFixed(3)} (p25 ${(qB / qA).toFixed(3)}) | dx bits ${same(DXA, DXB, n) ? 'equal' : 'DIFFER'}, sum bits ${same(SUMA, SUMB, c) ? 'equal' : 'DIFFER'}`);
}
