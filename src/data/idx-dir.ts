import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { BstuneError } from '../errors.js';
import { errnoCode } from './fs-util.js';
import { readIdxPair } from './idx.js';
import type { Split } from './types.js';

export interface IdxSet {
  train: Split;
  test: Split | null;
  /** Shape of one image, from the header, e.g. [28, 28]. */
  shape: number[];
  /** Max label + 1 over the training labels. */
  numClasses: number;
  dir: string;
  files: string[];
}

const ROLES = {
  trainImages: /(^|[-_.])train-images[-.]idx\d-ubyte(\.gz)?$/,
  trainLabels: /(^|[-_.])train-labels[-.]idx1-ubyte(\.gz)?$/,
  testImages: /(^|[-_.])(t10k|test)-images[-.]idx\d-ubyte(\.gz)?$/,
  testLabels: /(^|[-_.])(t10k|test)-labels[-.]idx1-ubyte(\.gz)?$/,
} as const;

/**
 * Finds the IDX files by the names MNIST, Fashion-MNIST, KMNIST and EMNIST use
 * (`train-images-idx3-ubyte`, `emnist-digits-train-images-idx3-ubyte`, gzip'd or not).
 * A raw and a .gz copy of the same file count once (the raw one is read).
 */
export async function findIdxFiles(dir: string): Promise<Record<keyof typeof ROLES, string | null>> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    const code = errnoCode(e);
    throw new BstuneError('BSTUNE_DATA_UNAVAILABLE', code === 'ENOENT' ? 'IDX data folder does not exist; point data.idxDir at the folder holding train-images-idx3-ubyte and train-labels-idx1-ubyte' : `cannot read the IDX data folder (${code ?? String(e)})`, dir);
  }
  const pick = (role: keyof typeof ROLES): string | null => {
    const hits = names.filter((n) => ROLES[role].test(n));
    const distinct = hits.filter((n) => !(n.endsWith('.gz') && hits.includes(n.slice(0, -3))));
    if (distinct.length > 1) {
      throw new BstuneError('BSTUNE_DATA_INVALID', `several IDX files could be the ${role.replace(/([A-Z])/, ' $1').toLowerCase()}: ${distinct.join(', ')}; put one data set per folder`, dir);
    }
    return distinct[0] !== undefined ? join(dir, distinct[0]) : null;
  };
  return { trainImages: pick('trainImages'), trainLabels: pick('trainLabels'), testImages: pick('testImages'), testLabels: pick('testLabels') };
}

/** Any IDX image/label set: the image shape from the header, the class count from the labels. */
export async function loadIdxSet(idxDir: string): Promise<IdxSet> {
  const dir = resolve(idxDir);
  const f = await findIdxFiles(dir);
  if (f.trainImages === null || f.trainLabels === null) {
    const missing = [f.trainImages === null ? 'train-images-idx3-ubyte' : null, f.trainLabels === null ? 'train-labels-idx1-ubyte' : null].filter(Boolean).join(' and ');
    throw new BstuneError('BSTUNE_DATA_UNAVAILABLE', `no ${missing} (gzip'd or not, any prefix) in the IDX data folder`, dir);
  }
  const train = await readIdxPair(f.trainImages, f.trainLabels);
  if (train.count === 0) throw new BstuneError('BSTUNE_DATA_INVALID', 'IDX training set is empty (0 images)', f.trainImages);
  let max = 0;
  for (const l of train.labels) if (l > max) max = l;
  const files = [f.trainImages, f.trainLabels];
  let test: Split | null = null;
  if (f.testImages !== null && f.testLabels !== null) {
    const t = await readIdxPair(f.testImages, f.testLabels);
    if (t.shape.join('x') !== train.shape.join('x')) {
      throw new BstuneError('BSTUNE_DATA_INVALID', `test images are ${t.shape.join('x')} but training images are ${train.shape.join('x')} (${f.trainImages})`, f.testImages);
    }
    test = { images: t.images, labels: t.labels, count: t.count };
    files.push(f.testImages, f.testLabels);
  }
  return { train: { images: train.images, labels: train.labels, count: train.count }, test, shape: train.shape, numClasses: max + 1, dir, files };
}
