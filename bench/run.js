#!/usr/bin/env node
// npm run bench: samples/s per installed backend for the MLP and the CNN at batch 32/128/512,
// using bstune's own training loop; peak memory; data load time from the cache; and the share
// of a real find-max run spent outside training. A script, not a test: numbers vary by machine.
//   node bench/run.js [--json] [--runs 3] [--backends wasm,cpu] [--models mlp,cnn] [--sizes 32,128,512] [--threads 1,default]
// --threads: on wasm each cell runs once per entry: 1 (one thread, today's path) and `default`
// (what a trial picks: src/trial/threads.ts); other backends train on one thread.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    backends: { type: 'string' },
    models: { type: 'string', default: 'mlp,cnn' },
    sizes: { type: 'string', default: '32,128,512' },
    'skip-find-max': { type: 'boolean', default: false },
    threads: { type: 'string', default: '1,default' },
  },
});
const runs = Number(values.runs);
const sizes = values.sizes.split(',').map(Number);
const models = values.models.split(',');
const log = (s) => process.stderr.write(`${s}\n`);

const { isInstalled } = await import('../dist/backend/resolve.js');
const installed = ['cpu', 'wasm', ...(isInstalled('@tensorflow/tfjs-node') ? ['tensorflow'] : [])];
const backends = values.backends ? values.backends.split(',') : installed;

// Each backend in its own process, like a trial: one engine, no leftovers between backends.
const rows = [];
for (const backend of backends) {
  for (const model of models) {
    for (const batch of sizes) {
      for (const threads of backend === 'wasm' ? values.threads.split(',') : ['1']) {
        log(`bench ${model} b=${batch} on ${backend}, threads ${threads}…`);
        const r = spawnSync(process.execPath, [fileURLToPath(new URL('./one.js', import.meta.url)), backend, model, String(batch), String(runs), threads], { encoding: 'utf8', cwd: root, maxBuffer: 1 << 24 });
        if (r.status !== 0) {
          rows.push({ backend, model, batch, asked: threads, error: (r.stderr || '').trim().split('\n').pop() });
          continue;
        }
        rows.push({ ...JSON.parse(r.stdout), asked: threads });
      }
    }
  }
}

let findMax = null;
if (!values['skip-find-max']) {
  log('bench find-max (MLP, --memory-limit 2MiB)…');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/bstune.js', 'find-max', '--json', '--memory-limit', '2MiB'], { encoding: 'utf8', cwd: root });
  const wall = (performance.now() - t0) / 1000;
  if (r.stdout) {
    const doc = JSON.parse(r.stdout);
    const train = doc.trials.reduce((a, t) => a + t.seconds - t.overheadSeconds, 0);
    findMax = { wallSeconds: wall, trials: doc.trials.length, maxBatchSize: doc.maxBatchSize, trialOverheadSeconds: doc.overheadSeconds, trainingSeconds: train, outsideTrainingShare: (wall - train) / wall };
  }
}

// Where a CNN step's time goes on wasm: the top kernels (bench/step.mjs --profile).
let kernelProfile = null;
if (models.includes('cnn') && backends.includes('wasm')) {
  log('bench per-kernel profile (CNN, batch 128, wasm)…');
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./step.mjs', import.meta.url)), 'cnn', '128', '1', '--profile'], { encoding: 'utf8', cwd: root });
  if (r.status === 0) kernelProfile = r.stdout.trim().split('\n').slice(1, 11);
}

const dataLoad = JSON.parse(spawnSync(process.execPath, [fileURLToPath(new URL('./one.js', import.meta.url)), 'data'], { encoding: 'utf8', cwd: root }).stdout);

if (values.json) {
  process.stdout.write(`${JSON.stringify({ node: process.version, rows, findMax, dataLoad, kernelProfile }, null, 2)}\n`);
} else {
  const fmt = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end, ${availableParallelism()} cores`);
  console.log('model  backend      batch  threads  samples/s (median)  spread (min–max)   runs  val acc  peak tensor memory');
  for (const r of rows) {
    const th = `${r.threads ?? '?'}${r.asked === 'default' ? ' (def)' : ''}`;
    if (r.error) { console.log(`${r.model.padEnd(6)} ${r.backend.padEnd(12)} ${String(r.batch).padStart(5)}  ${String(r.asked).padStart(7)}  error: ${r.error}`); continue; }
    console.log(`${r.model.padEnd(6)} ${r.backend.padEnd(12)} ${String(r.batch).padStart(5)}  ${th.padStart(7)}  ${fmt(r.median).padStart(18)}  ${`${fmt(r.min)}–${fmt(r.max)}`.padStart(16)}  ${String(r.runs).padStart(5)}  ${r.valAccuracy == null ? '   –   ' : r.valAccuracy.toFixed(3).padStart(7)}  ${(r.peakMemoryBytes / 2 ** 20).toFixed(1)} MiB${r.note ? `  (${r.note})` : ''}`);
  }
  // Issue 18's table: bstune on wasm (the default thread count) against Keras 3 on TF-CPU.
  // Keras's figures are the issue's (a quiet 2-core machine); run bench/keras-peer.py in the same
  // window for a side-by-side ratio under the same load.
  const keras = { mlp: { 32: 15100, 128: 40000, 512: 75400 }, cnn: { 32: 6900, 128: 12200, 512: 18200 } };
  const wasm = rows.filter((r) => r.backend === 'wasm' && !r.error && keras[r.model]?.[r.batch]);
  if (wasm.length > 0) {
    console.log('issue 18 (wasm; Keras figures from the issue, not this run):');
    console.log('model  batch  threads 1  default (threads)  Keras  ratio 1 thread  ratio default');
    for (const model of models) for (const batch of sizes) {
      const one = wasm.find((r) => r.model === model && r.batch === batch && r.asked === '1');
      const def = wasm.find((r) => r.model === model && r.batch === batch && r.asked === 'default');
      const k = keras[model]?.[batch];
      if (!k || (!one && !def)) continue;
      const ratio = (r) => (r ? (r.median / k).toFixed(2) : '–');
      console.log(`${model.padEnd(6)} ${String(batch).padStart(5)}  ${fmt(one?.median).padStart(9)}  ${`${fmt(def?.median)} (${def?.threads ?? '–'})`.padStart(17)}  ${fmt(k).padStart(5)}  ${ratio(one).padStart(14)}  ${ratio(def).padStart(13)}`);
    }
  }
  console.log(`data: embedded MNIST from the cache in ${dataLoad.cachedMs.toFixed(0)} ms (first load this run ${dataLoad.firstMs.toFixed(0)} ms)`);
  if (kernelProfile) console.log(kernelProfile.join('\n'));
  if (findMax) console.log(`find-max (MLP, limit 2 MiB): ${findMax.wallSeconds.toFixed(2)} s for ${findMax.trials} trials → ${findMax.maxBatchSize}; ${(findMax.outsideTrainingShare * 100).toFixed(0)}% outside training (process start, backend init, data load)`);
}
