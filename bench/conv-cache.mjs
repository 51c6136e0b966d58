// Does the stock wasm Conv2D pay for a new filter buffer? The backend caches
// its XNNPACK operator per filter tensor id; a filter with fresh data each
// call (as after an optimizer step that assigns new buffers) forces a new
// operator (weight packing). Interleaved A/B on the MNIST CNN batch-128 shapes.
//   npx tsc -p tsconfig.json && node bench/conv-cache.mjs [reps]
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../dist/backend/kernels/index.js';

await initWasmBackend();
const reps = Number(process.argv[2] ?? 30);
const r = (s) => tf.randomUniform(s, -1, 1);
const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
for (const [name, xs, fs] of [['L1 [128,28,28,1] 5x5x1x8', [128, 28, 28, 1], [5, 5, 1, 8]],
  ['L2 [128,12,12,8] 5x5x8x16', [128, 12, 12, 8], [5, 5, 8, 16]]]) {
  const x = r(xs);
  const same = r(fs);
  const t = { same: [], fresh: [] };
  for (let i = 0; i < reps + 3; i++) {
    for (const k of ['same', 'fresh']) {
      const f = k === 'same' ? same : r(fs);
      const t0 = performance.now();
      const o = tf.conv2d(x, f, 1, 'valid');
      const ms = performance.now() - t0;
      o.dispose();
      if (f !== same) f.dispose();
      if (i >= 3) t[k].push(ms);
    }
  }
  console.log(`${name}: same filter ${med(t.same).toFixed(2)} ms [min ${Math.min(...t.same).toFixed(2)}]; ` +
    `fresh filter ${med(t.fresh).toFixed(2)} ms [min ${Math.min(...t.fresh).toFixed(2)}]`);
}
