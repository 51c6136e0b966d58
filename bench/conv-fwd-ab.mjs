// A/B of forward Conv2D: direct SIMD kernel (conv_fwd) vs the stock XNNPACK
// kernel, interleaved call by call, on the MNIST CNN batch-128 shapes.
//   npx tsc -p tsconfig.json && node bench/conv-fwd-ab.mjs [reps]
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../dist/backend/kernels/index.js';
import { setDirectConv2D } from '../dist/backend/kernels/conv2d.js';

await initWasmBackend();
const reps = Number(process.argv[2] ?? 30);
const r = (s) => tf.randomUniform(s, -1, 1);
const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
const extra = process.argv.includes('--wide') ? [['wide [32,16,16,32] 3x3x32x64', [32, 16, 16, 32], [3, 3, 32, 64]], ['wide [32,16,16,64] 3x3x64x64', [32, 16, 16, 64], [3, 3, 64, 64]]] : [];
for (const [name, xs, fs] of [...extra, ['L1 [128,28,28,1] 5x5x1x8', [128, 28, 28, 1], [5, 5, 1, 8]],
  ['L2 [128,12,12,8] 5x5x8x16', [128, 12, 12, 8], [5, 5, 8, 16]]]) {
  const x = r(xs);
  const f = r(fs);
  const t = { direct: [], stock: [] };
  for (let i = 0; i < reps + 3; i++) {
    for (const k of ['direct', 'stock']) {
      setDirectConv2D(k === 'direct');
      const t0 = performance.now();
      const o = tf.conv2d(x, f, 1, 'valid');
      const ms = performance.now() - t0;
      o.dispose();
      if (i >= 3) t[k].push(ms);
    }
  }
  setDirectConv2D(true); const a = tf.conv2d(x, f, 1, 'valid').dataSync();
  setDirectConv2D(false); const b = tf.conv2d(x, f, 1, 'valid').dataSync();
  let d = 0; let sc = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); sc = Math.max(sc, Math.abs(b[i])); }
  console.log(`${name}: direct ${med(t.direct).toFixed(2)} ms [min ${Math.min(...t.direct).toFixed(2)}]; ` +
    `stock ${med(t.stock).toFixed(2)} ms [min ${Math.min(...t.stock).toFixed(2)}]; rel diff ${(d / sc).toExponential(1)}`);
}
