/**
 * find-max --target-batch: how to train at an effective batch B when the largest
 * micro-batch that fits is M. Pure.
 */
export interface AccumulationPlan {
  targetBatch: number;
  microBatch: number;
  accumulate: number;
  /** microBatch × accumulate: B itself unless B has no usable divisor. */
  effectiveBatchSize: number;
}

/**
 * The fewest micro-batches N with B = m × N exactly and m ≤ M; when the only exact
 * splits need more than twice the fewest possible N (B prime, say), the fewest N with
 * m = floor(B / N), a slightly smaller effective batch, said so by effectiveBatchSize.
 */
export function planAccumulation(targetBatch: number, maxMicroBatch: number): AccumulationPlan {
  if (targetBatch <= maxMicroBatch) return { targetBatch, microBatch: targetBatch, accumulate: 1, effectiveBatchSize: targetBatch };
  const fewest = Math.ceil(targetBatch / maxMicroBatch);
  for (let n = fewest; n <= 2 * fewest; n++) {
    if (targetBatch % n === 0) return { targetBatch, microBatch: targetBatch / n, accumulate: n, effectiveBatchSize: targetBatch };
  }
  const m = Math.floor(targetBatch / fewest);
  return { targetBatch, microBatch: m, accumulate: fewest, effectiveBatchSize: m * fewest };
}
