import { permutation } from '../data/split.js';
import type { Split } from '../data/types.js';
import { labelSize, sampleSize } from '../data/types.js';

/** The epoch order: a seeded permutation, the same on every backend. */
export const shuffledOrder = permutation;

/**
 * Gathers samples into reusable float buffers: uint8 pixels scaled to [0,1], float
 * inputs as they are. This is where a batch's samples are copied (and uint8 converted),
 * one batch at a time: the data set itself is neither copied nor converted as a whole. The data set stays in JS typed arrays, outside the tensor
 * engine, so the tensor memory measured during a step is the model's own: weights,
 * optimizer state, activations, one batch.
 */
export class BatchFiller {
  readonly x: Float32Array;
  /** Class indices (int32), or float targets of `labelSize` values per sample. */
  readonly y: Int32Array | Float32Array;
  readonly sampleSize: number;
  readonly labelSize: number;
  constructor(private readonly split: Split, readonly batchSize: number) {
    this.sampleSize = sampleSize(split);
    this.labelSize = labelSize(split);
    this.x = new Float32Array(batchSize * this.sampleSize);
    this.y = split.labels instanceof Float32Array ? new Float32Array(batchSize * this.labelSize) : new Int32Array(batchSize * this.labelSize);
  }
  /** Fills the buffers with samples order[start .. start+size) (wrapping around). */
  fill(order: ArrayLike<number>, start: number, size = this.batchSize): void {
    const { images, labels } = this.split;
    // A selection (train/validation split): sample k is the pool's row index[k].
    const rows = this.split.select?.index;
    const xs = this.sampleSize;
    const ys = this.labelSize;
    const bytes = images instanceof Uint8Array;
    for (let b = 0; b < size; b++) {
      const k = order[(start + b) % order.length]!;
      const idx = rows ? rows[k]! : k;
      const src = idx * xs;
      const dst = b * xs;
      if (bytes) for (let p = 0; p < xs; p++) this.x[dst + p] = images[src + p]! / 255;
      else this.x.set(images.subarray(src, src + xs), dst);
      if (ys === 1) this.y[b] = labels[idx]!;
      else for (let k = 0; k < ys; k++) this.y[b * ys + k] = labels[idx * ys + k]!;
    }
  }
}
