import Table from 'cli-table3';
import type { TrialResult } from '../trial/protocol.js';
import { belowScaled, fmtBytes, fmtLr, fmtNoise, fmtNum, fmtPct, fmtRate, fmtSec, paint } from './format.js';

interface Facts {
  backend: { name: string; device: string };
  data: string;
}

export function renderTrainSummary(t: TrialResult, p: Facts, stream: NodeJS.WriteStream): string {
  const reached = t.learningRate === null ? 'no step ran' : belowScaled(t.learningRate, t.scaledLearningRate)
    ? `${fmtLr(t.learningRate)} at its peak (warmup outlasted the run: the scaled ${fmtLr(t.scaledLearningRate)} was never reached)`
    : fmtLr(t.learningRate);
  const batch = (t.accumulate ?? 1) > 1 ? `micro-batch ${t.batchSize} × accumulate ${t.accumulate} = effective batch ${t.effectiveBatchSize}` : `batch ${t.batchSize}`;
  const head = `${batch} · lr ${reached} · ${p.backend.name} on ${deviceWithThreads(p.backend.device, t.threads)}\n${p.data}\n`;
  if (t.outcome !== 'ok' && t.outcome !== 'diverged') return `${head}${paint(stream, 'red', `${t.outcome}: ${t.reason ?? 'no reason given'}`)}\n`;
  const table = new Table({ head: ['epoch', 'lr (end)', 'train loss', 'train acc', 'val loss', 'val acc', 'seconds'], style: { head: [], border: [] } });
  for (const h of t.history) {
    table.push([h.epoch, fmtLr(h.learningRate), fmtNum(h.trainLoss), fmtPct(h.trainAccuracy), fmtNum(h.valLoss), fmtPct(h.valAccuracy), fmtSec(h.seconds)]);
  }
  const lines = [
    `samples/s   ${fmtRate(t.samplesPerSecond)} (steady-state training steps, ${t.steadySteps ?? 0} of ${t.steps}${(t.threads ?? 1) > 1 ? `; ${t.threads} training threads` : ''})`,
    `s/epoch     ${t.secondsPerEpoch !== null ? t.secondsPerEpoch.toFixed(2) : '–'} (one epoch of training steps at that rate; validation not included)`,
    `warm-up     ${t.warmupSteps ?? 0} steps in ${fmtSec(t.warmupSeconds)}${t.warmupExtraSeconds ? `, ${fmtSec(t.warmupExtraSeconds)} more than at the steady rate` : ''} (kernel set-up, the memory-profiled step, JIT compilation)`,
    `peak memory ${fmtBytes(t.peakMemoryBytes)} tensors${(t.accumulate ?? 1) > 1 ? ' (one micro-batch plus the gradient accumulators)' : ''} (${fmtBytes(t.memoryBaselineBytes)} before the step: weights + optimizer) · process RSS ${fmtBytes(t.processPeakRssBytes)}${t.deviceMemoryBytes !== null ? ` · device ${fmtBytes(t.deviceMemoryBytes)} (${p.backend.name === 'webgpu' ? 'peak WebGPU buffer bytes' : 'nvidia-smi peak'})` : ''}`,
    `final       val acc ${fmtPct(t.valAccuracy)} · val loss ${fmtNum(t.valLoss)} · train loss ${fmtNum(t.initialLoss)} → ${fmtNum(t.finalLoss)} (first → last steps)`,
    ...(t.outcome === 'diverged' ? [paint(stream, 'red', `diverged    ${t.reason ?? 'no reason given'}: this rate does not train at this batch size`)] : []),
    ...noiseLine(t),
    `time        ${fmtSec(t.seconds)} in all, ${fmtSec(t.overheadSeconds)} outside training (process start, backend, data, model)`,
  ];
  return `${head}${table.toString()}\n${lines.join('\n')}\n`;
}

/**
 * The backend's device line as this run used it. The backend is chosen before the batch size,
 * and the training threads follow from the batch (src/trial/threads.ts), so the count comes from
 * the trial: "…, wasm SIMD, 2 training threads". Other backends name a count above one only.
 */
export function deviceWithThreads(device: string, threads: number | null | undefined): string {
  if (threads == null || threads < 1) return device;
  if (threads === 1) return device.endsWith('wasm SIMD') ? `${device}, 1 training thread` : device;
  return `${device}, ${threads} training threads`;
}

/** The gradient noise scale line, or nothing when it was not measured. */
export function noiseLine(t: TrialResult): string[] {
  const g = t.gradientNoiseScale;
  if (!g) return [];
  const per = g.points.length > 2 ? ` (per epoch: ${g.points.map((p) => fmtNoise(p.bSimple)).join(', ')})` : '';
  return [
    `noise scale B_simple ${fmtNoise(g.initial, g.initialStdError)} samples at the start → ${fmtNoise(g.final, g.finalStdError)} at the end${per}`,
    `            gradient norms at batch ${g.smallBatch} and ${g.bigBatch}, ${g.batches} × ${g.bigBatch} samples each time, ${fmtSec(g.seconds)} not counted in samples/s`,
  ];
}
