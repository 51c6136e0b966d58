import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import { BstuneError } from '../errors.js';
import { errMessage, errnoCode } from './fs-util.js';

/** IDX magic: 0x00 0x00, type 0x08 (ubyte), then the number of dimensions. */
export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** Shape of one sample, e.g. [28, 28]. */
  shape: number[];
  /** count × prod(shape) bytes. */
  data: Uint8Array;
}

const gunzipAsync = promisify(gunzip);
const fmt = (n: number) => n.toLocaleString('en-US');

function invalid(message: string, file: string, offset?: number): BstuneError {
  return new BstuneError('BSTUNE_DATA_INVALID', message, offset === undefined ? file : `${file}, byte ${offset}`);
}

/** Reads an IDX file and gunzips it when it starts with the gzip magic, whatever its name says. */
export async function readMaybeGzip(file: string): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    const code = errnoCode(e);
    throw new BstuneError(
      code === 'ENOENT' ? 'BSTUNE_DATA_UNAVAILABLE' : 'BSTUNE_DATA_INVALID',
      `cannot read IDX file (${code ?? errMessage(e)})`,
      file,
      { cause: e },
    );
  }
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  try {
    return await gunzipAsync(raw);
  } catch (e) {
    throw new BstuneError(
      'BSTUNE_DATA_INVALID',
      `corrupt gzip file (${errMessage(e)}); delete it and download it again`,
      file,
      { cause: e },
    );
  }
}

const TYPE_NAMES: Record<number, string> = { 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

/**
 * IDX: two zero bytes, a type byte (0x08 = unsigned byte, the only one these data sets use),
 * the number of dimensions, then one big-endian uint32 per dimension. Image files have 2 or
 * more dimensions (count, rows, cols[, channels]); label files have one.
 */
function checkHeader(buf: Uint8Array, file: string, kind: 'image' | 'label'): { view: DataView; dims: number[]; offset: number } {
  const expectedMagic = kind === 'image' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
  const minHeader = kind === 'image' ? 16 : 8;
  if (buf.length < minHeader) {
    throw invalid(`not an IDX ${kind} file: ${buf.length} bytes is shorter than its ${minHeader}-byte header`, file);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const ndim = magic & 0xff;
  const type = (magic >>> 8) & 0xff;
  const wellFormed = magic >>> 16 === 0 && (kind === 'image' ? ndim >= 2 && ndim <= 5 : ndim === 1);
  if (!wellFormed || (type !== 0x08 && !(type in TYPE_NAMES))) {
    const hint =
      magic === IDX_IMAGES_MAGIC
        ? ' (this is an image file; are the image and label files swapped?)'
        : magic === IDX_LABELS_MAGIC
          ? ' (this is a label file; are the image and label files swapped?)'
          : '; is this an IDX file?';
    throw invalid(`bad IDX magic number ${magic}, expected ${expectedMagic} for an ${kind} file${hint}`, file, 0);
  }
  if (type !== 0x08) throw invalid(`IDX ${kind} file holds ${TYPE_NAMES[type]} values; only unsigned-byte IDX files are supported`, file, 2);
  const offset = 4 + 4 * ndim;
  if (buf.length < offset) throw invalid(`not an IDX ${kind} file: ${buf.length} bytes is shorter than its ${offset}-byte header`, file);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  return { view, dims, offset };
}

function checkLength(buf: Uint8Array, file: string, expected: number, count: number, kind: string): void {
  if (buf.length === expected) return;
  const what = buf.length < expected ? 'truncated' : 'has trailing bytes';
  throw invalid(
    `IDX ${kind} file ${what}: header says ${fmt(count)} items, so expected ${fmt(expected)} bytes but got ${fmt(buf.length)}; re-download it`,
    file,
  );
}

/**
 * Parses (already gunzipped) IDX image bytes of any sample shape (MNIST, Fashion-MNIST,
 * KMNIST, EMNIST: count x 28 x 28). The pixels are a view on `buf`, not a copy: the split
 * that follows makes the one copy.
 */
export function parseIdxImages(buf: Uint8Array, file: string): IdxImages {
  const { dims, offset } = checkHeader(buf, file, 'image');
  const [count, ...shape] = dims as [number, ...number[]];
  if (shape.some((d) => d === 0)) throw invalid(`IDX images have an empty dimension (${shape.join('x')})`, file, 8);
  const size = shape.reduce((a, b) => a * b, 1);
  checkLength(buf, file, offset + count * size, count, 'image');
  return { count, rows: shape[0]!, cols: shape[1] ?? 1, shape, data: buf.subarray(offset) };
}

/** Parses (already gunzipped) IDX label bytes; with `numClasses`, checks every label is below it. */
export function parseIdxLabels(buf: Uint8Array, file: string, numClasses?: number): Uint8Array {
  const { view, offset } = checkHeader(buf, file, 'label');
  const count = view.getUint32(4, false);
  checkLength(buf, file, offset + count, count, 'label');
  const labels = buf.subarray(offset);
  if (numClasses !== undefined) {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i]! >= numClasses) {
        throw invalid(`label ${labels[i]} at index ${i} is out of range 0..${numClasses - 1}`, file, offset + i);
      }
    }
  }
  return labels;
}

export async function readIdxImages(file: string): Promise<IdxImages> {
  return parseIdxImages(await readMaybeGzip(file), file);
}

export async function readIdxLabels(file: string, numClasses?: number): Promise<Uint8Array> {
  return parseIdxLabels(await readMaybeGzip(file), file, numClasses);
}

/** Reads a matching image/label pair and checks that they describe the same samples. */
export async function readIdxPair(
  imagesFile: string,
  labelsFile: string,
  numClasses?: number,
): Promise<{ images: Uint8Array; labels: Uint8Array; count: number; shape: number[] }> {
  const [images, labels] = await Promise.all([readIdxImages(imagesFile), readIdxLabels(labelsFile, numClasses)]);
  if (images.count !== labels.length) {
    throw new BstuneError(
      'BSTUNE_DATA_INVALID',
      `image/label count mismatch: ${fmt(images.count)} images but ${fmt(labels.length)} labels in ${labelsFile}; use files from the same release`,
      imagesFile,
    );
  }
  return { images: images.data, labels, count: images.count, shape: images.shape };
}
