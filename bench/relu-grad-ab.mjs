// A/B of the Relu gradient on wasm: one BstuneReluGrad pass vs tfjs's
// mul(dy, cast(step(x))), interleaved call by call, on the MNIST CNN's batch-128
// relu shapes (the same bits both ways).
//   npx tsc -p tsconfig.json && node bench/relu-grad-ab.mjs [reps]
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../dist/backend/kernels/index.js';

await initWasmBackend();
const reps = Number(process.argv[2] ?? 50);
const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
for (const shape of [[128, 24, 24, 8], [128, 8, 8, 16]]) {
  const x = tf.randomUniform(shape, -1, 1);
  const dy = tf.randomUniform(shape, -1, 1);
  const ways = {
    fused: () => tf.engine().runKernel('BstuneReluGrad', { dy, x }),
    stock: () => tf.tidy(() => tf.mul(dy, tf.cast(tf.step(x), 'float32'))),
  };
  const t = { fused: [], stock: [] };
  for (let i = 0; i < reps + 3; i++) {
    for (const k of Object.keys(ways)) {
      const t0 = performance.now();
      const o = ways[k]();
      const ms = performance.now() - t0;
      o.dispose();
      if (i >= 3) t[k].push(ms);
    }
  }
  console.log(`${JSON.stringify(shape)}: fused ${med(t.fused).toFixed(3)} ms, stock ${med(t.stock).toFixed(3)} ms`);
}
