import { permutation } from '../data/split.js';
import type { Split } from '../data/types.js';

/** The epoch order: a seeded permutation, the same on every backend. */
export const shuffledOrder = permutation;

/**
 * Gathers samples into reusable float buffers, scaled to [0,1]. The data set stays
 * in JS typed arrays, outside the tensor engine, so the tensor memory measured during
 * a step is the model's own: weights, optimizer state, activations, one batch.
 */
export class BatchFiller {
  readonly x: Float32Array;
  readonly y: Int32Array;
  constructor(private readonly split: Split, readonly batchSize: number) {
    this.x = new Float32Array(batchSize * 784);
    this.y = new Int32Array(batchSize);
  }
  /** Fills the buffers with samples order[start .. start+size) (wrapping around). */
  fill(order: ArrayLike<number>, start: number, size = this.batchSize): void {
    const { images, labels } = this.split;
    for (let b = 0; b < size; b++) {
      const idx = order[(start + b) % order.length]!;
      const src = idx * 784;
      const dst = b * 784;
      for (let p = 0; p < 784; p++) this.x[dst + p] = images[src + p]! / 255;
      this.y[b] = labels[idx]!;
    }
  }
}
