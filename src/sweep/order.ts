/**
 * The order a sweep's runs start in when several run at once (--parallel, a queue's
 * workers): the longest expected first, so the runs left for the end are short ones and
 * the slots finish close together (longest-processing-time-first scheduling). Pure.
 */
import type { BudgetKind } from './budget.js';

/**
 * A training step's fixed cost (kernel dispatch, the optimizer update, the loss read
 * back), in samples' worth of work. Measured on this project's MLP on wasm: ~1.9 ms per
 * step plus ~0.011 ms per sample, about 170 samples; a CNN's per-sample work is larger,
 * so its overhead counts for less there. Only the order depends on it.
 */
export const STEP_OVERHEAD_SAMPLES = 128;

export interface WorkFacts {
  trainCount: number;
  /** training.epochs: epochs, or rounds under a steps/time budget. */
  epochs: number;
  budget: BudgetKind;
  /** Optimizer steps per round under a steps budget. */
  stepsPerRound: number | null;
}

/**
 * Relative cost of training one run: optimizer steps × (overhead + samples per step).
 * By epochs, a small batch takes more steps for the same samples, so it is the longer run;
 * by steps, a large batch is; by time, all are equal.
 */
export function expectedWork(run: { batchSize: number; accumulate: number }, f: WorkFacts): number {
  const perStep = run.accumulate * (STEP_OVERHEAD_SAMPLES + run.batchSize);
  if (f.budget === 'time') return 1;
  const steps = f.budget === 'steps' && f.stepsPerRound !== null
    ? f.epochs * f.stepsPerRound
    : f.epochs * Math.max(1, Math.floor(f.trainCount / (run.batchSize * run.accumulate)));
  return steps * perStep;
}

/** Longest expected first; runs expected to take as long keep their order (stable). */
export function longestFirst<T>(runs: readonly T[], work: (r: T) => number): T[] {
  return runs.map((r, i) => ({ r, i, w: work(r) })).sort((a, b) => b.w - a.w || a.i - b.i).map((x) => x.r);
}
