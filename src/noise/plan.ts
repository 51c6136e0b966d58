/**
 * Which batch sizes and how many batches the noise-scale measurement uses. Pure.
 *
 * The sizes are fixed (not the training batch size), so every row of a sweep measures
 * the same quantity at its initial weights and only training moves it. The estimate is
 * best when b_s ≲ B_simple ≲ b_b; on MNIST-sized models B_simple runs from tens at
 * initialisation to hundreds or thousands late in training. The variance of the |G|²
 * estimate (the one that limits B_simple) is dominated by the big batches' term and, for
 * a fixed number of samples, falls as b_b grows; the small batches matter little there,
 * and each costs a gradient pass, so b_s = 32 rather than smaller.
 */
export interface NoisePlan {
  smallBatch: number;
  bigBatch: number;
  /** Big batches per measurement; each is split into bigBatch/smallBatch small ones. */
  batches: number;
}

export const defaultNoisePlan: NoisePlan = { smallBatch: 32, bigBatch: 512, batches: 6 };

/** Samples one measurement takes. */
export const noiseSamples = (p: NoisePlan): number => p.batches * p.bigBatch;

/**
 * "Per epoch where cheap": a measurement costs about as much per sample as training at a
 * small batch, so after every epoch only when it takes at most a tenth of an epoch's samples.
 */
export const noiseEveryEpochIsCheap = (p: NoisePlan, trainCount: number): boolean => noiseSamples(p) <= 0.1 * trainCount;

/**
 * Fits the plan to a training set of `count` samples: big batches are disjoint, so at
 * most count/bigBatch of them; a small set gets smaller big batches (at least two of
 * them, for a standard error). Null when the set is too small to measure at all.
 */
export function planNoise(count: number, want: NoisePlan = defaultNoisePlan): NoisePlan | null {
  let { smallBatch, bigBatch } = want;
  while (bigBatch > 2 && count < 2 * bigBatch) bigBatch = Math.floor(bigBatch / 2);
  if (count < 2 * bigBatch || bigBatch < 2) return null;
  if (smallBatch >= bigBatch) smallBatch = Math.max(1, Math.floor(bigBatch / 4));
  // Whole small batches per big batch.
  bigBatch -= bigBatch % smallBatch;
  return { smallBatch, bigBatch, batches: Math.max(2, Math.min(want.batches, Math.floor(count / bigBatch))) };
}
