import { mean, std } from '../report/stats.js';
import type { TrialResult } from '../trial/protocol.js';

export interface SizeSummary {
  batchSize: number;
  /** The peak rate the runs reached (null when none ran a step); scaledLearningRate is the target. */
  learningRate: number | null;
  scaledLearningRate: number | null;
  runs: number;
  failed: { outcome: string; reason: string | null }[];
  /** Runs that trained but diverged (NaN/Inf or rising loss, chance accuracy): their memory and speed count, their accuracy does not. */
  diverged: { reason: string | null }[];
  peakMemoryBytes: Stat;
  samplesPerSecond: Stat;
  /** Over runs, each run's secondsPerEpoch (steady-state training steps of one epoch). */
  epochSeconds: Stat;
  valAccuracy: Stat;
  valLoss: Stat;
  bestValAccuracy: Stat;
  bestEpoch: Stat;
  generalizationGap: Stat;
  /** Epochs until validation accuracy first reached the target; null for a run that never did. */
  epochsToTarget: Stat;
  reachedTarget: number;
  /** Gradient noise scale B_simple (samples) at the initial and final weights. */
  noiseInitial: Stat;
  noiseFinal: Stat;
}

export interface Stat {
  mean: number | null;
  std: number | null;
  n: number;
}

const stat = (xs: (number | null | undefined)[]): Stat => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  // A single run has no spread to report (not a spread of 0).
  return v.length === 0 ? { mean: null, std: null, n: 0 } : { mean: mean(v), std: v.length > 1 ? std(v) : null, n: v.length };
};

const maxOrNull = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.max(...v);
};

/** The target used for "epochs to target": configured, else 99% of the best accuracy any run reached. */
export function targetAccuracy(trials: TrialResult[], configured: number | null): number | null {
  if (configured !== null) return configured;
  const best = Math.max(...trials.flatMap((t) => t.history.map((h) => h.valAccuracy)));
  return Number.isFinite(best) ? best * 0.99 : null;
}

/** One row per batch size, smallest first, whatever order the sizes were given in. */
export function summarizeSweep(trials: TrialResult[], sizes: number[], target: number | null): SizeSummary[] {
  return [...new Set(sizes)].sort((a, b) => a - b).map((batchSize) => {
    const runs = trials.filter((t) => t.batchSize === batchSize);
    const ok = runs.filter((t) => t.outcome === 'ok');
    // A diverged run's memory and speed are real measurements; its accuracy is not a result.
    const measured = runs.filter((t) => t.outcome === 'ok' || t.outcome === 'diverged');
    const best = ok.map((t) => t.history.reduce((b, h) => (h.valAccuracy > b.valAccuracy ? h : b), t.history[0]!));
    const toTarget = ok.map((t) => (target === null ? null : (t.history.find((h) => h.valAccuracy >= target)?.epoch ?? null)));
    return {
      batchSize,
      learningRate: maxOrNull(runs.map((t) => t.learningRate)),
      scaledLearningRate: runs[0]?.scaledLearningRate ?? null,
      runs: runs.length,
      failed: runs.filter((t) => t.outcome !== 'ok' && t.outcome !== 'diverged').map((t) => ({ outcome: t.outcome, reason: t.reason })),
      diverged: runs.filter((t) => t.outcome === 'diverged').map((t) => ({ reason: t.reason })),
      peakMemoryBytes: stat(measured.map((t) => t.peakMemoryBytes)),
      samplesPerSecond: stat(measured.map((t) => t.samplesPerSecond)),
      epochSeconds: stat(measured.map((t) => t.secondsPerEpoch)),
      valAccuracy: stat(ok.map((t) => t.valAccuracy)),
      valLoss: stat(ok.map((t) => t.valLoss)),
      bestValAccuracy: stat(best.map((h) => h?.valAccuracy)),
      bestEpoch: stat(best.map((h) => h?.epoch)),
      generalizationGap: stat(ok.map((t) => {
        const last = t.history[t.history.length - 1];
        return last && last.trainEvalAccuracy !== null ? last.trainEvalAccuracy - last.valAccuracy : null;
      })),
      epochsToTarget: stat(toTarget),
      reachedTarget: toTarget.filter((e) => e !== null).length,
      noiseInitial: stat(ok.map((t) => t.gradientNoiseScale?.initial)),
      noiseFinal: stat(ok.map((t) => t.gradientNoiseScale?.final)),
    };
  });
}
