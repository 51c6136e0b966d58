/**
 * The trial process: one training run at one batch size, in a fresh Node process so
 * that its memory figures are its own and a crash (a GPU allocator OOM, a broken wasm
 * heap, a V8 heap limit) takes down only this trial. Talks to the parent over IPC.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isBstuneError } from '../errors.js';
import { setupBackend } from '../backend/setup.js';
import { webgpuSession } from '../backend/webgpu/session.js';
import { checkTrialFits, modelTensors } from '../backend/webgpu/limits.js';
import { adapterLine } from '../backend/webgpu/adapter.js';
import { loadDataset, releaseDataset, type DataConfig, type Dataset } from '../data/index.js';
import { describeModel } from '../model/build.js';
import { unappliedRegularizers } from '../model/info.js';
import { createModel } from '../model/create.js';
import { train } from '../train/loop.js';
import { noiseEveryEpochIsCheap, planNoise } from '../noise/plan.js';
import { PROBE_SPEED_BUDGET } from '../train/throughput.js';
import { parseFaults, faultAfterStep } from './faults.js';
import { modelMacs, planThreads } from './threads.js';
import { usableCores } from './cores.js';
import { startWatchdog } from './watchdog.js';
import { preloadKey, type ChildMessage, type ParentMessage, type TrialSpec, type TrialMeasurements } from './protocol.js';
import type { Tf } from '../tf.js';
import type { ConcreteBackend } from '../backend/resolve.js';

const send = (m: ChildMessage): Promise<void> =>
  new Promise((resolve) => (process.send ? process.send(m, undefined, {}, () => resolve()) : resolve()));

// The parent owns interruption: it stops this process itself, after saving results.
process.on('SIGINT', () => {});
// If the parent dies (even by SIGKILL) the IPC channel closes: never outlive it.
process.on('disconnect', () => process.exit(70));
// 'disconnect' needs a free event loop, but a long synchronous kernel (a big batch on
// wasm/cpu) or a real hang blocks it; a watchdog outside the loop notices the parent is
// gone (this process re-parented) and ends it (watchdog.ts).
if (process.send) startWatchdog(process.ppid, () => readFileSync('/proc/self/stat', 'utf8'));

/** Steps whose losses a GPU trial reads back together (see TrainOptions.readEvery). */
const GPU_READ_EVERY = 50;

let tfRef: Tf | null = null;
/** The highest rate a step has used so far, for the failure message of a trial that breaks mid-run. */
let peakLearningRate: number | null = null;

// The parent names the backend at fork time, so loading TensorFlow.js (most of a trial's
// start-up) can begin before the trial's spec arrives: a spare process is ready at once.
const early = process.argv[2] as ConcreteBackend | undefined;
const earlyTf: Promise<Tf> | null = early ? setupBackend(early) : null;
earlyTf?.catch(() => {}); // a failure is reported when the trial runs
// Likewise the data set (from the binary cache, or the IDX files), named as JSON by preloadKey().
const preload = process.argv[3];
const earlyData: Promise<Dataset> | null = preload && earlyTf
  ? earlyTf.then(() => {
      const p = JSON.parse(preload) as { data: DataConfig; seed: number; cacheDir?: string };
      return loadDataset(p.data, { seed: p.seed, ...(p.cacheDir ? { cacheDir: p.cacheDir } : {}) });
    })
  : null;
earlyData?.catch(() => {});

async function run(spec: TrialSpec): Promise<TrialMeasurements> {
  const { config, batchSize } = spec;
  const t0 = performance.now();
  const tf = earlyTf && early === spec.backend ? await earlyTf : await setupBackend(spec.backend);
  tfRef = tf;
  const t1 = performance.now();
  const data = earlyData && preload === preloadKey(spec)
    ? await earlyData
    : await loadDataset(config.data, { seed: config.training.seed, ...(spec.cacheDir ? { cacheDir: spec.cacheDir } : {}) });
  const t2 = performance.now();
  const { model, io, weightsNote } = await createModel(tf, config.model, spec.seed, data);
  const t3 = performance.now();
  const gpu = spec.backend === 'webgpu' ? webgpuSession() : null;
  if (gpu) {
    // Before any step: a tensor over the binding limit would compute garbage, not fail.
    const tooLarge = checkTrialFits(modelTensors(model as unknown as Parameters<typeof modelTensors>[0]), batchSize, gpu.limits);
    if (tooLarge) throw new Error(tooLarge);
  }
  // A layer with several outputs: its first one's positions.
  const firstShape = (s: unknown): (number | null)[] => (Array.isArray(s) && Array.isArray(s[0]) ? s[0] : s) as (number | null)[];
  const macsPerSample = modelMacs(model.layers.map((l) => ({ params: l.countParams(), outputShape: firstShape(l.outputShape) })));
  // find-max's probes all run on one thread count (the configured one, else 1): the default would
  // switch to 2 threads part-way down the search, and the memory model fits one line through them all.
  const configuredThreads = config.training.threads ?? (spec.mode === 'probe' ? 1 : null);
  const threads = planThreads({ configured: configuredThreads, backend: spec.backend, cores: usableCores(), slots: spec.slots ?? 1, work: { batch: batchSize, macsPerSample } }).threads;
  // Sent before training, so even a trial that then fails accounts for its start-up.
  void send({ type: 'setup', seconds: (t3 - t0) / 1000, threads });
  const faults = parseFaults(process.env.BSTUNE_TEST_FAULT);
  let lastStepSent = 0;
  const noisePlan = spec.mode === 'full' && spec.noise !== false ? planNoise(data.train.count) : null;
  // Large .npy inputs are read per batch from their files: closed when training ends, however it ends.
  const result = await train(tf, model, data, {
    batchSize,
    accumulate: config.training.accumulate,
    epochs: config.training.epochs,
    ...(spec.mode === 'probe' ? { maxSteps: config.search.stepsPerTrial, speedBudget: PROBE_SPEED_BUDGET } : {}),
    onTimed: () => void send({ type: 'timed' }),
    ...(spec.mode === 'full' && spec.rounds ? { rounds: spec.rounds } : {}),
    optimizer: config.optimizer,
    seed: spec.seed,
    memoryLimit: config.device.memoryLimit,
    // The noise scale costs gradient passes: full runs only, never find-max's probes.
    noise: noisePlan,
    noiseEveryEpoch: noisePlan !== null && (spec.noiseEveryEpoch ?? noiseEveryEpochIsCheap(noisePlan, data.train.count)),
    noiseAtStart: spec.noiseAtStart !== false,
    trainEval: spec.trainEval !== false,
    io,
    // On a GPU a read waits for the device; cpu/wasm values are already on the host.
    readEvery: spec.backend === 'webgpu' ? GPU_READ_EVERY : 1,
    ...(threads > 1 ? {
      threads: {
        count: threads,
        recipe: { backend: spec.backend, model: config.model, seed: spec.seed, data: { sampleShape: data.sampleShape, labelShape: data.labelShape, numClasses: data.numClasses, origin: data.origin } },
        ...(faults.some((f) => f.kind === 'thread' && batchSize >= f.minBatch) ? { failAt: { rank: threads - 1, step: 2 } } : {}),
      },
    } : {}),
    onStep: (e) => {
      if (peakLearningRate === null || e.learningRate > peakLearningRate) peakLearningRate = e.learningRate;
      const now = performance.now();
      if (now - lastStepSent < 200 && e.step !== e.stepsPerEpoch) return;
      lastStepSent = now;
      void send({ type: 'step', epoch: e.epoch, step: e.step, stepsPerEpoch: e.stepsPerEpoch, loss: e.loss, learningRate: e.learningRate, samplesPerSecond: (batchSize * config.training.accumulate) / e.seconds });
    },
    onEpoch: (record) => void send({ type: 'epoch', record }),
    afterStep: (step) => {
      faultAfterStep(faults, batchSize, step);
      gpu?.throwIfFailed();
    },
  }).finally(() => releaseDataset(data));
  gpu?.throwIfFailed();
  const t4 = performance.now();
  return {
    ...result,
    processPeakRssBytes: process.resourceUsage().maxRSS * 1024,
    deviceMemoryBytes: spec.backend === 'tensorflow-gpu' ? gpuMemoryOfThisProcess() : gpu ? gpu.peakBytesInGPU() : null,
    setupSeconds: { backend: (t1 - t0) / 1000, data: (t2 - t1) / 1000, model: (t3 - t2) / 1000 },
    trainSeconds: (t4 - t3) / 1000,
    adapter: gpu ? adapterLine(gpu.adapter) : null,
    model: `${describeModel(model, config.model)}; loss ${io.loss}${io.fromLogits ? ' on logits' : ''}${weightsNote ? `; ${weightsNote}` : ''}${regularizerNote(model)}`,
    data: data.source,
  };
}

/** "; regularizers not applied (dense_1 kernel, …)": bstune trains the data loss only. */
function regularizerNote(model: Parameters<typeof unappliedRegularizers>[0]): string {
  const found = unappliedRegularizers(model);
  return found.length > 0 ? `; regularizers not applied (${found.join(', ')})` : '';
}

/** nvidia-smi's figure for this process, in bytes; null where nvidia-smi is absent. */
function gpuMemoryOfThisProcess(): number | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 10_000 });
    for (const line of out.split('\n')) {
      const [pid, mib] = line.split(',').map((s) => s.trim());
      if (Number(pid) === process.pid) return Number(mib) * 2 ** 20;
    }
    return null;
  } catch {
    return null;
  }
}

function wasmHeapBytes(): number | null {
  try {
    const backend = tfRef?.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } } | undefined;
    return backend?.wasm?.HEAPU8?.byteLength ?? null;
  } catch {
    return null;
  }
}

process.on('message', (msg: ParentMessage) => {
  if (msg.type !== 'run') return;
  run(msg.spec).then(
    async (measurements) => {
      await send({ type: 'result', measurements });
      process.exit(0);
    },
    async (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      await send({
        type: 'failure', name: err.name, message: err.message, stack: err.stack ?? null,
        code: isBstuneError(e) ? e.code : null, where: isBstuneError(e) ? (e.where ?? null) : null,
        // A worker thread's failure carries its own heap (each has its own 4 GiB cap).
        wasmHeapBytes: (err as Error & { wasmHeapBytes?: number }).wasmHeapBytes ?? wasmHeapBytes(), peakLearningRate,
      });
      process.exit(1);
    },
  );
});
void send({ type: 'ready' });
