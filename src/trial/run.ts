import { BstuneError } from '../errors.js';
import { classifyFailure } from '../backend/oom.js';
import { sampleDeviceMemory } from '../backend/device-memory.js';
import { scaledLearningRate } from '../train/schedule.js';
import { formatBytes } from '../report/stats.js';
import type { ChildMessage, TrialResult, TrialSpec, TrialMeasurements } from './protocol.js';
import type { EpochRecord } from '../train/loop.js';
import { startSpare, takeTrialProcess } from './pool.js';
import { preloadKey } from './protocol.js';


export interface TrialHooks {
  onStep?: (m: Extract<ChildMessage, { type: 'step' }>) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Aborting stops the trial process; runTrial then rejects with BSTUNE_INTERRUPTED. */
  signal?: AbortSignal;
  /** Forward the trial's stderr (TensorFlow's own logs) to ours. */
  verbose?: boolean;
  /** More trials will follow: have the next trial process load its backend meanwhile. */
  prewarmNext?: boolean;
  /** Added to the trial process's environment (CUDA_VISIBLE_DEVICES for its own GPU). */
  env?: Record<string, string>;
}

/** A result with nothing measured yet (outcome error): the start of every result, and what a trial that never ran reports. */
export function blankResult(spec: TrialSpec, reason: string | null = null): TrialResult {
  // Older specs (a queue job from before accumulation) have no training.accumulate.
  const accumulate = spec.config.training.accumulate ?? 1;
  return {
    // No step ran: no rate was reached (the scaled target is apart).
    batchSize: spec.batchSize, accumulate, effectiveBatchSize: spec.batchSize * accumulate,
    learningRate: null, scaledLearningRate: scaledLearningRate(spec.config.optimizer, spec.batchSize * accumulate), seed: spec.seed, threads: null, outcome: 'error', reason,
    peakMemoryBytes: null, memoryBaselineBytes: null, memorySource: null, processPeakRssBytes: null, deviceMemoryBytes: null,
    samplesPerSecond: null, secondsPerEpoch: null, warmupSteps: null, warmupSeconds: null, warmupExtraSeconds: null, steadySteps: null, epochSeconds: [], valAccuracy: null, valLoss: null, initialLoss: null, finalLoss: null, history: [], steps: 0,
    seconds: 0, overheadSeconds: 0, gradientNoiseScale: null,
  };
}

export function runTrial(spec: TrialSpec, hooks: TrialHooks = {}): Promise<TrialResult> {
  const started = performance.now();
  const timeoutMs = spec.config.search.trialTimeout * 1000;
  // The rate reached, from the step messages, for a trial killed before it could say (a timeout).
  let stepPeak: number | null = null;
  const base = (): TrialResult => ({ ...blankResult(spec), learningRate: stepPeak });

  return new Promise<TrialResult>((resolve, reject) => {
    if (hooks.signal?.aborted) return reject(interrupted());
    const env = { ...process.env, ...hooks.env, ...(spec.backend === 'tensorflow-gpu' && spec.config.device.memoryLimit !== null ? { TF_FORCE_GPU_ALLOW_GROWTH: 'true' } : {}) };
    // A prewarmed spare was started with the plain environment: not for a trial that needs its own.
    const proc = takeTrialProcess(spec.backend, preloadKey(spec), env, hooks.env === undefined);
    // The next trial's process loads only once this one's timed steps are over: on 2 cores
    // its start-up (module compile, wasm tier-up threads, data decode) would slow them.
    let prewarmed = false;
    const prewarm = () => {
      if (prewarmed || hooks.prewarmNext !== true) return;
      prewarmed = true;
      startSpare(spec.backend, preloadKey(spec), env);
    };
    const { child } = proc;
    // On CUDA the parent watches the trial's real device memory (nvidia-smi) while it runs.
    const sampler = spec.backend === 'tensorflow-gpu' && child.pid !== undefined ? sampleDeviceMemory(child.pid) : null;
    if (hooks.verbose) proc.onStderr = (b) => process.stderr.write(b);
    const runIt = () => child.send({ type: 'run', spec });
    if (proc.readyAt !== null) runIt();
    else proc.onReady = runIt;
    let outcome: { measurements: TrialMeasurements } | { failure: Extract<ChildMessage, { type: 'failure' }> } | null = null;
    let timedOut = false;
    let setupSeconds = 0;
    let threads: number | null = null;
    let aborted = false;
    const history: EpochRecord[] = [];
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    hooks.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('message', (m: ChildMessage) => {
      if (m.type === 'step') {
        if (stepPeak === null || m.learningRate > stepPeak) stepPeak = m.learningRate;
        hooks.onStep?.(m);
      }
      else if (m.type === 'timed') prewarm();
      else if (m.type === 'setup') {
        setupSeconds = m.seconds;
        threads = m.threads ?? null;
      }
      else if (m.type === 'epoch') {
        history.push(m.record);
        hooks.onEpoch?.(m.record);
      } else if (m.type === 'result') outcome = { measurements: m.measurements };
      else if (m.type === 'failure') outcome = { failure: m };
    });
    child.on('error', (e) => {
      // Only when the process could not be started at all.
      clearTimeout(timer);
      reject(new BstuneError('BSTUNE_RUNTIME', `cannot start a trial process: ${e.message}`));
    });
    // 'close', not 'exit': it waits until the IPC channel and stderr are drained, so the
    // result message and the last words of a crashed trial (V8's heap OOM) are not lost.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const devicePeak = sampler?.stop() ?? null;
      hooks.signal?.removeEventListener('abort', onAbort);
      if (!aborted) prewarm();
      // A run that finished just before the interrupt is kept.
      if (aborted && !(outcome && 'measurements' in outcome)) return reject(interrupted());
      const seconds = (performance.now() - started) / 1000;
      const waited = proc.readyAt !== null ? Math.max(0, proc.readyAt - started) / 1000 : 0;
      const r = { ...base(), threads, seconds, history, overheadSeconds: Math.min(seconds, waited + setupSeconds), deviceMemoryBytes: devicePeak };
      if (outcome && 'measurements' in outcome) return resolve(fromMeasurements(r, outcome.measurements, spec, started, proc.readyAt));
      if (outcome && 'failure' in outcome) {
        const f = outcome.failure;
        // A user-facing problem found in the trial (bad data, missing backend) is not a trial outcome.
        if (f.code && f.code !== 'BSTUNE_RUNTIME') {
          return reject(new BstuneError(f.code as BstuneError['code'], f.message, f.where ?? undefined));
        }
        const c = classifyFailure({ message: f.message, name: f.name, stderr: proc.stderr(), wasmHeapBytes: f.wasmHeapBytes, exitCode: code, signal, backend: spec.backend });
        return resolve({ ...r, learningRate: f.peakLearningRate ?? r.learningRate, outcome: c.outcome, reason: c.reason });
      }
      const c = classifyFailure({ timedOut, exitCode: code, signal, stderr: proc.stderr(), backend: spec.backend });
      const reason = timedOut ? `no result within search.trialTimeout (${spec.config.search.trialTimeout} s)` : c.reason;
      resolve({ ...r, outcome: c.outcome, reason });
    });
  });
}

function fromMeasurements(r: TrialResult, m: TrialMeasurements, spec: TrialSpec, started: number, readyAt: number | null): TrialResult {
  const last = m.history[m.history.length - 1];
  // A prewarmed process was ready before this trial began: it cost no waiting.
  const spawnSeconds = readyAt !== null ? Math.max(0, readyAt - started) / 1000 : 0;
  const overhead = spawnSeconds + m.setupSeconds.backend + m.setupSeconds.data + m.setupSeconds.model;
  const limit = spec.config.device.memoryLimit;
  const oom = m.exceededMemoryLimit && limit !== null;
  return {
    ...r,
    outcome: oom ? 'oom' : m.divergence !== null ? 'diverged' : 'ok',
    reason: oom ? `exceeds memory limit (peak ${formatBytes(m.peakMemoryBytes)} > ${formatBytes(limit)})` : m.divergence,
    initialLoss: m.initialLoss,
    finalLoss: m.finalLoss,
    learningRate: m.peakLearningRate,
    threads: m.threads,
    peakMemoryBytes: m.peakMemoryBytes,
    memoryBaselineBytes: m.memoryBaselineBytes,
    memorySource: m.memorySource,
    processPeakRssBytes: m.processPeakRssBytes,
    // The parent's nvidia-smi peak, or the figure the trial read itself (WebGPU: numBytesInGPU's peak).
    deviceMemoryBytes: r.deviceMemoryBytes !== null && m.deviceMemoryBytes !== null ? Math.max(r.deviceMemoryBytes, m.deviceMemoryBytes) : (r.deviceMemoryBytes ?? m.deviceMemoryBytes),
    samplesPerSecond: m.samplesPerSecond,
    secondsPerEpoch: m.secondsPerEpoch,
    warmupSteps: m.warmupSteps,
    warmupSeconds: m.warmupSeconds,
    warmupExtraSeconds: m.warmupExtraSeconds,
    steadySteps: m.steadySteps,
    epochSeconds: m.epochSeconds,
    valAccuracy: oom ? null : (last?.valAccuracy ?? null),
    valLoss: oom ? null : (last?.valLoss ?? null),
    history: m.history,
    steps: m.steps,
    overheadSeconds: overhead,
    model: m.model,
    ...(m.adapter !== null && m.adapter !== undefined ? { adapter: m.adapter } : {}),
    gradientNoiseScale: oom ? null : m.gradientNoiseScale,
  };
}

const interrupted = () => new BstuneError('BSTUNE_INTERRUPTED', 'interrupted');
