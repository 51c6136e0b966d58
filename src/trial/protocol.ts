import type { Config } from '../config/schema.js';
import type { ConcreteBackend } from '../backend/resolve.js';
import type { EpochRecord, TrainResult } from '../train/loop.js';
import type { Outcome } from '../backend/oom.js';
import type { GradientNoiseScale } from '../noise/record.js';

/** What the parent asks a trial process to do. */
export interface TrialSpec {
  config: Config;
  backend: ConcreteBackend;
  batchSize: number;
  /** probe: find-max's few steps and one validation pass; full: training.epochs epochs. */
  mode: 'probe' | 'full';
  seed: number;
  cacheDir?: string;
  /** Full runs: training.epochs rounds of this many steps or training seconds instead of epochs (a sweep's --budget). */
  rounds?: { steps: number } | { seconds: number };
  /** Measure the gradient noise scale (full runs; default true). */
  noise?: boolean;
  /** ... after every epoch too, not only at the start and end (default: where cheap, see noise/plan.ts). */
  noiseEveryEpoch?: boolean;
  /** Measure the noise scale at the initial weights too (default true). recommend measures them once: every candidate starts from the same weights. */
  noiseAtStart?: boolean;
  /** Evaluate a training subset after each epoch for the generalization gap (default true; recommend does not use it). */
  trainEval?: boolean;
  /** Trials running at once on this host (the local pool's slots): the default training.threads shares the cores among them. */
  slots?: number;
}

export interface TrialMeasurements extends TrainResult {
  /** Process peak resident set (getrusage maxrss). */
  processPeakRssBytes: number;
  /** Device memory in use by the trial per nvidia-smi, on a GPU backend where it is present. */
  deviceMemoryBytes: number | null;
  /** Seconds spent in the trial process before training: backend init, data load, model build. */
  setupSeconds: { backend: number; data: number; model: number };
  trainSeconds: number;
  /** The WebGPU adapter the trial trained on (adapterLine), null on other backends. */
  adapter: string | null;
  model: string;
  data: string;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'step'; epoch: number; step: number; stepsPerEpoch: number; loss: number; learningRate: number; samplesPerSecond: number }
  | { type: 'setup'; seconds: number; threads?: number }
  /** The training steps are over (validation follows): nothing timed runs any more. */
  | { type: 'timed' }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'result'; measurements: TrialMeasurements }
  | { type: 'failure'; name: string; message: string; stack: string | null; code: string | null; where: string | null; wasmHeapBytes: number | null; peakLearningRate: number | null };

export type ParentMessage = { type: 'run'; spec: TrialSpec };

/** One trial as reported: the JSON document's `trials[]` item and a results-file line. */
export interface TrialResult {
  /** The micro-batch: samples per forward/backward pass (what memory depends on). */
  batchSize: number;
  /** Micro-batches whose gradients each optimizer step averages (training.accumulate). */
  accumulate: number;
  /** batchSize × accumulate: what one optimizer step trains on (the learning rate follows it). */
  effectiveBatchSize: number;
  /** The peak rate the run actually reached (below scaledLearningRate when warmup outlasts it); null when no step ran. */
  learningRate: number | null;
  /** The rate scaled from the base for this batch size: the target, which warmup may not reach. */
  scaledLearningRate: number;
  seed: number;
  /** Training threads (data-parallel replicas, each with its own backend and memory); null when the trial failed before planning them. */
  threads: number | null;
  outcome: Outcome;
  reason: string | null;
  peakMemoryBytes: number | null;
  memoryBaselineBytes: number | null;
  memorySource: string | null;
  processPeakRssBytes: number | null;
  deviceMemoryBytes: number | null;
  /** Steady-state training samples/s after warm-up: the one definition (src/train/throughput.ts). */
  samplesPerSecond: number | null;
  /** One epoch of training steps at samplesPerSecond (no validation, no warm-up). */
  secondsPerEpoch: number | null;
  /** The first steps, kept out of samplesPerSecond, and their wall seconds. */
  warmupSteps: number | null;
  warmupSeconds: number | null;
  /** What the warm-up cost beyond the same steps at the steady rate. */
  warmupExtraSeconds: number | null;
  steadySteps: number | null;
  /** Wall seconds of each epoch as it ran, validation and (first epoch) warm-up included. */
  epochSeconds: number[];
  valAccuracy: number | null;
  valLoss: number | null;
  /** Mean training loss of the first and the last steps: the evidence for "loss rose" (divergence.ts). */
  initialLoss: number | null;
  finalLoss: number | null;
  history: EpochRecord[];
  steps: number;
  /** Wall-clock seconds of the whole trial, process start to exit. */
  seconds: number;
  /** Of which outside training: process start, backend init, data load, model build. */
  overheadSeconds: number;
  /** B_simple (McCandlish et al. 2018) at the initial and final weights, in samples; null when not measured (find-max). */
  gradientNoiseScale: GradientNoiseScale | null;
  /** The model trained and its loss, e.g. "…/model.json: 6 layers, input [28, 28, 1], output [10] (5,258 params); loss sparseCategoricalCrossentropy; weights from the file" (a model.json says where its weights came from: the file, or "initialised from seed N"); absent when the trial failed before building it. */
  model?: string;
  /** The WebGPU adapter it trained on, e.g. "llvmpipe: Mesa 25.0.7 (mesa, software; fallback adapter)"; absent on other backends. With --gpus it is the adapter of ranOn.gpu. */
  adapter?: string;
  /**
   * Where it ran: the host, its GPU if any (--gpus: CUDA_VISIBLE_DEVICES for tensorflow-gpu, the adapter index for webgpu), and how many trials that
   * host ran at once (samples/s measured beside other trials on a shared CPU read lower).
   */
  ranOn?: { host: string; gpu: string | null; slots: number };
}

/** The data a trial process may load before its spec arrives (the same for every trial of a run). */
export function preloadKey(spec: TrialSpec): string {
  return JSON.stringify({ data: spec.config.data, seed: spec.config.training.seed, ...(spec.cacheDir ? { cacheDir: spec.cacheDir } : {}) });
}
