import { BstuneError } from '../errors.js';
import type { Split } from './types.js';
import { inputDtype, labelSize, rowOf, sampleSize, storedRows } from './types.js';
import { NpyRows } from './npy-rows.js';
import { MAX_SEED } from './seed.js';

/** mulberry32: tiny, fast and good enough for shuffling; the same seed gives the same stream everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, seed: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx;
}

/**
 * The samples at `order[start..end)` as a selection of the pool's rows: no sample is
 * copied (only the index, 4 bytes a sample); the batch filler gathers each batch.
 */
export function selectRows(pool: Split, order: Uint32Array, start: number, end: number): Split {
  const picked = order.subarray(start, end);
  const index = pool.select ? picked.map((k) => pool.select!.index[k]!) : picked;
  return { images: pool.images, labels: pool.labels, count: end - start, select: { index, rows: storedRows(pool) } };
}

const identityIndex = (n: number): Uint32Array => {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx;
};

/** The first `n` samples of a split, without copying any. */
export function headOf(split: Split, n: number): Split {
  const count = Math.min(split.count, n);
  if (split.select) return { ...split, count, select: { index: split.select.index.subarray(0, count), rows: split.select.rows } };
  // Rows read from a file: the first `count` rows as a selection (4 bytes a sample).
  if (split.images instanceof NpyRows) return { ...split, count, select: { index: identityIndex(count), rows: split.count } };
  const xs = sampleSize(split);
  const ys = labelSize(split);
  return { images: split.images.subarray(0, count * xs), labels: split.labels.subarray(0, count * ys), count };
}

/** A contiguous copy of a split's samples, in order (tests; writing caches). Not for rows read from a file. */
export function compact(split: Split): Split {
  const { count } = split;
  const xs = sampleSize(split);
  const ys = labelSize(split);
  const src = split.images;
  if (src instanceof NpyRows) throw new TypeError(`compact: the inputs of ${src.file} are read per batch (BatchFiller), not held in memory`);
  // Not `split.images.constructor`: that may be Buffer, whose constructor is deprecated.
  const dtype = inputDtype(src);
  const images = dtype === 'float32' ? new Float32Array(count * xs) : dtype === 'float64' ? new Float64Array(count * xs) : dtype === 'int32' ? new Int32Array(count * xs) : dtype === 'int64' ? new BigInt64Array(count * xs) : new Uint8Array(count * xs);
  const labels = split.labels instanceof Float32Array ? new Float32Array(count * ys) : split.labels instanceof Int32Array ? new Int32Array(count * ys) : new Uint8Array(count * ys);
  for (let k = 0; k < count; k++) {
    const row = rowOf(split, k);
    (images as Float32Array).set((src as Float32Array).subarray(row * xs, (row + 1) * xs), k * xs);
    labels.set(split.labels.subarray(row * ys, (row + 1) * ys), k * ys);
  }
  return { images, labels, count };
}

export function checkSplitOptions(validationSplit: number, trainLimit: number | undefined, seed: number): void {
  if (!(Number.isFinite(validationSplit) && validationSplit > 0 && validationSplit < 1)) {
    throw new BstuneError(
      'BSTUNE_CONFIG_INVALID',
      `validationSplit must be a number strictly between 0 and 1, got ${validationSplit}; use e.g. 0.2`,
      'data.validationSplit',
    );
  }
  if (trainLimit !== undefined && !(Number.isInteger(trainLimit) && trainLimit >= 1)) {
    throw new BstuneError(
      'BSTUNE_CONFIG_INVALID',
      `trainLimit must be a positive integer, got ${trainLimit}; omit it to use all training samples`,
      'data.trainLimit',
    );
  }
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED)) {
    throw new BstuneError('BSTUNE_CONFIG_INVALID', `seed must be a whole number from 0 to ${MAX_SEED}, got ${seed}`, 'seed');
  }
}

/**
 * Shuffles the pool with `seed`, holds out round(count*validationSplit) samples
 * (at least one each side) for validation, then caps the rest at `trainLimit`.
 * Both are selections of the pool's rows (see Split.select), not copies.
 * The cap comes after the split so validation does not change with trainLimit.
 */
export function splitPool(
  pool: Split,
  validationSplit: number,
  seed: number,
  trainLimit?: number,
): { train: Split; validation: Split } {
  const { nVal, nTrain } = splitSizes(pool.count, validationSplit, seed, trainLimit);
  const order = permutation(pool.count, seed);
  return {
    validation: selectRows(pool, order, 0, nVal),
    train: selectRows(pool, order, nVal, nVal + nTrain),
  };
}

/**
 * How splitPool cuts a pool of `count`: after shuffling with the seed, the first nVal
 * samples are validation and the next nTrain are training. Shared with the decoded
 * full-MNIST cache, which stores the pool already in that order.
 */
export function splitSizes(count: number, validationSplit: number, seed: number, trainLimit?: number): { nVal: number; nTrain: number } {
  checkSplitOptions(validationSplit, trainLimit, seed);
  if (count < 2) {
    throw new BstuneError(
      'BSTUNE_DATA_INVALID',
      `need at least 2 samples to split into train and validation, got ${count}`,
      'data',
    );
  }
  const nVal = Math.min(count - 1, Math.max(1, Math.round(count * validationSplit)));
  const nTrainAll = count - nVal;
  return { nVal, nTrain: trainLimit === undefined ? nTrainAll : Math.min(trainLimit, nTrainAll) };
}

/** With a separate validation set: all of the pool for training (a seeded subset under `trainLimit`). */
export function takeTrain(pool: Split, seed: number, trainLimit?: number): Split {
  // Every epoch is shuffled anyway: the whole pool trains as it was read, with no copy at all.
  if (trainLimit === undefined || trainLimit >= pool.count) return pool;
  return selectRows(pool, permutation(pool.count, seed), 0, trainLimit);
}
