/**
 * Did a run diverge? Pure, and the one rule for every command (train, sweep, find-max,
 * recommend): a diverged run is a result (its memory and speed were measured) but never
 * "best", never a target, never a recommendation.
 *
 * Diverged when any of:
 * - a loss is NaN or ±Infinity;
 * - the training loss at the end is more than LOSS_RISE above its start, and the rise (as a
 *   ratio, on a log scale) is beyond the step-to-step noise (RISE_Z standard errors, see
 *   lossEnds): training made the model worse. The noise guard matters near a low loss (a
 *   run starting from trained weights), where one 32-sample batch swings ±50% or more; an
 *   exploding rate rises far beyond it, and a ratio keeps its wild end from hiding that.
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
/** The start of the loss curve is averaged over at least this many samples (a rate that explodes does so within a few steps). */
export const LOSS_END_SAMPLES = 32;
/** The end of the loss curve is averaged over at least this many samples, at most the run's second half. */
export const LOSS_TAIL_SAMPLES = 256;
/** A rise counts only when log(final / initial) exceeds this many of its standard errors. */
export const RISE_Z = 3;

export interface DivergenceInput {
  /** Mean training loss of the first steps (see lossEnds). */
  initialLoss: number | null;
  /** Mean training loss of the last steps. */
  finalLoss: number | null;
  /** Highest training loss on the way (over windows like the start's); null if unknown. */
  peakLoss: number | null;
  /** Standard error of log(finalLoss / initialLoss) from the step-to-step noise (see lossEnds); null when unknown (no noise guard). */
  riseNoise?: number | null;
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
  const beyondNoise = (a: number, z: number) => i.riseNoise == null || !(a > 0) || Math.log(z / a) > RISE_Z * i.riseNoise;
  if (i.initialLoss !== null && i.finalLoss !== null && i.finalLoss > i.initialLoss * (1 + LOSS_RISE) && beyondNoise(i.initialLoss, i.finalLoss)) {
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
 * The start and end of a run's training loss. The start is the mean over the first steps
 * that hold at least LOSS_END_SAMPLES samples (one step at batch 32 or more), so it stays
 * the loss at the initial weights. The end is the mean over the last steps holding at least
 * LOSS_TAIL_SAMPLES samples (never more than the run's second half, never fewer steps than
 * the start), so one noisy batch at the end decides nothing. riseNoise is the standard error
 * of log(end / start), taking the step-to-step noise of the log loss over the run's second
 * half (stepNoise) as that of one step at either end; null with fewer than 3 steps there or
 * a loss ≤ 0 (no log).
 */
export function lossEnds(stepLosses: readonly number[], batchSize: number): { initialLoss: number | null; finalLoss: number | null; peakLoss: number | null; riseNoise: number | null } {
  const n = stepLosses.length;
  if (n === 0) return { initialLoss: null, finalLoss: null, peakLoss: null, riseNoise: null };
  const k = Math.min(n, Math.max(1, Math.ceil(LOSS_END_SAMPLES / batchSize)));
  const kEnd = Math.max(k, Math.min(Math.ceil(LOSS_TAIL_SAMPLES / batchSize), Math.floor(n / 2)));
  let sum = 0;
  let peak = -Infinity;
  for (let j = 0; j < n; j++) {
    sum += stepLosses[j]!;
    if (j >= k) sum -= stepLosses[j - k]!;
    if (j >= k - 1) peak = Math.max(peak, sum / k);
  }
  const mean = (xs: readonly number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  const tail = stepLosses.slice(n - kEnd);
  const finalLoss = mean(tail);
  const half = stepLosses.slice(Math.min(n - kEnd, Math.floor(n / 2)));
  const sd = half.every((x) => x > 0) ? stepNoise(half.map(Math.log)) : null;
  const riseNoise = sd === null ? null : sd * Math.sqrt(1 / tail.length + 1 / k);
  return { initialLoss: mean(stepLosses.slice(0, k)), finalLoss, peakLoss: peak, riseNoise };
}

/**
 * The noise of one step's loss, robustly: the median absolute difference of successive steps
 * over (0.6745 × √2), which for independent normal noise estimates its standard deviation. A
 * trend or a few outliers (a loss that blows up in the last steps) barely move it, where the
 * plain spread would grow with them and hide the rise. Null with fewer than 3 steps.
 */
export function stepNoise(losses: readonly number[]): number | null {
  if (losses.length < 3) return null;
  const diffs = losses.slice(1).map((x, j) => Math.abs(x - losses[j]!)).sort((a, b) => a - b);
  const m = diffs.length;
  const median = m % 2 === 1 ? diffs[(m - 1) / 2]! : (diffs[m / 2 - 1]! + diffs[m / 2]!) / 2;
  return median / (0.6745 * Math.SQRT2);
}
