// One bench cell, in its own process: node bench/one.js BACKEND MODEL BATCH RUNS  |  node bench/one.js data
import { loadDataset } from '../dist/data/index.js';
import { median } from '../dist/report/stats.js';

const [what, model, batchText, runsText] = process.argv.slice(2);
const dataCfg = { source: 'embedded', validationSplit: 0.2 };
if (what === 'data') {
  const t0 = performance.now();
  await loadDataset(dataCfg, { seed: 42 });
  const t1 = performance.now();
  await loadDataset(dataCfg, { seed: 42 });
  const t2 = performance.now();
  process.stdout.write(JSON.stringify({ firstMs: t1 - t0, cachedMs: t2 - t1 }));
  process.exit(0);
}
const { setupBackend } = await import('../dist/backend/setup.js');
const { buildModel } = await import('../dist/model/build.js');
const { train } = await import('../dist/train/loop.js');
const tf = await setupBackend(what);
const batchSize = Number(batchText);
const runs = Number(runsText);
const data = await loadDataset(dataCfg, { seed: 42 });
const modelCfg = model === 'cnn' ? { kind: 'cnn', filters: [8, 16], kernelSize: 5, poolSize: 2, dense: [] } : { kind: 'mlp', hidden: [10] };
const optimizer = { name: 'adam', learningRate: 0.001, baseBatchSize: 32, scaling: 'none', momentum: 0.9, warmup: {}, decay: 'none', minLearningRate: 0 };
const m = buildModel(tf, modelCfg, 42);
const stepsPerEpoch = Math.floor(data.train.count / batchSize);
// Warm-up and probe: 3 steps (one set-up step, the profiled step, one timed step).
const probe = await train(tf, m, data, { batchSize, epochs: 1, maxSteps: 3, optimizer, seed: 1, memoryLimit: null });
const stepSeconds = batchSize / (probe.samplesPerSecond ?? 1);
const fullEpoch = stepSeconds * stepsPerEpoch < 15;
// A cell whose single step takes seconds (the pure-JS cpu CNN) is reported from the probe alone.
const slow = stepSeconds > 2;
const rates = slow ? [probe.samplesPerSecond] : [];
for (let r = 0; !slow && r < runs; r++) {
  const res = await train(tf, m, data, { batchSize, epochs: 1, ...(fullEpoch ? {} : { maxSteps: 6 }), optimizer, seed: r + 2, memoryLimit: null, warmupSteps: 0 });
  rates.push(res.samplesPerSecond);
}
process.stdout.write(JSON.stringify({
  backend: what, model, batch: batchSize, runs: rates.length, median: median(rates), min: Math.min(...rates), max: Math.max(...rates),
  peakMemoryBytes: probe.peakMemoryBytes, note: slow ? `slow: ${stepSeconds.toFixed(1)} s a step, one timed step` : fullEpoch ? `${stepsPerEpoch} steps/epoch, timed epochs after a warm-up` : 'slow: 5 timed steps per run instead of an epoch',
}));
