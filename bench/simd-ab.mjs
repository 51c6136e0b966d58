// A/B of the SIMD wasm kernels against their JS-loop fallbacks on the MNIST
// CNN's batch-128 shapes. The two variants are interleaved call by call so
// contention on a shared machine hits both alike; reports median and min ms.
//   npx tsc -p tsconfig.json && node bench/simd-ab.mjs [reps]
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../dist/backend/kernels/index.js';
import { setSimdKernelsEnabled } from '../dist/backend/kernels/simd/index.js';

const reps = Number(process.argv[2] ?? 30);
await initWasmBackend();
const r = (shape) => tf.randomUniform(shape, -1, 1);
const relu = (t) => tf.relu(t);
const cases = {
  'Conv2DBackpropInput [128,8,8,16]<-[128,12,12,8]': () => {
    const dy = r([128, 8, 8, 16]); const filter = r([5, 5, 8, 16]);
    return () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', inputShape: [128, 12, 12, 8] });
  },
  'Conv2DBackpropFilter [128,28,28,1]': () => {
    const x = r([128, 28, 28, 1]); const dy = r([128, 24, 24, 8]);
    return () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', filterShape: [5, 5, 1, 8] });
  },
  'MaxPoolGrad [128,24,24,8] 2x2': () => {
    const input = relu(r([128, 24, 24, 8])); const output = tf.maxPool(input, 2, 2, 'valid'); const dy = r(output.shape);
    return () => tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, { filterSize: 2, strides: 2, pad: 'valid' });
  },
  'MaxPoolGrad [128,8,8,16] 2x2': () => {
    const input = relu(r([128, 8, 8, 16])); const output = tf.maxPool(input, 2, 2, 'valid'); const dy = r(output.shape);
    return () => tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, { filterSize: 2, strides: 2, pad: 'valid' });
  },
  'MaxPoolGrad [128,24,24,8] 3x3 s2 same (general)': () => {
    const input = relu(r([128, 24, 24, 8])); const output = tf.maxPool(input, 3, 2, 'same'); const dy = r(output.shape);
    return () => tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, { filterSize: 3, strides: 2, pad: 'same' });
  },
  'Sum [128,24,24,8] axes 0,1,2': () => {
    const x = r([128, 24, 24, 8]);
    return () => tf.engine().runKernel('Sum', { x }, { axis: [0, 1, 2], keepDims: false });
  },
  'Add [128,24,24,8]+[8]': () => {
    const a = r([128, 24, 24, 8]); const b = r([8]);
    return () => tf.engine().runKernel('Add', { a, b }, {});
  },
};
const only = process.argv[3];
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
for (const [name, make] of Object.entries(cases)) {
  if (only && !name.includes(only)) continue;
  const f = make();
  const t = { simd: [], js: [] };
  for (let i = 0; i < reps + 3; i++) {
    for (const mode of i % 2 ? ['simd', 'js'] : ['js', 'simd']) {
      setSimdKernelsEnabled(mode === 'simd');
      const t0 = performance.now();
      const out = f();
      const ms = performance.now() - t0;
      out.dispose();
      if (i >= 3) t[mode].push(ms);
    }
  }
  const fmt = (a) => `${median(a).toFixed(2)} (min ${Math.min(...a).toFixed(2)})`;
  console.log(`${name.padEnd(50)} js ${fmt(t.js)}  simd ${fmt(t.simd)}  ms`);
}
setSimdKernelsEnabled(true);
