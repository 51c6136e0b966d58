// A/B of Conv2DBackpropInput: direct SIMD kernel (conv_bpi) vs the XNNPACK matmul
// + col2im path, interleaved call by call, on the MNIST CNN batch-128 shapes.
//   npx tsc -p tsconfig.json && node bench/input-ab.mjs [reps]
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../dist/backend/kernels/index.js';
import { setDirectInputGrad } from '../dist/backend/kernels/conv2d-backprop-input.js';
await initWasmBackend();
const reps = Number(process.argv[2] ?? 30);
const r = (s) => tf.randomUniform(s, -1, 1);
const cases = [
  ['L2 [128,12,12,8]->16', [128,12,12,8], [128,8,8,16], [5,5,8,16]],
  ['[32,16,16,16]->32 3x3', [32,16,16,16], [32,14,14,32], [3,3,16,32]],
  ['[32,16,16,4]->8 2x2', [32,16,16,4], [32,15,15,8], [2,2,4,8]],
];
for (const [name, xs, dys, fs] of cases) {
  const filter = r(fs), dy = r(dys);
  const run = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides: [1,1], pad: 'valid', dataFormat: 'NHWC', inputShape: xs });
  const t = { on: [], off: [] };
  for (let i = 0; i < reps + 3; i++) for (const m of ['on', 'off']) {
    setDirectInputGrad(m === 'on'); const t0 = performance.now(); const o = run(); const ms = performance.now() - t0; o.dispose(); if (i >= 3) t[m].push(ms);
  }
  setDirectInputGrad(true); const a = run().dataSync(); setDirectInputGrad(false); const b = run().dataSync();
  let d = 0, sc = 0; for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i]-b[i])); sc = Math.max(sc, Math.abs(b[i])); }
  const med = (v) => [...v].sort((p,q)=>p-q)[v.length>>1];
  console.log(name, 'direct', med(t.on).toFixed(2), 'min', Math.min(...t.on).toFixed(2), '| matmul+col2im', med(t.off).toFixed(2), 'min', Math.min(...t.off).toFixed(2), 'relDiff', (d/sc).toExponential(2));
}
