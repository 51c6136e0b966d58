/**
 * The simple gradient noise scale of McCandlish et al. 2018, "An Empirical Model of
 * Large-Batch Training", appendix A. Pure: numbers in, numbers out.
 *
 * A batch of B samples drawn from a set with mean gradient G and per-example gradient
 * covariance Σ has E|G_B|² = |G|² + tr(Σ)/B. Measuring |G_B|² at two sizes b_s < b_b
 * and solving the two equations gives unbiased estimates
 *   |G|²  ≈ (b_b|G_bb|² − b_s|G_bs|²) / (b_b − b_s)
 *   tr(Σ) ≈ (|G_bs|² − |G_bb|²) / (1/b_s − 1/b_b)
 * and B_simple = tr(Σ)/|G|², the batch size at which the gradient's noise and its
 * signal are equal: beyond it, a larger batch buys little reduction in steps.
 *
 * Both estimates are averaged over many batches before dividing (a ratio of averages:
 * the average of per-batch ratios is biased and unbounded, since a single batch's |G|²
 * estimate can be near zero or negative).
 *
 * Batches drawn without replacement from a finite training set of N samples have
 * E|G_B|² = |G|² + tr(Σ)·(N − B)/(B(N − 1)) with Σ the covariance over the set; with
 * `population` given, 1/B is replaced by that factor, which makes the estimates exact
 * for the set (and equal to the formulas above as N → ∞).
 */

/** One big batch: its gradient's squared norm and the mean squared norm of its small parts. */
export interface NoiseBatch {
  /** |G_bb|²: squared norm of the gradient of the mean loss over the big batch. */
  bigSqNorm: number;
  /** Mean over the big batch's small batches of |G_bs|². */
  smallSqNorm: number;
}

export interface NoiseSetting {
  smallBatch: number;
  bigBatch: number;
  /** Samples in the set the batches are drawn from without replacement; omit for draws with replacement. */
  population?: number;
}

export interface NoiseEstimate {
  /** Estimated |G|² (may come out ≤ 0 when noise swamps the signal). */
  gradSqNorm: number;
  /** Estimated tr(Σ), the summed per-example gradient variance. */
  traceSigma: number;
  /** B_simple = tr(Σ)/|G|² in samples; null when the |G|² estimate is not positive (noise dominates: B_simple ≫ bigBatch). */
  bSimple: number | null;
  /** Jackknife standard error of bSimple over the big batches; null with fewer than 2 batches or no estimate. */
  bSimpleStdError: number | null;
  batches: number;
  smallBatch: number;
  bigBatch: number;
}

/** 1/B for draws with replacement; the finite-population factor without. */
function inverseSize(b: number, population: number | undefined): number {
  return population === undefined ? 1 / b : (population - b) / (b * (population - 1));
}

/** The two unbiased estimates from (averaged) squared norms at b_s and b_b. */
export function estimateFromNorms(smallSqNorm: number, bigSqNorm: number, s: NoiseSetting): { gradSqNorm: number; traceSigma: number } {
  checkSetting(s);
  const cs = inverseSize(s.smallBatch, s.population);
  const cb = inverseSize(s.bigBatch, s.population);
  // E|G_s|² = |G|² + T·cs, E|G_b|² = |G|² + T·cb, solved for |G|² and T. With cs = 1/b_s and
  // cb = 1/b_b these are exactly McCandlish's (b_b|G_bb|² − b_s|G_bs|²)/(b_b − b_s) and
  // (|G_bs|² − |G_bb|²)/(1/b_s − 1/b_b).
  const traceSigma = (smallSqNorm - bigSqNorm) / (cs - cb);
  const gradSqNorm = (cs * bigSqNorm - cb * smallSqNorm) / (cs - cb);
  return { gradSqNorm, traceSigma };
}

function checkSetting(s: NoiseSetting): void {
  if (!(Number.isInteger(s.smallBatch) && Number.isInteger(s.bigBatch) && s.smallBatch >= 1 && s.bigBatch > s.smallBatch)) {
    throw new RangeError(`noise scale: need whole batch sizes 1 <= small < big, got ${s.smallBatch} and ${s.bigBatch}`);
  }
  if (s.population !== undefined && !(s.population >= s.bigBatch && s.population > 1)) {
    throw new RangeError(`noise scale: population ${s.population} is smaller than the big batch ${s.bigBatch}`);
  }
}

function ratioOfAverages(batches: readonly NoiseBatch[], s: NoiseSetting): { gradSqNorm: number; traceSigma: number; bSimple: number | null } {
  let small = 0;
  let big = 0;
  for (const b of batches) {
    small += b.smallSqNorm;
    big += b.bigSqNorm;
  }
  // The estimates are linear in the norms: averaging the norms first is averaging the estimates.
  const e = estimateFromNorms(small / batches.length, big / batches.length, s);
  return { ...e, bSimple: e.gradSqNorm > 0 && e.traceSigma >= 0 ? e.traceSigma / e.gradSqNorm : null };
}

/** B_simple from many big batches, with a jackknife standard error over them. */
export function simpleNoiseScale(batches: readonly NoiseBatch[], s: NoiseSetting): NoiseEstimate {
  checkSetting(s);
  if (batches.length === 0) throw new RangeError('noise scale: no batches measured');
  const all = ratioOfAverages(batches, s);
  let se: number | null = null;
  const n = batches.length;
  if (n >= 2 && all.bSimple !== null) {
    const loo: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = ratioOfAverages(batches.filter((_, j) => j !== i), s).bSimple;
      if (r === null) break;
      loo.push(r);
    }
    if (loo.length === n) {
      const m = loo.reduce((a, b) => a + b, 0) / n;
      se = Math.sqrt(((n - 1) / n) * loo.reduce((a, b) => a + (b - m) ** 2, 0));
    }
  }
  return { ...all, bSimpleStdError: se, batches: n, smallBatch: s.smallBatch, bigBatch: s.bigBatch };
}
