// Per-kernel micro-bench on wasm for the MNIST CNN's training shapes (batch
// 128): median (min–max) ms over many repetitions, so contention on a shared
// machine shows up as spread rather than a wrong median.
//   npx tsc -p tsconfig.json && node bench/micro.mjs [filter]
import * as tf from '@tensorflow/tfjs-core';
import { initWasmBackend } from '../dist/backend/kernels/index.js';

await initWasmBackend();
const filter = process.argv[2] ?? '';
const B = 128;
const r = (shape) => tf.randomNormal(shape, 0, 1, 'float32', 7);
const x1 = r([B, 28, 28, 1]), y1 = r([B, 24, 24, 8]), w1 = r([5, 5, 1, 8]);
const x2 = r([B, 12, 12, 8]), y2 = r([B, 8, 8, 16]), w2 = r([5, 5, 8, 16]);
const b8 = r([8]), b16 = r([16]);
const p1 = tf.maxPool(y1, 2, 2, 'valid'), p2 = tf.maxPool(y2, 2, 2, 'valid');
const fl = r([B, 256]), wd = r([256, 10]), dl = r([B, 10]);
const mlpX = r([32, 784]), mlpDy = r([32, 10]), mlpW = r([784, 10]);

const cases = {
  'conv2d L1': () => tf.conv2d(x1, w1, 1, 'valid'),
  'conv2d L2': () => tf.conv2d(x2, w2, 1, 'valid'),
  'backpropFilter L1': () => tf.engine().runKernel('Conv2DBackpropFilter', { x: x1, dy: y1 }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [5, 5, 1, 8] }),
  'backpropFilter L2': () => tf.engine().runKernel('Conv2DBackpropFilter', { x: x2, dy: y2 }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [5, 5, 8, 16] }),
  'backpropInput L2': () => tf.engine().runKernel('Conv2DBackpropInput', { dy: y2, filter: w2 }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [B, 12, 12, 8] }),
  'maxPool L1': () => tf.maxPool(y1, 2, 2, 'valid'),
  'maxPoolGrad L1': () => tf.engine().runKernel('MaxPoolGrad', { dy: p1, input: y1, output: p1 }, { filterSize: 2, strides: 2, pad: 'valid' }),
  'maxPoolGrad L2': () => tf.engine().runKernel('MaxPoolGrad', { dy: p2, input: y2, output: p2 }, { filterSize: 2, strides: 2, pad: 'valid' }),
  'bias add L1': () => tf.add(y1, b8),
  'bias sum L1': () => tf.sum(y1, [0, 1, 2]),
  'relu L1': () => tf.relu(y1),
  'relu grad L1 (step,cast,mul)': () => tf.mul(y1, tf.cast(tf.step(y1), 'float32')),
  'dense dW (transposeA) b128': () => tf.matMul(fl, dl, true, false),
  'dense dX (transposeB) b128': () => tf.matMul(dl, wd, false, true),
  'mlp dW (transposeA) b32': () => tf.matMul(mlpX, mlpDy, true, false),
};

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
for (const [name, fn] of Object.entries(cases)) {
  if (!name.includes(filter)) continue;
  for (let i = 0; i < 3; i++) tf.dispose(tf.tidy(fn));
  const ms = [];
  for (let i = 0; i < 25; i++) {
    const t0 = performance.now();
    const out = tf.tidy(fn);
    ms.push(performance.now() - t0);
    tf.dispose(out);
  }
  console.log(`${name.padEnd(30)} ${median(ms).toFixed(3).padStart(8)} ms  (${Math.min(...ms).toFixed(3)}–${Math.max(...ms).toFixed(3)})`);
}
