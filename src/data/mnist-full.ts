import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { BstuneError } from '../errors.js';
import { ensureOfficialFile, manualHint, MNIST_FILES } from './download.js';
import type { DownloadOptions, OfficialFile } from './download.js';
import { ensureDir } from './fs-util.js';
import { filesFingerprint, loadFullPoolsCached, officialFingerprint, type FullPools } from './full-cache.js';
import { readIdxPair } from './idx.js';
import { splitPool } from './split.js';
import type { Split } from './types.js';
import { IMAGE_SIZE, NUM_CLASSES } from './types.js';

export interface MnistFullPools {
  train: Split;
  validation: Split;
  test: Split;
  /** Where the files came from, for the human-readable source line. */
  origin: string;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * Finds a user-provided file by its official base name, gzip'd or not; the dotted
 * spelling (train-images.idx3-ubyte) is how some popular re-distributions name them.
 */
async function findUserFile(dir: string, file: OfficialFile): Promise<string> {
  const base = file.name.replace(/\.gz$/, '');
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  const candidates = [base, `${base}.gz`, dotted, `${dotted}.gz`];
  for (const name of candidates) {
    const p = join(dir, name);
    if (await exists(p)) return p;
  }
  const all = Object.values(MNIST_FILES)
    .map((f) => f.name.replace(/\.gz$/, ''))
    .join(', ');
  throw new BstuneError(
    'BSTUNE_DATA_UNAVAILABLE',
    `${base} (or ${base}.gz) not found in the data directory; it must hold ${all} (gzip'd or not)`,
    dir,
  );
}

/**
 * The official 60k/10k files: from `idxDir` as given (checked structurally only, so
 * MNIST-format look-alikes work too), else from `<cacheDir>/mnist-full`, downloading
 * and md5-verifying the official files on first use.
 */
export async function loadMnistFullPools(
  idxDir: string | undefined,
  cacheDirPath: string,
  opts: DownloadOptions,
  split: { seed: number; validationSplit: number; trainLimit?: number },
): Promise<MnistFullPools> {
  const paths: Record<keyof typeof MNIST_FILES, string> = { trainImages: '', trainLabels: '', testImages: '', testLabels: '' };
  const keys = Object.keys(MNIST_FILES) as (keyof typeof MNIST_FILES)[];
  const decode = async (): Promise<FullPools> => {
    const [train, test] = await Promise.all([
      readIdxPair(paths.trainImages, paths.trainLabels, NUM_CLASSES),
      readIdxPair(paths.testImages, paths.testLabels, NUM_CLASSES),
    ]);
    for (const [pair, file] of [[train, paths.trainImages], [test, paths.testImages]] as const) {
      if (pair.shape.join('x') !== `${IMAGE_SIZE}x${IMAGE_SIZE}`) {
        throw new BstuneError('BSTUNE_DATA_INVALID', `images are ${pair.shape.join('x')}, expected ${IMAGE_SIZE}x${IMAGE_SIZE} (MNIST format); for other IDX data sets leave out source: mnist-full (data.idxDir alone reads any IDX set)`, file);
      }
    }
    return { train: { images: train.images, labels: train.labels, count: train.count }, test: { images: test.images, labels: test.labels, count: test.count } };
  };
  const onProgress = opts.onProgress ?? (() => {});
  if (idxDir !== undefined) {
    const dir = resolve(idxDir);
    if (!(await exists(dir))) {
      throw new BstuneError(
        'BSTUNE_DATA_UNAVAILABLE',
        `data directory does not exist; ${manualHint(dir).replace(/, or set .*$/, '')}, or point data.idxDir / --data-dir elsewhere`,
        dir,
      );
    }
    for (const k of keys) paths[k] = await findUserFile(dir, MNIST_FILES[k]);
    const origin = `IDX files in ${dir}`;
    // The user's files are checked structurally when decoded; the cache is keyed by
    // their paths, sizes and mtimes, so an edited or replaced file is decoded afresh.
    const fingerprint = await filesFingerprint(keys.map((k) => paths[k])).catch(() => null);
    if (fingerprint === null) {
      const pools = await decode();
      return { ...splitPool(pools.train, split.validationSplit, split.seed, split.trainLimit), test: pools.test, origin };
    }
    const pools = await loadFullPoolsCached(cacheDirPath, fingerprint, split, decode, onProgress);
    return { train: pools.train, validation: pools.validation, test: pools.test, origin };
  }
  const dir = join(cacheDirPath, 'mnist-full');
  const origin = `official IDX files, md5-verified, in ${dir}`;
  // A valid decoded cache was built from md5-verified files, so the .gz files need
  // neither a new md5 pass nor a gunzip.
  const fingerprint = officialFingerprint(keys.map((k) => MNIST_FILES[k].md5));
  const pools = await loadFullPoolsCached(cacheDirPath, fingerprint, split, async () => {
    await ensureDir(dir, 'MNIST download');
    // One at a time: parallel downloads would only interleave progress lines on a link they share.
    for (const k of keys) paths[k] = await ensureOfficialFile(MNIST_FILES[k], dir, opts);
    return decode();
  }, onProgress);
  return { train: pools.train, validation: pools.validation, test: pools.test, origin };
}
