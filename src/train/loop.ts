import type { Tf, Tensor, LayersModel, Optimizer } from '../tf.js';
import type { Dataset, Split } from '../data/types.js';
import type { OptimizerConfig } from '../config/schema.js';
import { learningRateAt } from './schedule.js';
import { BatchFiller, shuffledOrder } from './batches.js';
import { WasmFusedAdamOptimizer } from '../backend/kernels/fused-adam.js';
import { WebgpuFusedAdamOptimizer } from '../backend/webgpu/fused-adam.js';
import { measureGradientNoise } from './noise.js';
import { noisePoint, noiseRecord, type GradientNoiseScale, type NoisePoint } from '../noise/record.js';
import type { NoisePlan } from '../noise/plan.js';
import { divergence, lossEnds } from './divergence.js';
import { steadyThroughput, speedMeasured, MIN_WARMUP_STEPS, type SpeedBudget } from './throughput.js';
import { planIo, type IoPlan } from '../model/shapes.js';
import { dataShape, modelShape } from '../model/info.js';
import { headOf } from '../data/split.js';
import { correctOf, labelTensor, lossOf } from './objective.js';
import { readPair, readScalars } from './reads.js';
import { Replicas, type ReplicaRecipe } from './parallel/pool.js';
import { fuseConvBiasRelu } from '../backend/kernels/fuse-conv-layers.js';
import { DirectStep } from './direct/runner.js';

export interface EpochRecord {
  epoch: number;
  /** Running averages over the epoch's steps, as Keras reports them. */
  trainLoss: number;
  trainAccuracy: number;
  /** A pass over a fixed training subset after the epoch, like validation; null in find-max trials. */
  trainEvalLoss: number | null;
  trainEvalAccuracy: number | null;
  valLoss: number;
  valAccuracy: number;
  /** Rate used by the last step of the epoch. */
  learningRate: number;
  seconds: number;
  steps: number;
}

export interface StepEvent {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  loss: number;
  learningRate: number;
  /** Read back from the optimizer (with traceLearningRate), to prove the schedule reached it. */
  optimizerLearningRate?: number;
  seconds: number;
}

export interface TrainOptions {
  /** The micro-batch: samples per forward/backward pass. */
  batchSize: number;
  /**
   * Gradient accumulation: each optimizer step averages the gradients of this many
   * micro-batches (default 1), so it trains like one batch of accumulate × batchSize.
   */
  accumulate?: number;
  epochs: number;
  /** find-max trials: stop after this many steps (more with speedBudget), then one validation pass. */
  maxSteps?: number;
  /** With maxSteps: keep stepping past it until samples/s is measured (see throughput.ts). */
  speedBudget?: SpeedBudget;
  /** Called when the training steps are over (before validation): the timed part is done. */
  onTimed?: () => void;
  /**
   * A budget other than epochs: `epochs` rounds of this many steps each, or of this many
   * seconds of training steps each, each round ending with a validation pass (a record).
   * The data still comes in shuffled epochs of the training set, across round boundaries.
   */
  rounds?: { steps: number } | { seconds: number };
  optimizer: OptimizerConfig;
  seed: number;
  /** Bytes of peak tensor memory above which training stops (counted as out of memory). */
  memoryLimit: number | null;
  onStep?: (e: StepEvent) => void;
  /**
   * Read the rate back from the optimizer that applied each step's update (a device read for
   * SGD: tests only): this thread's, or with training threads the applier's.
   */
  traceLearningRate?: boolean;
  onEpoch?: (r: EpochRecord) => void;
  /**
   * Measure the gradient noise scale with this plan at the initial weights and after the
   * last epoch (and after every epoch with noiseEveryEpoch), outside the timed steps.
   */
  noise?: NoisePlan | null;
  noiseEveryEpoch?: boolean;
  /**
   * Steps whose loss and accuracy stay on the device before they are read back together
   * (default 1: each step's at once). On a GPU a read waits for the queue to drain, so
   * reading per step serialises the host and the device. Every step's loss is still read
   * (divergence and NaN checks see them all, progress reports them), only later: at the
   * end of each window, after the memory-profiled step and at the end of each epoch.
   * Steps within a window are timed together, each its window's mean. Ignored (1) in
   * find-max probes and time-budget rounds, whose stopping rules need every step's time,
   * and with traceLearningRate.
   */
  readEvery?: number;
  /** Measure the noise scale at the initial weights too (default true). */
  noiseAtStart?: boolean;
  /** Full runs: evaluate a training subset after each epoch (default true). */
  trainEval?: boolean;
  /** Test-only fault injection, called after each step. */
  afterStep?: (globalStep: number) => void;
  /** Batch shape, loss and accuracy (from the shape checks); default: planned from the data and model. */
  io?: IoPlan;
  /**
   * Data parallelism (wasm): `count` replicas, this thread and count − 1 worker threads,
   * each training a shard of every batch (see parallel/pool.ts); 1 or absent: this thread only.
   */
  threads?: {
    count: number;
    /** How a worker builds the same model (its weights then come from this thread). */
    recipe: ReplicaRecipe;
    /** Tests: worker `rank` throws at step `step` (1-based). */
    failAt?: { rank: number; step: number };
    /** Tests: every replica's weights, flattened, after the last step. */
    onReplicaWeights?: (weights: Float32Array[]) => void;
    /** Tests: load whole batches into shared memory, as for rows read from a file, even when the data set is in memory. */
    wholeBatches?: boolean;
  };
}

export interface TrainResult {
  /** Replicas that trained (data parallelism): 1 = this thread only. */
  threads: number;
  history: EpochRecord[];
  steps: number;
  /** Steady-state samples per second, after warm-up (see throughput.ts); null when no step was steady. */
  samplesPerSecond: number | null;
  /** One epoch of training steps at that rate (no validation, no warm-up). */
  secondsPerEpoch: number | null;
  steadySteps: number;
  /** The first steps, kept apart from samplesPerSecond: kernel set-up, the profiled step, JIT warm-up. */
  warmupSteps: number;
  warmupSeconds: number;
  /** What the warm-up cost beyond the same steps at the steady rate. */
  warmupExtraSeconds: number;
  /** The highest rate any step used (below the scaled rate when warmup outlasts the run). */
  peakLearningRate: number | null;
  /** Mean training loss of the first and the last steps (see divergence.ts). */
  initialLoss: number | null;
  finalLoss: number | null;
  /** Why the run counts as diverged (NaN/Inf or rising loss, chance accuracy), else null. */
  divergence: string | null;
  /** Wall seconds of each epoch as it ran: training steps (the first epoch's warm-up too) and validation. */
  epochSeconds: number[];
  peakMemoryBytes: number;
  /** Tensor bytes live just before the profiled step: weights and optimizer state. */
  memoryBaselineBytes: number;
  memorySource: string;
  exceededMemoryLimit: boolean;
  /** B_simple at the initial and final weights; null when not measured. */
  gradientNoiseScale: GradientNoiseScale | null;
}

export function createOptimizer(tf: Tf, cfg: OptimizerConfig, learningRate: number): Optimizer {
  if (cfg.name === 'sgd') return cfg.momentum > 0 ? tf.train.momentum(learningRate, cfg.momentum) : tf.train.sgd(learningRate);
  // On wasm the same Adam math in one pass per variable (bit-identical to tf.train.adam
  // there): the stock optimizer's ~14 tiny kernels per variable dominate small-model steps.
  if (tf.getBackend() === 'wasm') return new WasmFusedAdamOptimizer(learningRate, 0.9, 0.999) as unknown as Optimizer;
  // On webgpu the same math in 3 dispatches per variable instead of ~14 (each dispatch has a fixed cost).
  if (tf.getBackend() === 'webgpu') return new WebgpuFusedAdamOptimizer(learningRate, 0.9, 0.999) as unknown as Optimizer;
  return tf.train.adam(learningRate);
}

/** tfjs reads Adam's rate from a field on every step; SGD keeps a scalar that setLearningRate rebuilds. */
export function setLearningRate(opt: Optimizer, lr: number): void {
  const sgd = opt as Optimizer & { setLearningRate?: (lr: number) => void };
  if (typeof sgd.setLearningRate === 'function') sgd.setLearningRate(lr);
  else (opt as unknown as { learningRate: number }).learningRate = lr;
}

/**
 * The rate the next update will really use: SGD and momentum multiply by a kept scalar
 * tensor `c` = −rate (rebuilt by setLearningRate), so that is read, not the plain field
 * they also keep; Adam reads its `learningRate` field on every step.
 */
export function readLearningRate(opt: Optimizer): number {
  const o = opt as unknown as { learningRate: number; c?: { dataSync(): ArrayLike<number>; isDisposed?: boolean } };
  if (o.c && !o.c.isDisposed) return -o.c.dataSync()[0]!;
  return o.learningRate;
}

// Inside the warm-up that steadyThroughput always drops, so its slower time never counts.
const PROFILED_STEP = MIN_WARMUP_STEPS - 1;

export async function train(tf: Tf, model: LayersModel, data: Dataset, o: TrainOptions): Promise<TrainResult> {
  fuseConvBiasRelu(model);
  const train = data.train;
  const accumulate = o.accumulate ?? 1;
  // What one optimizer step sees; the learning-rate schedule, epochs and samples/s follow it.
  const effective = o.batchSize * accumulate;
  const stepsPerEpoch = Math.max(1, Math.floor(train.count / effective));
  const roundSteps = o.rounds && 'steps' in o.rounds ? o.rounds.steps : stepsPerEpoch;
  const roundSeconds = o.rounds && 'seconds' in o.rounds ? o.rounds.seconds : null;
  // A time budget has no step count: the schedule (cosine decay) follows the epoch budget's.
  const scheduleSteps = o.maxSteps ?? roundSteps * o.epochs;
  const totalSteps = roundSeconds !== null ? Infinity : scheduleSteps;
  // A probe (find-max trial) runs maxSteps steps as one pass even when the training set
  // holds fewer batches (the batch filler wraps around): a large batch on a small set
  // must still reach the profiled step, or its peak memory would read 0.
  const epochs = o.maxSteps !== undefined ? 1 : o.epochs;
  const stepsInEpoch = o.maxSteps !== undefined ? totalSteps : roundSteps;
  const probe = o.maxSteps !== undefined;
  const readEvery = probe || roundSeconds !== null || o.traceLearningRate ? 1 : Math.max(1, Math.floor(o.readEvery ?? 1));
  const optimizer = createOptimizer(tf, o.optimizer, learningRateAt(o.optimizer, { batchSize: effective, stepsPerEpoch, totalSteps: scheduleSteps, step: 0 }));
  const filler = new BatchFiller(train, o.batchSize);
  const io = o.io ?? planIo(dataShape(data), modelShape(model, model.name));
  const xShape = (b: number): number[] => [b, ...io.xShape];

  const threads = o.threads && o.threads.count > 1 ? o.threads : null;
  const result: TrainResult = {
    threads: threads?.count ?? 1,
    history: [], steps: 0, samplesPerSecond: null, secondsPerEpoch: null, steadySteps: 0, warmupSteps: 0, warmupSeconds: 0, warmupExtraSeconds: 0, peakLearningRate: null, initialLoss: null, finalLoss: null, divergence: null, epochSeconds: [],
    peakMemoryBytes: 0, memoryBaselineBytes: 0, exceededMemoryLimit: false, gradientNoiseScale: null,
    memorySource: `tf.profile peakBytes over training step ${PROFILED_STEP + 1} (tensors of weights, optimizer state, activations, gradients, one batch)${threads ? `, summed over ${threads.count} training threads (each a replica with its own wasm heap) plus the batch and gradient buffers they share` : ''}`,
  };
  // Workers load their backend and model while this thread measures the initial noise scale.
  const replicasStarting = threads
    ? Replicas.start(tf, {
        count: threads.count, model, optimizer, io, optimizerConfig: o.optimizer, recipe: threads.recipe, batch: o.batchSize, accumulate,
        sampleSize: filler.sampleSize, labelSize: filler.labelSize, yFloat: filler.y instanceof Float32Array, ...(threads.failAt ? { failAt: threads.failAt } : {}),
        ...(o.traceLearningRate ? { traceLearningRate: true } : {}),
      })
    : null;
  replicasStarting?.catch(() => {});
  let replicas: Replicas | null = null;
  try {
    const stepSeconds: number[] = [];
    let globalStep = 0;
    // A probe keeps stepping past maxSteps until its speed is measured (a few steps are all warm-up).
    const more = () => globalStep < totalSteps || (probe && o.speedBudget !== undefined && !speedMeasured(stepSeconds, o.speedBudget));
    const stepLosses: number[] = [];
    const finish = (r: TrainResult): TrainResult => {
      const ends = lossEnds(stepLosses, effective);
      Object.assign(r, steadyThroughput(stepSeconds, effective, stepsPerEpoch), { initialLoss: ends.initialLoss, finalLoss: ends.finalLoss });
      const last = r.history[r.history.length - 1];
      r.divergence = divergence({
        initialLoss: r.initialLoss, finalLoss: r.finalLoss, peakLoss: ends.peakLoss, riseNoise: ends.riseNoise,
        losses: r.history.flatMap((h) => [h.trainLoss, h.valLoss]),
        // A find-max trial's few steps at a warmup rate are not expected to learn.
        valAccuracy: probe ? null : (last?.valAccuracy ?? null),
        numClasses: data.numClasses,
      });
      return r;
    };

    // The tape's kernels without the tape, for the models it knows (same bits; null: the tape trains).
    const direct = DirectStep.of(model, io);
    /** One optimizer step; `fill(k)` loads micro-batch k into the filler. */
    const step = (fill: (k: number) => void): { loss: Tensor | number; correct: Tensor | number } => {
      if (accumulate > 1) return accumulatedStep(tf, model, optimizer, filler, io, xShape, accumulate, fill, direct);
      fill(0);
      // Not inside tf.profile (the profiled step below): that one runs on the tape.
      const fast = direct?.step(optimizer, filler.x, filler.y, o.batchSize);
      if (fast) return fast;
      const x = tf.tensor(filler.x, xShape(o.batchSize));
      const labels = labelTensor(tf, io, filler.y, o.batchSize);
      let correct: Tensor | null = null;
      const loss = optimizer.minimize(() => {
        const out = model.apply(x, { training: true }) as Tensor;
        correct = tf.keep(correctOf(tf, io, labels, out));
        return lossOf(tf, io, labels, out);
      }, true)!;
      tf.dispose([x, labels]);
      return { loss, correct: correct! };
    };

    // Its own seeded draws, so measuring never changes the training run's batches.
    const noisePoints: NoisePoint[] = [];
    const measureNoise = async (epoch: number): Promise<void> => {
      if (!o.noise) return;
      noisePoints.push(noisePoint(epoch, await measureGradientNoise(tf, model, train, o.noise, o.seed * 7919 + 13 * epoch + 1, { io })));
      result.gradientNoiseScale = noiseRecord(noisePoints, o.noise);
    };
    if (o.noiseAtStart !== false) await measureNoise(0);
    replicas = replicasStarting ? await replicasStarting : null;

    for (let epoch = 1; epoch <= epochs && more(); epoch++) {
      let order = shuffledOrder(train.count, o.seed * 1000 + epoch);
      let dataEpoch = epoch;
      let roundTrainSeconds = 0;
      const epochStart = performance.now();
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;
      let lr = 0;
      let s = 0;
      // Steps run but not yet read back (see readEvery); a threaded step's values are numbers already.
      // `applied`: the rate the applier's optimizer held (training threads, traceLearningRate).
      type Pending = { loss: Tensor | number; correct: Tensor | number; s: number; globalStep: number; lr: number; applied?: number };
      let pending: Pending[] = [];
      let windowStart = 0;
      let stopped = false;
      const flush = async (): Promise<void> => {
        if (pending.length === 0) return;
        const window = pending;
        pending = [];
        const onDevice = window.flatMap((p) => [p.loss, p.correct]).filter((t): t is Tensor => typeof t !== 'number');
        const read = onDevice.length === 2 ? await readPair(tf, onDevice[0]!, onDevice[1]!) : await readScalars(tf, onDevice);
        let k = 0;
        const value = (t: Tensor | number): number => (typeof t === 'number' ? t : read[k++]!);
        const seconds = (performance.now() - windowStart) / 1000 / window.length;
        for (const p of window) {
          const lossValue = value(p.loss);
          const correctValue = value(p.correct);
          roundTrainSeconds += seconds;
          stepLosses.push(lossValue);
          lossSum += lossValue * effective;
          correctSum += correctValue;
          seen += effective;
          stepSeconds.push(seconds);
          o.onStep?.({ epoch, step: p.s + 1, stepsPerEpoch: stepsInEpoch, globalStep: p.globalStep, loss: lossValue, learningRate: p.lr, ...(o.traceLearningRate ? { optimizerLearningRate: p.applied ?? readLearningRate(optimizer) } : {}), seconds });
          o.afterStep?.(p.globalStep);
        }
        if (o.memoryLimit !== null && result.peakMemoryBytes > o.memoryLimit) {
          result.exceededMemoryLimit = true;
          result.steps = window[window.length - 1]!.globalStep + 1;
          optimizer.dispose();
          stopped = true;
        }
      };
      for (; (probe || (roundSeconds !== null ? roundTrainSeconds < roundSeconds : s < stepsInEpoch)) && more(); s++, globalStep++) {
        // A probe's timing steps past maxSteps hold its last scheduled rate: how long the
        // timing takes must not change the rate the trial reaches and reports.
        lr = learningRateAt(o.optimizer, { batchSize: effective, stepsPerEpoch, totalSteps: scheduleSteps, step: probe ? Math.min(globalStep, scheduleSteps - 1) : globalStep });
        // Rounds cut across the data's epochs: the batch is the next one of the current data epoch.
        const position = o.rounds ? globalStep % stepsPerEpoch : s;
        if (o.rounds && Math.floor(globalStep / stepsPerEpoch) + 1 !== dataEpoch) {
          dataEpoch = Math.floor(globalStep / stepsPerEpoch) + 1;
          order = shuffledOrder(train.count, o.seed * 1000 + dataEpoch);
        }
        // With training threads the applier's optimizer takes the rate (Replicas.step); this thread's applies nothing.
        if (!replicas) setLearningRate(optimizer, lr);
        if (result.peakLearningRate === null || lr > result.peakLearningRate) result.peakLearningRate = lr;
        if (pending.length === 0) windowStart = performance.now();
        const epochOrder = order;
        const fill = (k: number) => filler.fill(epochOrder, (position * accumulate + k) * o.batchSize);
        const profiled = globalStep === Math.min(PROFILED_STEP, totalSteps - 1);
        if (replicas) {
          const into = threads?.wholeBatches ? null : filler.fillInto;
          const base = position * accumulate * o.batchSize;
          const r = await replicas.step({
            fill: (k) => { fill(k); return filler; },
            rows: into && ((k, start, n, x, y) => into(epochOrder, base + k * o.batchSize + start, n, x, y)),
          }, lr, profiled);
          if (profiled) {
            result.memoryBaselineBytes = r.baselineBytes!;
            result.peakMemoryBytes = r.peakBytes!;
          }
          pending.push({ loss: r.loss, correct: r.correct, s, globalStep, lr, ...(r.appliedLearningRate !== undefined ? { applied: r.appliedLearningRate } : {}) });
        } else {
          let out: { loss: Tensor | number; correct: Tensor | number };
          if (profiled) {
            const before = tf.memory().numBytes;
            let kept: { loss: Tensor; correct: Tensor } | null = null;
            const info = await tf.profile(() => {
              kept = step(fill) as { loss: Tensor; correct: Tensor };
              return [kept.loss, kept.correct];
            });
            out = kept!;
            result.memoryBaselineBytes = before;
            result.peakMemoryBytes = Math.max(info.peakBytes, before);
          } else {
            out = step(fill);
          }
          pending.push({ ...out, s, globalStep, lr });
        }
        // The warm-up steps up to the profiled one are read (and timed) one by one, and the
        // memory limit is checked right after the profiled step, as without windows.
        if (pending.length >= readEvery || globalStep <= PROFILED_STEP) {
          await flush();
          if (stopped) return finish(result);
        }
      }
      // With training threads this thread's model is one update behind until it settles (see parallel/pool.ts).
      await replicas?.settle();
      await flush();
      if (stopped) return finish(result);
      if (!more() || epoch === epochs) o.onTimed?.();
      const val = await evaluate(tf, model, data.validation, o.batchSize, xShape, io);
      const seconds = (performance.now() - epochStart) / 1000;
      // The running train accuracy mixes weights from the whole epoch; comparing it with a
      // validation pass after the epoch biases the generalization gap. So the same pass is
      // made over a fixed training subset of the validation set's size (not in find-max
      // trials, which do not report a gap), outside the timed epoch.
      const trainEval = o.maxSteps === undefined && o.trainEval !== false ? await evaluate(tf, model, trainSubset(train, data.validation.count), o.batchSize, xShape, io) : null;
      const record: EpochRecord = {
        epoch, trainLoss: lossSum / seen, trainAccuracy: io.accuracy === 'none' ? NaN : correctSum / seen,
        trainEvalLoss: trainEval?.loss ?? null, trainEvalAccuracy: trainEval?.accuracy ?? null,
        valLoss: val.loss, valAccuracy: val.accuracy, learningRate: lr, seconds, steps: s,
      };
      result.history.push(record);
      result.epochSeconds.push(seconds);
      if (o.noiseEveryEpoch || epoch === epochs || globalStep >= totalSteps) await measureNoise(epoch);
      o.onEpoch?.(record);
    }
    if (replicas && threads?.onReplicaWeights) threads.onReplicaWeights(await replicas.replicaWeights());
    result.steps = globalStep;
    optimizer.dispose();
    return finish(result);
  } finally {
    if (replicas) await (replicas as Replicas).close();
    else await replicasStarting?.then((r) => r.close(), () => {});
  }
}

/**
 * Sums the gradients of `accumulate` micro-batches, then applies their mean: the mean
 * loss of one big batch is the mean of the micro-batch means (equal sizes), so its
 * gradient is the mean of theirs. Memory: one micro-batch's activations plus a running
 * sum the size of the weights (the accumulators), both inside the profiled step.
 */
function accumulatedStep(
  tf: Tf, model: LayersModel, optimizer: Optimizer, filler: BatchFiller, io: IoPlan,
  xShape: (b: number) => number[], accumulate: number, fill: (k: number) => void, direct: DirectStep | null,
): { loss: Tensor; correct: Tensor } {
  let sums: Record<string, Tensor> | null = null;
  let lossSum: Tensor | null = null;
  let correctSum: Tensor | null = null;
  const addInto = (acc: Tensor | null, t: Tensor): Tensor => {
    if (acc === null) return t;
    const next = tf.add(acc, t);
    tf.dispose([acc, t]);
    return next;
  };
  for (let k = 0; k < accumulate; k++) {
    fill(k);
    const { value, grads, correct } = microBatch(tf, model, filler, io, xShape, direct);
    if (sums === null) sums = grads;
    else for (const name of Object.keys(grads)) sums[name] = addInto(sums[name] ?? null, grads[name]!);
    lossSum = addInto(lossSum, value);
    correctSum = addInto(correctSum, correct);
  }
  const mean = tf.tidy(() => Object.fromEntries(Object.entries(sums!).map(([name, g]) => [name, tf.div(g, accumulate)])));
  tf.dispose(Object.values(sums!));
  optimizer.applyGradients(mean);
  tf.dispose(Object.values(mean));
  const loss = tf.tidy(() => tf.div(lossSum!, accumulate));
  tf.dispose(lossSum!);
  return { loss, correct: correctSum! };
}

/** One micro-batch's loss, correct count and gradients (by variable name), direct when it can be (the same bits). */
function microBatch(
  tf: Tf, model: LayersModel, filler: BatchFiller, io: IoPlan, xShape: (b: number) => number[], direct: DirectStep | null,
): { value: Tensor; grads: Record<string, Tensor>; correct: Tensor } {
  const fast = direct?.gradientTensors(filler.x, filler.y, filler.batchSize);
  if (fast) return { value: tf.scalar(fast.loss), grads: fast.grads, correct: tf.scalar(fast.correct) };
  const x = tf.tensor(filler.x, xShape(filler.batchSize));
  const labels = labelTensor(tf, io, filler.y, filler.batchSize);
  let correct: Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true }) as Tensor;
    correct = tf.keep(correctOf(tf, io, labels, out));
    return lossOf(tf, io, labels, out);
  });
  tf.dispose([x, labels]);
  return { value, grads, correct: correct! };
}

function trainSubset(train: Split, count: number): Split {
  return headOf(train, count);
}

/** Validation at the training batch size: a forward pass can also run out of memory. */
/** The built-in models' plan: MNIST digits, 10 logits, softmax cross-entropy. */
const MNIST_LOGITS: IoPlan = { xShape: [784], outputSize: 10, loss: 'sparseCategoricalCrossentropy', fromLogits: true, labels: 'sparse', accuracy: 'argmax' };

/** Batches of a validation pass read back together (bounded: a batch of 1 over a big set). */
const EVAL_READ_BATCHES = 256;

/** Validation at the training batch size: a forward pass can also run out of memory. Accuracy is NaN where it does not apply (regression). */
export async function evaluate(tf: Tf, model: LayersModel, split: Split, batchSize: number, xShape: (b: number) => number[], io: IoPlan = MNIST_LOGITS): Promise<{ loss: number; accuracy: number }> {
  const filler = new BatchFiller(split, Math.min(batchSize, split.count));
  const order = Array.from({ length: split.count }, (_, i) => i);
  // Each batch's loss and count stay on the device until the pass is over: one read
  // instead of one per batch (the same numbers, summed in the same order).
  const results: Tensor[] = [];
  const sizes: number[] = [];
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.count; start += filler.batchSize) {
    const size = Math.min(filler.batchSize, split.count - start);
    filler.fill(order, start, size);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor(filler.x.subarray(0, size * filler.sampleSize), xShape(size));
      const labels = labelTensor(tf, io, filler.y, size);
      // Not predict(): that cuts the batch into slices of 32, and each slice of a wasm tensor
      // copies the whole batch out of the heap first (quadratic in the batch size).
      const out = model.apply(x, { training: false }) as Tensor;
      return [lossOf(tf, io, labels, out), correctOf(tf, io, labels, out)];
    });
    results.push(l!, c!);
    sizes.push(size);
    if (sizes.length === EVAL_READ_BATCHES || start + filler.batchSize >= split.count) {
      const values = await readScalars(tf, results.splice(0));
      sizes.splice(0).forEach((n, i) => {
        lossSum += values[2 * i]! * n;
        correct += values[2 * i + 1]!;
      });
    }
  }
  return { loss: lossSum / split.count, accuracy: io.accuracy === 'none' ? NaN : correct / split.count };
}
