/**
 * The one definition of training speed, used by train, sweep and find-max (and anything
 * that reports samples/s): steady-state samples per second over the training steps
 * after warm-up, with the warm-up reported on its own. Pure: it takes the measured
 * seconds of every step, in order.
 *
 * Warm-up is more than the first step's kernel set-up: on wasm and cpu the JavaScript
 * around each kernel is compiled by V8 as it runs, so a small model's first tens of
 * steps can be several times slower than the rest. Where it ends is found from the
 * step times themselves by MSER (White 1997, the marginal standard error rule for the
 * initial transient of a simulation): drop the first d steps, d ≤ n/2, choosing the d
 * that minimises the standard error of the mean of the steps left. At least the first
 * two steps are always warm-up: step 1 sets up kernels and optimizer slots, step 2 is
 * profiled for peak memory (tf.profile slows it).
 */

export const MIN_WARMUP_STEPS = 2;

export interface Throughput {
  /** Samples / wall seconds of the steady steps; null when no step is steady. */
  samplesPerSecond: number | null;
  /** One epoch of training steps at the steady rate (stepsPerEpoch × batch ÷ samples/s); no validation, no warm-up. */
  secondsPerEpoch: number | null;
  warmupSteps: number;
  /** Wall seconds of the warm-up steps. */
  warmupSeconds: number;
  /** What warm-up cost beyond the same steps at the steady rate (≥ 0). */
  warmupExtraSeconds: number;
  steadySteps: number;
  steadySeconds: number;
}

/** d in [lo, hi] minimising Σ_{i≥d}(x_i − mean_d)² / (n − d)²: O(n) with suffix sums. */
export function mserTruncation(xs: readonly number[], lo: number, hi: number): number {
  const n = xs.length;
  let best = lo;
  let bestScore = Infinity;
  let sum = 0;
  let sumSq = 0;
  // Walk d from n−1 down to lo, keeping sums of xs[d..n).
  for (let d = n - 1; d >= lo; d--) {
    sum += xs[d]!;
    sumSq += xs[d]! * xs[d]!;
    if (d > hi) continue;
    const k = n - d;
    const ss = Math.max(0, sumSq - (sum * sum) / k);
    const score = ss / (k * k);
    // Ties go to the smaller d (keep more steps).
    if (score <= bestScore) {
      bestScore = score;
      best = d;
    }
  }
  return best;
}

export function steadyThroughput(stepSeconds: readonly number[], batchSize: number, stepsPerEpoch: number): Throughput {
  const n = stepSeconds.length;
  const lo = Math.min(MIN_WARMUP_STEPS, n);
  // With few steps MSER has nothing to choose from: only the fixed warm-up is dropped.
  const hi = Math.max(lo, Math.floor(n / 2));
  const d = n - lo >= 4 ? mserTruncation(stepSeconds, lo, Math.min(hi, n - 1)) : lo;
  let warmupSeconds = 0;
  for (let i = 0; i < d; i++) warmupSeconds += stepSeconds[i]!;
  let steadySeconds = 0;
  for (let i = d; i < n; i++) steadySeconds += stepSeconds[i]!;
  const steadySteps = n - d;
  const samplesPerSecond = steadySteps > 0 && steadySeconds > 0 ? (steadySteps * batchSize) / steadySeconds : null;
  const perStep = samplesPerSecond !== null ? batchSize / samplesPerSecond : null;
  return {
    samplesPerSecond,
    secondsPerEpoch: perStep !== null ? perStep * stepsPerEpoch : null,
    warmupSteps: d,
    warmupSeconds,
    warmupExtraSeconds: perStep !== null ? Math.max(0, warmupSeconds - d * perStep) : 0,
    steadySteps,
    steadySeconds,
  };
}

/**
 * How long a short run (a find-max trial) keeps stepping to measure its speed: until the
 * steady steps add up to `steadySeconds` and `steadySteps`, or the timing has taken
 * `maxSeconds` in all (a slow model's few long steps are measurement enough).
 */
export interface SpeedBudget {
  steadySeconds: number;
  steadySteps: number;
  maxSeconds: number;
}

export const PROBE_SPEED_BUDGET: SpeedBudget = { steadySeconds: 1, steadySteps: 20, maxSeconds: 3 };

export function speedMeasured(stepSeconds: readonly number[], budget: SpeedBudget): boolean {
  let total = 0;
  for (const s of stepSeconds) total += s;
  if (total >= budget.maxSeconds) return true;
  const t = steadyThroughput(stepSeconds, 1, 1);
  return t.steadySeconds >= budget.steadySeconds && t.steadySteps >= budget.steadySteps;
}
