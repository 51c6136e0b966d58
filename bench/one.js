// One bench cell, in its own process: node bench/one.js BACKEND MODEL BATCH RUNS [THREADS]  |  node bench/one.js data
// The recipe is bench/keras-peer.py's: Adam 0.001 at batch 32 scaled linearly, no warmup, 3 epochs
// from fresh weights per timed run, so the validation accuracies compare.
import { createHash } from 'node:crypto';
import { loadDataset } from '../dist/data/index.js';
import { median } from '../dist/report/stats.js';

const [what, model, batchText, runsText, threadsText = '1'] = process.argv.slice(2);
const dataCfg = { source: 'embedded', validationSplit: 0.2 };
if (what === 'data') {
  const t0 = performance.now();
  await loadDataset(dataCfg, { seed: 42 });
  const t1 = performance.now();
  await loadDataset(dataCfg, { seed: 42 });
  const data = await loadDataset(dataCfg, { seed: 42 });
  const t2 = performance.now();
  // The rows the split picked, as keras-peer.py fingerprints its own (validation, then training).
  const rows = (s) => { const i = s.select.index; return Buffer.from(i.buffer, i.byteOffset, i.byteLength); };
  const fingerprint = createHash('sha256').update(rows(data.validation)).update(rows(data.train)).digest('hex').slice(0, 16);
  process.stdout.write(JSON.stringify({ firstMs: t1 - t0, cachedMs: t2 - t1, split: { train: data.train.count, validation: data.validation.count, seed: 42, fingerprint } }));
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
// bstune's own default recipe (`scaling: linear`, `warmup: {}`), as keras-peer.py's Adam(0.001 * batch / 32).
const optimizer = { name: 'adam', learningRate: 0.001, baseBatchSize: 32, scaling: 'linear', momentum: 0.9, warmup: {}, decay: 'none', minLearningRate: 0 };
let m = buildModel(tf, modelCfg, 42);
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
// Only a run of full epochs from fresh weights has an accuracy to compare with Keras's.
const valAccuracies = [];
for (let r = 0; !slow && r < runs; r++) {
  // Fresh weights each run (seed 42, 43, ...: the accuracy's spread over seeds is the noise to compare within).
  m.dispose();
  m = buildModel(tf, modelCfg, 42 + r);
  // 3 epochs a run, as issue 18 measured: steady rate over all but the warm-up steps, so a thread's own start (its wasm compile and tier-up) weighs as it does in a real trial.
  const res = await train(tf, m, data, { batchSize, epochs: fullEpoch ? 3 : 1, ...(fullEpoch ? {} : { maxSteps: 6 }), optimizer, seed: r + 2, memoryLimit: null, ...threads });
  rates.push(res.samplesPerSecond);
  if (fullEpoch) valAccuracies.push(res.history.at(-1)?.valAccuracy ?? null);
}
const valAccuracy = valAccuracies.length > 0 ? median(valAccuracies) : null;
process.stdout.write(JSON.stringify({
  backend: what, model, batch: batchSize, threads: probe.threads, valAccuracy, valAccuracies, runs: rates.length, median: median(rates), min: Math.min(...rates), max: Math.max(...rates),
  peakMemoryBytes: probe.peakMemoryBytes, note: slow ? `slow: ${stepSeconds.toFixed(1)} s a step, one timed step` : fullEpoch ? `${stepsPerEpoch} steps/epoch, timed epochs after a warm-up` : 'slow: 5 timed steps per run instead of an epoch',
}));
