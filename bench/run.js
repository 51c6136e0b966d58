#!/usr/bin/env node
// npm run bench: samples/s per installed backend for the MLP and the CNN at batch 32/128/512,
// using bstune's own training loop; peak memory; data load time from the cache; and the share
// of a real find-max run spent outside training. A script, not a test: numbers vary by machine.
//   node bench/run.js [--json] [--runs 3] [--backends wasm,cpu] [--models mlp,cnn] [--sizes 32,128,512] [--threads 1,default] [--keras PYTHON]
// --threads: on wasm each cell runs once per entry: 1 (one thread, today's path) and `default`
// (what a trial picks: src/trial/threads.ts); other backends train on one thread.
// --keras PYTHON: bench/keras-peer.py (Keras 3 on TensorFlow-CPU; PYTHON has tensorflow and keras)
// runs in this window, once before bstune's cells (seed 42) and once after (seed 43), and the
// comparison table is this run's figures: ratio = bstune / the faster of the two Keras runs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { availableParallelism, cpus, loadavg } from 'node:os';

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
    keras: { type: 'string' },
  },
});
const runs = Number(values.runs);
const sizes = values.sizes.split(',').map(Number);
const models = values.models.split(',');
const log = (s) => process.stderr.write(`${s}\n`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadAtStart = load();
const startedAt = new Date().toISOString().slice(0, 16).replace('T', ' ');

/** The CPU, and the vector extensions Keras's speed depends on (TF turns oneDNN on by itself only with AVX-512 VNNI/BF16 or AMX). */
function cpuFacts() {
  let text = '';
  try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux */ }
  const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  const has = ['avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile'].filter((f) => flags.has(f));
  return { model, cores: availableParallelism(), flags: text ? has : null };
}
const cpu = cpuFacts();
log(`${cpu.model}, ${cpu.cores} cores${cpu.flags ? ` (${cpu.flags.join(', ') || 'no AVX2'})` : ''}; load average ${loadAtStart} at the start`);

const dataLoad = JSON.parse(spawnSync(process.execPath, [fileURLToPath(new URL('./one.js', import.meta.url)), 'data'], { encoding: 'utf8', cwd: root }).stdout);

/** One keras-peer.py run over this bench's models and sizes; {error} when it fails. */
function runKeras(seed) {
  log(`keras-peer.py (${values.keras}, seed ${seed})…`);
  const args = [fileURLToPath(new URL('./keras-peer.py', import.meta.url)), '--json', '--models', models.join(','), '--batches', sizes.join(','), '--seed', String(seed)];
  const r = spawnSync(values.keras, args, { encoding: 'utf8', cwd: root, maxBuffer: 1 << 24 });
  // Its per-cell lines, not TensorFlow's start-up log.
  for (const line of (r.stderr ?? '').split('\n')) if (line.startsWith('keras ')) log(line);
  if (r.error || r.status !== 0) return { error: r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`, load: load() };
  return { ...JSON.parse(r.stdout), load: load() };
}
const kerasBefore = values.keras ? runKeras(42) : null;

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

const kerasAfter = values.keras ? runKeras(43) : null;

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

const loadAtEnd = load();

if (values.json) {
  process.stdout.write(`${JSON.stringify({ node: process.version, startedAt, cpu, loadAtStart, loadAtEnd, rows, keras: values.keras ? { before: kerasBefore, after: kerasAfter } : null, findMax, dataLoad, kernelProfile }, null, 2)}\n`);
} else {
  const fmt = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
  console.log(`${startedAt} UTC, ${cpu.model}, ${cpu.cores} cores${cpu.flags ? ` (${cpu.flags.join(', ') || 'no AVX2'})` : ''}, Node ${process.version}; load average ${loadAtStart} at the start, ${loadAtEnd} at the end`);
  console.log('model  backend      batch  threads  samples/s (median)  spread (min–max)   runs  val acc  peak tensor memory');
  for (const r of rows) {
    const th = `${r.threads ?? '?'}${r.asked === 'default' ? ' (def)' : ''}`;
    if (r.error) { console.log(`${r.model.padEnd(6)} ${r.backend.padEnd(12)} ${String(r.batch).padStart(5)}  ${String(r.asked).padStart(7)}  error: ${r.error}`); continue; }
    console.log(`${r.model.padEnd(6)} ${r.backend.padEnd(12)} ${String(r.batch).padStart(5)}  ${th.padStart(7)}  ${fmt(r.median).padStart(18)}  ${`${fmt(r.min)}–${fmt(r.max)}`.padStart(16)}  ${String(r.runs).padStart(5)}  ${r.valAccuracy == null ? '   –   ' : r.valAccuracy.toFixed(3).padStart(7)}  ${(r.peakMemoryBytes / 2 ** 20).toFixed(1)} MiB${r.note ? `  (${r.note})` : ''}`);
  }
  printKerasTable(fmt);
  console.log(`data: embedded MNIST from the cache in ${dataLoad.cachedMs.toFixed(0)} ms (first load this run ${dataLoad.firstMs.toFixed(0)} ms)`);
  if (kernelProfile) console.log(kernelProfile.join('\n'));
  if (findMax) console.log(`find-max (MLP, limit 2 MiB): ${findMax.wallSeconds.toFixed(2)} s for ${findMax.trials} trials → ${findMax.maxBatchSize}; ${(findMax.outsideTrainingShare * 100).toFixed(0)}% outside training (process start, backend init, data load)`);
}

/** bstune on wasm beside Keras: this run's Keras figures with --keras, else issue 18's typed-in ones, labelled as such. */
function printKerasTable(fmt) {
  const wasm = rows.filter((r) => r.backend === 'wasm' && !r.error);
  if (wasm.length === 0) return;
  const cell = (model, batch, asked) => wasm.find((r) => r.model === model && r.batch === batch && r.asked === asked);
  const acc = (xs) => {
    const v = xs.filter((x) => x != null);
    return v.length === 0 ? '–' : `${Math.min(...v).toFixed(3)}–${Math.max(...v).toFixed(3)}`;
  };
  let keras;
  if (values.keras) {
    const runs = [kerasBefore, kerasAfter];
    const failed = runs.find((k) => k.error);
    if (failed) { console.log(`Keras: keras-peer.py failed (${failed.error}); no comparison`); return; }
    const p = kerasBefore.peer;
    const sameSplit = dataLoad.split?.fingerprint === p.split.fingerprint;
    console.log(`Keras ${p.keras} on TensorFlow-CPU ${p.tensorflow}, oneDNN ${p.oneDNN ? 'on' : 'OFF'} (${p.oneDNNSetting}); run before bstune's cells (seed 42, load then ${kerasBefore.load}) and after (seed 43, load ${kerasAfter.load})`);
    console.log(`data: ${sameSplit ? 'the same' : 'NOT the same'} ${p.split.train}/${p.split.validation} split on both sides (fingerprint Keras ${p.split.fingerprint}, bstune ${dataLoad.split?.fingerprint ?? '?'}); recipe: Adam 0.001 at batch 32, linear scaling, no warmup, 3 epochs`);
    keras = (model, batch) => {
      const rs = runs.map((k) => k.rows.find((r) => r.model === model && r.batch === batch));
      if (rs.some((r) => !r)) return null;
      return { best: Math.max(...rs.map((r) => r.samplesPerSecond)), label: rs.map((r) => fmt(r.samplesPerSecond)).join(' / '), acc: rs.map((r) => r.valAccuracy) };
    };
    console.log('model  batch  Keras before / after  bstune 1 thread  bstune default (threads)  ratio 1 thread  ratio default  val acc Keras  val acc bstune');
  } else {
    // Typed in from issue 18 (one earlier window, before the peer's fairness fixes): not this run's figures.
    const typed = { mlp: { 32: 15100, 128: 40000, 512: 75400 }, cnn: { 32: 6900, 128: 12200, 512: 18200 } };
    keras = (model, batch) => (typed[model]?.[batch] ? { best: typed[model][batch], label: fmt(typed[model][batch]), acc: [] } : null);
    console.log('Keras figures typed in from issue 18 (another window and load, before keras-peer.py set oneDNN and bstune\'s split), NOT measured in this run; --keras PYTHON measures them in this window:');
    console.log('model  batch  Keras (issue 18)      bstune 1 thread  bstune default (threads)  ratio 1 thread  ratio default');
  }
  for (const model of models) for (const batch of sizes) {
    const one = cell(model, batch, '1');
    const def = cell(model, batch, 'default');
    const k = keras(model, batch);
    if (!k || (!one && !def)) continue;
    const ratio = (r) => (r ? (r.median / k.best).toFixed(2) : '–');
    const line = `${model.padEnd(6)} ${String(batch).padStart(5)}  ${k.label.padStart(20)}  ${fmt(one?.median).padStart(15)}  ${`${fmt(def?.median)} (${def?.threads ?? '–'})`.padStart(24)}  ${ratio(one).padStart(14)}  ${ratio(def).padStart(13)}`;
    console.log(values.keras ? `${line}  ${acc(k.acc).padStart(13)}  ${acc([...(one?.valAccuracies ?? []), ...(def?.valAccuracies ?? [])]).padStart(14)}` : line);
  }
  if (values.keras) console.log('ratio: bstune / the faster Keras run; val acc: min–max over the runs (Keras seeds 42 and 43; bstune each cell\'s runs, seeds 42, 43, …)');
}
