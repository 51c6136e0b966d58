/**
 * Which batch sizes and how many batches the noise-scale measurement uses. Pure.
 *
 * The sizes are fixed (not the training batch size), so every row of a sweep measures
 * the same quantity at its initial weights and only training moves it. The estimate is
 * best when b_s ≲ B_simple ≲ b_b; on MNIST-sized models B_simple runs from tens at
 * initialisation to hundreds or thousands late in training, hence 16 and 256.
 */
export interface NoisePlan {
  smallBatch: number;
  bigBatch: number;
  /** Big batches per measurement; each is split into bigBatch/smallBatch small ones. */
  batches: number;
}

export const defaultNoisePlan: NoisePlan = { smallBatch: 16, bigBatch: 256, batches: 8 };

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
