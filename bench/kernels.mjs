// Kernel profile and training throughput for the MNIST-sized CNN and MLP on
// the wasm (with bstune's training kernels) and cpu backends.
// Run: npx tsc -p tsconfig.json && node bench/kernels.mjs [--quick]
// The timing/profiling functions are exported for `npm run bench`.
import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { initWasmBackend } from '../dist/backend/kernels/index.js';

export function buildModel(kind) {
  const model = tf.sequential();
  if (kind === 'cnn') {
    model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 5, activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
  } else {
    model.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
    model.add(tf.layers.dense({ units: 10, activation: 'relu' }));
  }
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return model;
}

/** Deterministic synthetic MNIST-like data: class-dependent blobs plus noise. */
export function syntheticData(n, seed = 1) {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const x = new Float32Array(n * 784);
  const y = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    y[i * 10 + c] = 1;
    for (let p = 0; p < 784; p++) {
      const r = Math.floor(p / 28);
      const col = p % 28;
      const on = Math.abs(r - 6 - c) < 3 && Math.abs(col - 4 - 2 * c) < 4;
      x[i * 784 + p] = (on ? 0.8 : 0) + 0.2 * rnd();
    }
  }
  return { x, y, n };
}

function lossFn(model, xb, yb) {
  return tf.metrics.categoricalCrossentropy(yb, model.apply(xb, { training: true })).mean();
}

/** One training step via optimizer.minimize on a batch sliced from typed arrays. */
export function trainStep(model, optimizer, data, start, batch) {
  tf.tidy(() => {
    const xb = tf.tensor4d(data.x.subarray(start * 784, (start + batch) * 784), [batch, 28, 28, 1]);
    const yb = tf.tensor2d(data.y.subarray(start * 10, (start + batch) * 10), [batch, 10]);
    optimizer.minimize(() => lossFn(model, xb, yb), false);
  });
}

function epochMinimize(model, optimizer, data, batch) {
  for (let s = 0; s + batch <= data.n; s += batch) trainStep(model, optimizer, data, s, batch);
}

export async function epochFit(model, data, batch, xs, ys) {
  await model.fit(xs, ys, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
}

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

/** Samples/s per timed epoch (after one warm-up epoch). */
export async function timeTraining({ backend, kind, batch, samples = 2048, epochs = 5, loop = 'minimize' }) {
  await tf.setBackend(backend);
  const data = syntheticData(samples);
  const used = Math.floor(samples / batch) * batch;
  const model = buildModel(kind);
  const optimizer = tf.train.adam(1e-3);
  let xs, ys;
  if (loop === 'fit') {
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    xs = tf.tensor4d(data.x, [samples, 28, 28, 1]);
    ys = tf.tensor2d(data.y, [samples, 10]);
  }
  const runEpoch = () => loop === 'fit' ? epochFit(model, data, batch, xs, ys)
    : epochMinimize(model, optimizer, data, batch);
  await runEpoch();
  const rates = [];
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now();
    await runEpoch();
    await model.getWeights()[0].data(); // forces pending work to finish
    rates.push(used / ((performance.now() - t0) / 1000));
  }
  xs?.dispose(); ys?.dispose();
  model.dispose(); optimizer.dispose();
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates), rates };
}

/** Per-kernel time (ms, summed by kernel name) of one training step. */
export async function profileStep({ backend, kind, batch }) {
  await tf.setBackend(backend);
  const data = syntheticData(batch);
  const model = buildModel(kind);
  const optimizer = tf.train.adam(1e-3);
  for (let i = 0; i < 3; i++) trainStep(model, optimizer, data, 0, batch);
  const t0 = performance.now();
  const info = await tf.profile(() => trainStep(model, optimizer, data, 0, batch));
  const wall = performance.now() - t0;
  const byKernel = new Map();
  for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + k.kernelTimeMs);
  model.dispose(); optimizer.dispose();
  const kernels = [...byKernel].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { kernels, totalKernelMs: kernels.reduce((s, k) => s + k.ms, 0), wallMs: wall };
}

async function main() {
  const quick = process.argv.includes('--quick');
  await initWasmBackend();
  tf.env().set('IS_TEST', false);
  console.log(`tfjs ${tf.version.tfjs}; timing loop: optimizer.minimize (see --fit)`);
  for (const batch of [32, 128, 512]) {
    const p = await profileStep({ backend: 'wasm', kind: 'cnn', batch });
    const top = p.kernels.slice(0, 8).map((k) => `${k.name} ${k.ms.toFixed(2)}`).join(', ');
    console.log(`profile wasm cnn b${batch}: kernels ${p.totalKernelMs.toFixed(1)} ms ` +
      `(step wall ${p.wallMs.toFixed(1)} ms incl. profiler): ${top}`);
  }
  const loop = process.argv.includes('--fit') ? 'fit' : 'minimize';
  for (const backend of ['wasm', 'cpu']) {
    for (const kind of ['cnn', 'mlp']) {
      for (const batch of [32, 128, 512]) {
        // The cpu CNN is ~100x slower; keep its run short.
        const slow = backend === 'cpu' && kind === 'cnn';
        const samples = slow ? 512 : 2048;
        const epochs = quick || slow ? 3 : 7;
        if (slow && batch > 128 && quick) continue;
        const r = await timeTraining({ backend, kind, batch, samples, epochs, loop });
        console.log(`${backend} ${kind} b${batch} (${loop}, ${samples} samples x ${epochs} epochs): ` +
          `median ${r.median.toFixed(0)} samples/s [min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)}]`);
      }
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
