// A/B of Conv2DBackpropFilter: direct SIMD kernel (conv_bpf) vs the XNNPACK
// paths, interleaved call by call, on the MNIST CNN batch-128 shapes.
//   npx tsc -p tsconfig.json && node bench/filter-ab.mjs [reps]
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../dist/backend/kernels/index.js';
import { setDirectFilterGrad } from '../dist/backend/kernels/conv2d-backprop-filter.js';
await initWasmBackend();
const reps = Number(process.argv[2] ?? 30);
const r = (s) => tf.randomUniform(s, -1, 1);
const cases = [
  ['L1 [128,28,28,1]->8', [128,28,28,1], [128,24,24,8], [5,5,1,8]],
  ['L2 [128,12,12,8]->16', [128,12,12,8], [128,8,8,16], [5,5,8,16]],
];
for (const [name, xs, dys, fs] of cases) {
  const x = r(xs), dy = r(dys);
  const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1,1], pad: 'valid', dataFormat: 'NHWC', filterShape: fs });
  const t = { on: [], off: [] };
  for (let i = 0; i < reps + 3; i++) for (const m of ['on', 'off']) {
    setDirectFilterGrad(m === 'on'); const t0 = performance.now(); const o = run(); const ms = performance.now() - t0; o.dispose(); if (i >= 3) t[m].push(ms);
  }
  setDirectFilterGrad(true); const a = run().dataSync(); setDirectFilterGrad(false); const b = run().dataSync();
  let d = 0, sc = 0; for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i]-b[i])); sc = Math.max(sc, Math.abs(b[i])); }
  const med = (v) => [...v].sort((p,q)=>p-q)[v.length>>1];
  console.log(name, 'direct', med(t.on).toFixed(2), 'min', Math.min(...t.on).toFixed(2), '| xnn', med(t.off).toFixed(2), 'min', Math.min(...t.off).toFixed(2), 'relDiff', (d/sc).toExponential(2));
}
