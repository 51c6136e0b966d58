// One bench cell, in its own process: node bench/one.js BACKEND MODEL BATCH RUNS [THREADS]  |  node bench/one.js data
import { loadDataset } from '../dist/data/index.js';
import { median } from '../dist/report/stats.js';

const [what, model, batchText, runsText, threadsText = '1'] = process.argv.slice(2);
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
// Data parallelism (wasm): THREADS replicas, this thread and THREADS − 1 workers (src/train/parallel).
// 'default': what a trial picks (src/trial/threads.ts: cores, and enough work per shard).
let count = Number(threadsText);
if (threadsText === 'default') {
  const { planThreads, modelMacs } = await import('../dist/trial/threads.js');
  const { usableCores } = await import('../dist/trial/cores.js');
  const macsPerSample = modelMacs(m.layers.map((l) => ({ params: l.countParams(), outputShape: l.outputShape })));
  count = planThreads({ configured: null, backend: what, cores: usableCores(), slots: 1, work: { batch: batchSize, macsPerSample } }).threads;
}
const threads = count > 1 ? { threads: { count, recipe: { backend: what, model: modelCfg, seed: 42, data: { sampleShape: data.sampleShape, labelShape: data.labelShape, numClasses: data.numClasses, origin: data.origin } } } } : {};
const stepsPerEpoch = Math.floor(data.train.count / batchSize);
// Warm-up and probe: 3 steps (one set-up step, the profiled step, one timed step).
const probe = await train(tf, m, data, { batchSize, epochs: 1, maxSteps: 3, optimizer, seed: 1, memoryLimit: null, ...threads });
const stepSeconds = batchSize / (probe.samplesPerSecond ?? 1);
const fullEpoch = stepSeconds * stepsPerEpoch < 15;
// A cell whose single step takes seconds (the pure-JS cpu CNN) is reported from the probe alone.
const slow = stepSeconds > 2;
const rates = slow ? [probe.samplesPerSecond] : [];
let valAccuracy = probe.history.at(-1)?.valAccuracy ?? null;
for (let r = 0; !slow && r < runs; r++) {
  // 3 epochs a run, as issue 18 measured: steady rate over all but the warm-up steps, so a thread's own start (its wasm compile and tier-up) weighs as it does in a real trial.
  const res = await train(tf, m, data, { batchSize, epochs: fullEpoch ? 3 : 1, ...(fullEpoch ? {} : { maxSteps: 6 }), optimizer, seed: r + 2, memoryLimit: null, warmupSteps: 0, ...threads });
  rates.push(res.samplesPerSecond);
  valAccuracy = res.history.at(-1)?.valAccuracy ?? valAccuracy;
}
process.stdout.write(JSON.stringify({
  backend: what, model, batch: batchSize, threads: probe.threads, valAccuracy, runs: rates.length, median: median(rates), min: Math.min(...rates), max: Math.max(...rates),
  peakMemoryBytes: probe.peakMemoryBytes, note: slow ? `slow: ${stepSeconds.toFixed(1)} s a step, one timed step` : fullEpoch ? `${stepsPerEpoch} steps/epoch, timed epochs after a warm-up` : 'slow: 5 timed steps per run instead of an epoch',
}));
