// Where a threaded step's CPU goes, per thread, on the real train() loop (wasm, CNN):
//   npx tsc -p tsconfig.json && node bench/thread-cpu.mjs [modes] [--rounds R] [--steps S] [--skip K] [--warm W]
// modes: comma-separated TxB (T training threads, batch B), run interleaved in one process, R rounds;
// "pairB": this process trains 1xB while a second process does the same at the same time (two
// independent one-thread trainings: what two cores give without data parallelism).
// Per mode, over steps K..S of one train() call (default 10..140; each call starts its workers cold):
// wall ms per step (all, and the median step), CPU ms per step of the main thread, of the worker replica(s) (the
// busiest threads started by the call) and of every other thread of the process (V8's helper threads:
// TurboFan compiles, GC), run-queue waits of the training threads (ms per step they were runnable but
// had no CPU), and the whole train() call's wall and CPU time (incl. the workers' start). Linux only
// (/proc/self/task/TID/schedstat). Before the first mode, W one-thread steps (default 100) warm this
// thread's JIT, as the earlier trials of a process would.
import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../dist/data/index.js';
import { setupBackend } from '../dist/backend/setup.js';
import { buildModel } from '../dist/model/build.js';
import { train } from '../dist/train/loop.js';

const option = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const modes = (process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : '1x128,2x128').split(',');
const rounds = option('--rounds', 3);
const S = option('--steps', 140);
const skip = option('--skip', 10);
const warm = option('--warm', 100);
const child = process.argv.includes('--child');

const tf = await setupBackend('wasm');
const data = await loadDataset({ source: 'embedded', validationSplit: 0.2 }, { seed: 42 });
const modelCfg = { kind: 'cnn', filters: [8, 16], kernelSize: 5, poolSize: 2, dense: [] };
const optimizer = { name: 'adam', learningRate: 0.001, baseBatchSize: 32, scaling: 'none', momentum: 0.9, warmup: {}, decay: 'none', minLearningRate: 0 };
const model = buildModel(tf, modelCfg, 42);
const recipe = { backend: 'wasm', model: modelCfg, seed: 42, data: { sampleShape: data.sampleShape, labelShape: data.labelShape, numClasses: data.numClasses, origin: data.origin } };

function schedstats() {
  const m = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      m.set(tid, { run, wait });
    } catch { /* thread ended */ }
  }
  return m;
}
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

async function measure(threads, batchSize, seed) {
  const before = new Set(schedstats().keys());
  const wall = [];
  let a = null;
  let b = null;
  let t0 = 0;
  let t1 = 0;
  const c0 = process.cpuUsage();
  const T0 = performance.now();
  await train(tf, model, data, {
    batchSize, epochs: 1000, maxSteps: S + 1, optimizer, seed, memoryLimit: null, warmupSteps: 2,
    ...(threads > 1 ? { threads: { count: threads, recipe } } : {}),
    onStep: (e) => {
      if (e.globalStep >= skip && e.globalStep < S) wall.push(e.seconds * 1000);
      if (e.globalStep === skip) { a = schedstats(); t0 = performance.now(); }
      if (e.globalStep === S) { b = schedstats(); t1 = performance.now(); }
    },
  });
  const cpu = process.cpuUsage(c0);
  const T1 = performance.now();
  const n = S - skip;
  const per = [...b].map(([tid, s]) => {
    const p = a.get(tid) ?? { run: 0, wait: 0 };
    return { tid, run: (s.run - p.run) / 1e6 / n, wait: (s.wait - p.wait) / 1e6 / n, started: !before.has(tid) };
  });
  const main = per.find((p) => p.tid === String(process.pid));
  const workers = per.filter((p) => p.started).sort((p, q) => q.run - p.run).slice(0, threads - 1);
  const helpers = per.filter((p) => p !== main && !workers.includes(p)).reduce((s, p) => s + p.run, 0);
  const f = (x) => x.toFixed(2);
  return `wall ${f((t1 - t0) / n)} ms/step (median step ${f(median(wall))}); cpu ms/step: main ${f(main.run)}`
    + `${workers.map((w) => ` + worker ${f(w.run)}`).join('')} + V8 helpers ${f(helpers)} = ${f(main.run + workers.reduce((s, w) => s + w.run, 0) + helpers)};`
    + ` run-queue wait main ${f(main.wait)}${workers.map((w) => ` worker ${f(w.wait)}`).join('')}; whole train() ${Math.round(T1 - T0)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms cpu`;
}

/** Starts this bench as a second process training 1xB; resolves once it has warmed up (its "ready" line). */
function partner(batch) {
  const p = spawn(process.execPath, [fileURLToPath(import.meta.url), `1x${batch}`, '--child', '--rounds', '1', '--steps', String(S), '--skip', String(skip), '--warm', String(warm)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise((resolve) => p.stdout.on('data', (d) => { out += d; if (out.includes('ready\n')) resolve(); }));
  const done = new Promise((resolve) => p.on('exit', () => resolve(out.split('\n').find((l) => l.startsWith('1x')) ?? '(no result)')));
  return { ready, done, go: () => p.stdin.write('go\n') };
}

if (warm > 0) await train(tf, model, data, { batchSize: 128, epochs: 1000, maxSteps: warm, optimizer, seed: 1, memoryLimit: null, warmupSteps: 2 });
if (child) {
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  console.log(`${modes[0]}: ${await measure(1, Number(modes[0].split('x')[1]), 2)}`);
  process.exit(0);
}
console.log(`load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; ${rounds} rounds of ${modes.join(', ')}; steps ${skip}..${S}`);
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    if (mode.startsWith('pair')) {
      const batch = Number(mode.slice(4));
      const other = partner(batch);
      await other.ready;
      other.go();
      const mine = await measure(1, batch, 2 + r);
      console.log(`r${r} ${mode} (this process) ${mine}\nr${r} ${mode} (the other)    ${(await other.done).replace(/^1x\d+: /, '')}`);
    } else {
      const [threads, batch] = mode.split('x').map(Number);
      console.log(`r${r} ${mode} ${await measure(threads, batch, 2 + r)}`);
    }
  }
}
console.log(`load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
