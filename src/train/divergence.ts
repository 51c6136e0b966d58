/**
 * Did a run diverge? Pure, and the one rule for every command (train, sweep, find-max,
 * recommend): a diverged run is a result (its memory and speed were measured) but never
 * "best", never a target, never a recommendation.
 *
 * Diverged when any of:
 * - a loss is NaN or ±Infinity;
 * - the training loss at the end is more than LOSS_RISE above its start (each a mean over
 *   at least 32 samples, see lossEnds): training made the model worse;
 * - stuck at chance after blowing up: the final validation accuracy is within CHANCE_MARGIN
 *   of chance (1 / classes), the training loss spiked more than LOSS_RISE above its start
 *   on the way and ended no more than STUCK_FALL below it (a rate too high that left the
 *   logits flat). A short run at a small rate, still near chance but with no spike, has not
 *   diverged: it has not trained long enough. Not applied to a find-max trial (pass null):
 *   a few steps at a warmup rate are not expected to learn.
 */

/** Accuracy this close to chance (absolute, 0.05 = 5 points) counts as chance. */
export const CHANCE_MARGIN = 0.05;
/** A final loss this fraction above the initial one counts as rising (a loss that barely moved is not divergence). */
export const LOSS_RISE = 0.1;
/** At chance, a loss that fell by less than this fraction counts as stuck. */
export const STUCK_FALL = 0.05;
/** Each end of the loss curve is averaged over at least this many samples. */
export const LOSS_END_SAMPLES = 32;

export interface DivergenceInput {
  /** Mean training loss of the first steps (see lossEnds). */
  initialLoss: number | null;
  /** Mean training loss of the last steps. */
  finalLoss: number | null;
  /** Highest training loss on the way (over the same windows as the ends); null if unknown. */
  peakLoss: number | null;
  /** Every other loss recorded (per-epoch train and validation): one non-finite value is divergence. */
  losses: readonly number[];
  /** Final validation accuracy, or null where it says nothing (a probe of a few steps). */
  valAccuracy: number | null;
  /** For class-index labels; null (regression, other labels) leaves the chance rule out. */
  numClasses: number | null;
}

const fmtLoss = (x: number) => String(Number(x.toPrecision(4)));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The reason a run counts as diverged, or null when it does not. */
export function divergence(i: DivergenceInput): string | null {
  const all = [i.initialLoss, i.finalLoss, ...i.losses].filter((x): x is number => x !== null);
  const bad = all.find((x) => !Number.isFinite(x));
  if (bad !== undefined) return `loss became ${bad}`;
  if (i.initialLoss !== null && i.finalLoss !== null && i.finalLoss > i.initialLoss * (1 + LOSS_RISE)) {
    return `loss rose from ${fmtLoss(i.initialLoss)} to ${fmtLoss(i.finalLoss)}`;
  }
  if (i.valAccuracy !== null && i.numClasses !== null && i.numClasses >= 2) {
    const chance = 1 / i.numClasses;
    const { initialLoss: a, finalLoss: z, peakLoss: peak } = i;
    const blewUp = a !== null && z !== null && peak !== null && peak > a * (1 + LOSS_RISE) && z > a * (1 - STUCK_FALL);
    if (i.valAccuracy < chance + CHANCE_MARGIN - 1e-12 && blewUp) {
      return `val accuracy ${pct(i.valAccuracy)} is within ${Math.round(CHANCE_MARGIN * 100)} pt of chance (${pct(chance)}, ${i.numClasses} classes): the loss spiked to ${fmtLoss(peak!)} and ended at ${fmtLoss(z!)} (from ${fmtLoss(a!)})`;
    }
  }
  return null;
}

/**
 * The start and end of a run's training loss: means over the first and the last steps
 * that hold at least LOSS_END_SAMPLES samples (one step at batch 32 or more), so one
 * noisy small-batch step decides nothing, while the start stays the loss at the initial
 * weights (a rate that explodes does so within a few steps).
 */
export function lossEnds(stepLosses: readonly number[], batchSize: number): { initialLoss: number | null; finalLoss: number | null; peakLoss: number | null } {
  const n = stepLosses.length;
  if (n === 0) return { initialLoss: null, finalLoss: null, peakLoss: null };
  const k = Math.min(n, Math.max(1, Math.ceil(LOSS_END_SAMPLES / batchSize)));
  let sum = 0;
  let peak = -Infinity;
  for (let j = 0; j < n; j++) {
    sum += stepLosses[j]!;
    if (j >= k) sum -= stepLosses[j - k]!;
    if (j >= k - 1) peak = Math.max(peak, sum / k);
  }
  const mean = (xs: readonly number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  return { initialLoss: mean(stepLosses.slice(0, k)), finalLoss: mean(stepLosses.slice(n - k)), peakLoss: peak };
}
