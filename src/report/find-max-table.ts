import Table from 'cli-table3';
import type { TrialResult } from '../trial/protocol.js';
import { belowScaled, dash, fmtBytes, fmtLr, fmtRate, fmtReachedLr, fmtSec, paint, reachedLrFootnote } from './format.js';
import { LINEAR_R2, type MemoryModelReport } from '../memory/model.js';

interface Summary {
  maxBatchSize: number | null;
  largestFit: number | null;
  smallestOom: number | null;
  /** The first size tried was the whole training set: nothing larger exists. */
  wholeTrainingSet: boolean;
  /** The base rate scaled to maxBatchSize: not a tested rate (a trial checks memory, not training). */
  scaledLearningRate: number | null;
  /** How it was scaled, e.g. "linear from 0.001 at batch 32". */
  scaling: string;
  headroomBytes: number | null;
  memoryLimitBytes: number | null;
  memoryMeaning: string;
  notes: string[];
  seconds: number;
  overheadSeconds: number;
  /** Set when a trial failed with an error or a timeout and the search stopped there. */
  stoppedBy?: { batchSize: number; outcome: string; reason: string } | null;
  memoryModel?: MemoryModelReport | null;
  accumulate?: number;
  /** find-max --target-batch: the micro-batch and accumulation that train at that effective batch. */
  targetPlan?: { targetBatch: number; microBatch: number; accumulate: number; effectiveBatchSize: number; note: string } | null;
  memoryJump?: { maxBatch: number; tried: number; measuredMaxBatch: number | null } | null;
}

/** One line: the fit, how far to trust it, and its prediction next to what was measured. */
export function memoryModelLine(m: MemoryModelReport, measured: number | null, jump: Summary['memoryJump']): string {
  const fit = `M(b) = ${fmtBytes(m.fixedBytes)} + ${fmtBytes(m.bytesPerSample)} × b`;
  const trust = m.points === 2
    ? `2 sizes, which any line fits: R² not informative`
    : m.linear ? `R² ${m.r2.toFixed(4)} over ${m.points} sizes`
      : `R² ${m.r2.toFixed(3)} < ${LINEAR_R2} over ${m.points} sizes: memory is not linear in the batch here, so the prediction is rough and the search stepped instead`;
  const p = m.prediction;
  const pred = p === null ? ''
    : p.maxBatch === null ? `; predicted for ${p.device}: not even one sample fits`
      : `; predicted max for ${p.device}: ${p.maxBatch} (${p.multipleOf8 ?? '–'} as a multiple of 8, ${p.powerOfTwo} as a power of two)`;
  const vs = jump ? `; jumped to ${jump.tried}, measured max ${jump.measuredMaxBatch ?? 'none'}` : measured !== null && p !== null && p.maxBatch !== null && /--memory-limit/.test(p.device) ? `; measured: ${measured}` : '';
  return `memory model: ${fit} (${trust})${pred}${vs}`;
}

export function renderFindMax(trials: TrialResult[], s: Summary, p: { backend: { name: string; device: string } }, stream: NodeJS.WriteStream): string {
  const acc = trials.some((t) => (t.accumulate ?? 1) > 1);
  const table = new Table({ head: [acc ? 'micro × accum' : 'batch', 'lr', 'outcome', 'reason', 'peak memory', 'samples/s', 'seconds'], style: { head: [], border: [] } });
  for (const t of trials) {
    const outcome = t.outcome === 'ok' ? paint(stream, 'green', 'ok') : paint(stream, t.outcome === 'oom' || t.outcome === 'diverged' ? 'yellow' : 'red', t.outcome);
    table.push([acc ? `${t.batchSize} × ${t.accumulate}` : t.batchSize, fmtReachedLr(t.learningRate, t.scaledLearningRate), outcome, t.reason ?? dash, fmtBytes(t.peakMemoryBytes), fmtRate(t.samplesPerSecond), fmtSec(t.seconds)]);
  }
  const lines: string[] = [];
  if (s.stoppedBy) {
    const fit = s.largestFit !== null ? `; ${s.largestFit} had fitted` : '';
    lines.push(paint(stream, 'red', `search stopped: the trial at ${s.stoppedBy.batchSize} failed with ${s.stoppedBy.outcome}, not an out-of-memory${fit}`));
  } else if (s.maxBatchSize === null) {
    const lower = s.smallestOom !== null && s.smallestOom > 1 ? 'lower --min, ' : '';
    lines.push(paint(stream, 'red', `nothing fits: even the smallest batch size tried ran out of memory; ${lower}raise --memory-limit, or use a smaller model`));
  } else {
    const margin = s.largestFit !== null && s.largestFit !== s.maxBatchSize ? ` (${s.largestFit} fits; margin applied)` : '';
    // Headroom was measured at the largest fit, which the margin may have cut below.
    const at = s.largestFit !== null && s.largestFit !== s.maxBatchSize ? ` at ${s.largestFit}` : '';
    const headroom = s.headroomBytes !== null ? `, headroom${at} ${fmtBytes(s.headroomBytes)} under the ${fmtBytes(s.memoryLimitBytes)} limit` : '';
    // When the first size tried fitted, it is a lower bound, not the maximum.
    const label = s.smallestOom === null && !s.wholeTrainingSet ? 'at least this batch fits' : 'largest batch that fits';
    const accum = (s.accumulate ?? 1) > 1 ? ` (micro-batch, × accumulate ${s.accumulate} = effective batch ${s.maxBatchSize * s.accumulate!})` : '';
    lines.push(paint(stream, 'bold', `${label}: ${s.maxBatchSize}${accum}${margin}${headroom}`));
    // Never advice: a few steps say nothing about whether training converges at this rate.
    lines.push(`scaled learning rate for ${s.maxBatchSize}${(s.accumulate ?? 1) > 1 ? ` × ${s.accumulate}` : ''}: ${fmtLr(s.scaledLearningRate ?? 0)} (${s.scaling}); untested: find-max trials check memory, not training`);
    if (s.targetPlan) lines.push(paint(stream, 'bold', `to train at effective batch ${s.targetPlan.targetBatch}: use micro-batch ${s.targetPlan.microBatch} × accumulate ${s.targetPlan.accumulate}${s.targetPlan.effectiveBatchSize !== s.targetPlan.targetBatch ? ` (= ${s.targetPlan.effectiveBatchSize})` : ''} · ${s.targetPlan.note}`));
  }
  lines.push(`memory: ${s.memoryMeaning} · ${p.backend.name} on ${p.backend.device}`);
  if (s.memoryModel) lines.push(memoryModelLine(s.memoryModel, s.largestFit, s.memoryJump));
  for (const n of s.notes) if (!/^even search\.min/.test(n)) lines.push(`note: ${n}`);
  if (trials.some((t) => belowScaled(t.learningRate, t.scaledLearningRate))) lines.push(reachedLrFootnote);
  lines.push(`time: ${s.seconds.toFixed(1)} s, of which ${s.overheadSeconds.toFixed(1)} s outside training (process start, backend, data, model)`);
  return `${table.toString()}\n${lines.join('\n')}\n`;
}
