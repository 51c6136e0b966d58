/**
 * Data parallelism inside a trial (pure part): how a batch is cut into shards, and the
 * shared-memory layout the replicas talk through. Every replica (the trial's main thread
 * and each worker thread) holds the same model; per step each computes the gradient of
 * its shard, weighted by its share of the batch, into its own slot. After a barrier one
 * replica (the applier, rank 1) sums the slots in rank order, applies the update through
 * its optimizer and publishes the new weights; the others copy them before their next
 * gradient, so the replicas stay bit-identical.
 */

/** Rows [start, end) of a batch of `batch` that replica `rank` of `count` trains on: sizes differ by at most one. */
export function shardOf(batch: number, count: number, rank: number): { start: number; end: number } {
  return { start: Math.floor((rank * batch) / count), end: Math.floor(((rank + 1) * batch) / count) };
}

/** Control words (Int32Array over a SharedArrayBuffer). */
export const CTRL = {
  /** Operations posted by the main thread so far (a worker runs op k once this reaches k). */
  posted: 0,
  /** Barrier arrivals so far, over all replicas and operations (op k is complete at count × k). */
  arrived: 1,
  /** 0, or 1 + the rank of a replica that failed: every waiting replica stops. */
  abort: 2,
  /** What op the main thread posted: see OP. */
  op: 3,
  /** Profile this op's peak tensor memory (the loop's profiled step). */
  profile: 4,
  /** Bytes of the failure message in the text buffer. */
  errorLength: 5,
  /** The op whose updated weights the applier has written into the weights buffer (0: none yet). */
  published: 6,
  size: 8,
} as const;

export const OP = { step: 0, dumpWeights: 1, stop: 2 } as const;

/**
 * Float64 words: the op's learning rate, the rate the applier's optimizer then held (read back
 * with traceLearningRate only), then per replica its loss, correct count, peak and baseline
 * tensor bytes, wasm heap bytes.
 */
export const F64 = { learningRate: 0, appliedLearningRate: 1, perRank: 5, base: 4 } as const;
export const f64Index = (rank: number, field: 'loss' | 'correct' | 'peakBytes' | 'baselineBytes' | 'heapBytes'): number =>
  F64.base + rank * F64.perRank + ['loss', 'correct', 'peakBytes', 'baselineBytes', 'heapBytes'].indexOf(field);

export const ERROR_BYTES = 2048;

/** The buffers a replica group shares; the gradient slots come twice, alternating by op (see pool.ts). */
export interface SharedBuffers {
  ctrl: SharedArrayBuffer;
  f64: SharedArrayBuffer;
  error: SharedArrayBuffer;
  /** accumulate × batch samples, float32. */
  x: SharedArrayBuffer;
  /** accumulate × batch labels: int32 class indices, or float32 targets (yFloat). */
  y: SharedArrayBuffer;
  yFloat: boolean;
  /** 2 × count × weights float32: each replica's weighted gradient (trainable) and weighted state (non-trainable). */
  slots: SharedArrayBuffer;
  /** weights float32: the applier's weights after the op in CTRL.published, in slot order. */
  weights: SharedArrayBuffer;
}

/** The replica that applies each update (the others copy its weights): a worker, so the main thread's loop work between steps overlaps the update. */
export const APPLIER = 1;

export function allocateShared(o: { count: number; batch: number; accumulate: number; sampleSize: number; labelSize: number; yFloat: boolean; weights: number }): SharedBuffers {
  const rows = o.batch * o.accumulate;
  return {
    ctrl: new SharedArrayBuffer(CTRL.size * 4),
    f64: new SharedArrayBuffer((F64.base + o.count * F64.perRank) * 8),
    error: new SharedArrayBuffer(ERROR_BYTES),
    x: new SharedArrayBuffer(rows * o.sampleSize * 4),
    y: new SharedArrayBuffer(rows * o.labelSize * 4),
    yFloat: o.yFloat,
    slots: new SharedArrayBuffer(2 * o.count * o.weights * 4),
    weights: new SharedArrayBuffer(o.weights * 4),
  };
}

export function sharedBytes(s: SharedBuffers): number {
  return s.ctrl.byteLength + s.f64.byteLength + s.error.byteLength + s.x.byteLength + s.y.byteLength + s.slots.byteLength + s.weights.byteLength;
}

/** The slot replica `rank` writes for op number `op` (1-based), alternating buffers so a fast replica never overwrites what a slow one still reads. */
export function slotOf(slots: Float32Array, count: number, weights: number, op: number, rank: number): Float32Array {
  const start = ((op % 2) * count + rank) * weights;
  return slots.subarray(start, start + weights);
}

/** Sums the replicas' slots in rank order (the same order on every replica, so every replica gets the same bits). */
export function sumSlots(slots: Float32Array, count: number, weights: number, op: number, out: Float32Array): Float32Array {
  const base = (op % 2) * count * weights;
  for (let i = 0; i < weights; i++) {
    let s = slots[base + i]!;
    for (let r = 1; r < count; r++) s += slots[base + r * weights + i]!;
    out[i] = s;
  }
  return out;
}
