// Step-level bench on the project's own loop, robust to a shared machine:
// reports samples/s by wall time AND by process CPU time (the wasm backend is
// single-threaded, so CPU time is what other processes can't inflate much),
// plus a per-kernel profile of one step of the real train() loop.
//   npx tsc -p tsconfig.json && node bench/step.mjs [cnn|mlp] [batch] [runs] [--threads N] [--steps N] [--profile [--shapes]]
// --steps: timed steps per run (default ~4096 samples' worth); each run is one train() call, so with
// --threads its workers start cold (JIT warm-up): more steps weigh that as a long trial does.
// With --threads N (wasm data parallelism), CPU time is that of every thread: samples per CPU-second
// over the one-thread figure is the parallel efficiency, which other processes' load hardly changes.
// "clean": the median of the steps whose training threads waited for a CPU less than 5% of the
// step (Linux run-queue waits, see lib/run-queue.mjs): the code's speed when other sessions load
// the machine, which 2 threads on 2 cores feel in full (a step waits for the later thread).
import { loadDataset } from '../dist/data/index.js';
import { setupBackend } from '../dist/backend/setup.js';
import { buildModel } from '../dist/model/build.js';
import { train } from '../dist/train/loop.js';
import { runQueueWatch } from './lib/run-queue.mjs';
import { setDirectStep, directStepEnabled } from '../dist/train/direct/runner.js';

const option = (name) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : null; };
const threadCount = option('--threads') ?? 1;
const args = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--threads' && all[i - 1] !== '--steps');
const [kind = 'cnn', batchText = '128', runsText = '7'] = args;
const batchSize = Number(batchText);
const runs = Number(runsText);
const tf = await setupBackend(process.env.BSTUNE_BACKEND ?? 'wasm');
const data = await loadDataset({ source: 'embedded', validationSplit: 0.2 }, { seed: 42 });
const modelCfg = kind === 'cnn' ? { kind: 'cnn', filters: [8, 16], kernelSize: 5, poolSize: 2, dense: [] } : { kind: 'mlp', hidden: [10] };
const optimizer = { name: 'adam', learningRate: 0.001, baseBatchSize: 32, scaling: 'none', momentum: 0.9, warmup: {}, decay: 'none', minLearningRate: 0 };
const model = buildModel(tf, modelCfg, 42);
const threads = threadCount > 1 ? { threads: { count: threadCount, recipe: { backend: tf.getBackend(), model: modelCfg, seed: 42, data: { sampleShape: data.sampleShape, labelShape: data.labelShape, numClasses: data.numClasses, origin: data.origin } } } } : {};
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const steps = option('--steps') ?? Math.max(8, Math.round(4096 / batchSize));

// Step timings come from onStep (the loop's own per-step seconds); CPU time is
// taken around the same steps via process.cpuUsage (user+system of this process).
const watch = runQueueWatch();
async function timed(seed, measured) {
  const secs = [];
  let cpu0 = null;
  let cpu = 0;
  await train(tf, model, data, {
    batchSize, epochs: 1, maxSteps: steps + 2, optimizer, seed, memoryLimit: null, warmupSteps: 2, ...threads,
    onStep: (e) => {
      if (measured && e.globalStep === 2) watch.start(threadCount);
      if (measured && e.globalStep > 2) watch.step(e.seconds * 1000);
      if (e.globalStep >= 2) secs.push(e.seconds);
      if (e.globalStep === 1) cpu0 = process.cpuUsage();
      if (e.globalStep === steps + 1) { const d = process.cpuUsage(cpu0); cpu = (d.user + d.system) / 1e6; }
    },
  });
  // secs excludes step 0/1; the last step's onStep fires after cpu is read, fine.
  return { wall: (secs.length * batchSize) / secs.reduce((a, b) => a + b, 0), cpu: (steps * batchSize) / cpu, stepMs: median(secs) * 1000 };
}

await timed(1, false);
const wall = [];
const cpu = [];
const stepMs = [];
for (let r = 0; r < runs; r++) {
  const t = await timed(r + 2, true);
  wall.push(t.wall); cpu.push(t.cpu); stepMs.push(t.stepMs);
}
const f = (a) => `${Math.round(median(a))} [${Math.round(Math.min(...a))}–${Math.round(Math.max(...a))}]`;
const clean = watch.clean();
const cleanText = clean.length > 0 ? `clean ${Math.round((batchSize * 1000) / median(clean))} samples/s (${median(clean).toFixed(2)} ms, ${clean.length}/${watch.all} steps)` : `clean - (0/${watch.all} steps)`;
console.log(`${kind} b${batchSize} ${tf.getBackend()} threads ${threadCount}${directStepEnabled() ? '' : ' (tape)'}: wall ${f(wall)} samples/s; cpu-time ${f(cpu)} samples/s; ${cleanText}; median step ${median(stepMs).toFixed(2)} ms (${runs} runs x ${steps} steps)`);

if (process.argv.includes('--profile')) {
  // Profile steps of the real loop by wrapping the engine's kernel dispatch
  // (train() uses tf.profile itself at step 1, and tf.profile can't nest).
  // Times include the engine's per-op bookkeeping, which is what we pay.
  const engine = tf.engine();
  const byKernel = new Map();
  let count = 0;
  let on = false;
  let stepNo = 0;
  const runKernelFunc = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (cfg) => {
    if (!on) return runKernelFunc(cfg);
    const shapes = process.argv.includes('--shapes') && cfg.inputs
      ? ' ' + Object.values(cfg.inputs).map((t) => JSON.stringify(t?.shape)).join(',') : '';
    const name = (cfg.kernelName ?? 'anon') + shapes;
    const t0 = performance.now();
    const out = runKernelFunc(cfg);
    const ms = performance.now() - t0;
    count++;
    const e = byKernel.get(name) ?? { perStep: new Map(), n: 0 };
    e.perStep.set(stepNo, (e.perStep.get(stepNo) ?? 0) + ms);
    e.n++;
    byKernel.set(name, e);
    return out;
  };
  // The direct step (src/train/direct, BSTUNE_DIRECT_STEP) calls kernels past the engine: the
  // profiled steps run on the tape, whose kernels are the same (the gap to the step time above
  // is then partly the tape's own cost, which the direct step does not pay).
  const wasDirect = directStepEnabled();
  setDirectStep(false);
  // Later steps only: the first steps of a train() call run cold (JIT, slots).
  const reps = 20;
  const skip = 20;
  await train(tf, model, data, {
    batchSize, epochs: 1, maxSteps: skip + reps + 1, optimizer, seed: 9, memoryLimit: null, warmupSteps: 2,
    onStep: (e) => { stepNo = e.globalStep + 1; on = e.globalStep >= skip - 1 && e.globalStep < skip - 1 + reps; },
  });
  on = false;
  setDirectStep(wasDirect);
  // Median over steps per kernel name: contention spikes hit single steps.
  const rows = [...byKernel].map(([name, e]) => {
    const per = [...e.perStep.values()];
    while (per.length < reps) per.push(0);
    return { name, ms: median(per), n: e.n / reps };
  }).sort((a, b) => b.ms - a.ms);
  const total = rows.reduce((s, r) => s + r.ms, 0);
  console.log(`per-step kernels (median of ${reps} steps, incl. engine overhead per op): ${count / reps} kernel calls, ${total.toFixed(2)} ms`);
  for (const r of rows) console.log(`  ${r.name.padEnd(process.argv.includes('--shapes') ? 48 : 24)} ${r.ms.toFixed(2).padStart(7)} ms  x${r.n}`);
}
