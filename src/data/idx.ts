import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import { BstuneError } from '../errors.js';
import { errMessage, errnoCode } from './fs-util.js';
import { IMAGE_SIZE, NUM_CLASSES } from './types.js';

/** IDX magic: 0x00 0x00, type 0x08 (ubyte), then the number of dimensions. */
export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count*rows*cols bytes. */
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
      `cannot read MNIST file (${code ?? errMessage(e)})`,
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

function checkHeader(buf: Uint8Array, file: string, expectedMagic: number, headerBytes: number): DataView {
  const kind = expectedMagic === IDX_IMAGES_MAGIC ? 'image' : 'label';
  if (buf.length < headerBytes) {
    throw invalid(
      `not an IDX ${kind} file: ${buf.length} bytes is shorter than its ${headerBytes}-byte header`,
      file,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    const hint =
      magic === IDX_IMAGES_MAGIC
        ? ' (this is an image file; are the image and label files swapped?)'
        : magic === IDX_LABELS_MAGIC
          ? ' (this is a label file; are the image and label files swapped?)'
          : '; is this an MNIST IDX file?';
    throw invalid(`bad IDX magic number ${magic}, expected ${expectedMagic} for an ${kind} file${hint}`, file, 0);
  }
  return view;
}

function checkLength(buf: Uint8Array, file: string, expected: number, count: number, kind: string): void {
  if (buf.length === expected) return;
  const what = buf.length < expected ? 'truncated' : 'has trailing bytes';
  throw invalid(
    `IDX ${kind} file ${what}: header says ${fmt(count)} items, so expected ${fmt(expected)} bytes but got ${fmt(buf.length)}; re-download it`,
    file,
  );
}

/** Parses (already gunzipped) IDX image bytes; only 28x28 is accepted, as the models assume it. */
export function parseIdxImages(buf: Uint8Array, file: string): IdxImages {
  const view = checkHeader(buf, file, IDX_IMAGES_MAGIC, 16);
  const count = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  if (rows !== IMAGE_SIZE || cols !== IMAGE_SIZE) {
    throw invalid(`images are ${rows}x${cols}, expected ${IMAGE_SIZE}x${IMAGE_SIZE} (MNIST format)`, file, 8);
  }
  checkLength(buf, file, 16 + count * rows * cols, count, 'image');
  // Copy (Buffer#slice would be a view) so the result does not pin a pooled buffer.
  return { count, rows, cols, data: new Uint8Array(buf.subarray(16)) };
}

/** Parses (already gunzipped) IDX label bytes and checks every label is a digit class. */
export function parseIdxLabels(buf: Uint8Array, file: string): Uint8Array {
  const view = checkHeader(buf, file, IDX_LABELS_MAGIC, 8);
  const count = view.getUint32(4, false);
  checkLength(buf, file, 8 + count, count, 'label');
  // Buffer#slice is a view, not a copy; copying avoids pinning the whole file.
  const labels = new Uint8Array(buf.subarray(8));
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= NUM_CLASSES) {
      throw invalid(`label ${labels[i]} at index ${i} is out of range 0..${NUM_CLASSES - 1}`, file, 8 + i);
    }
  }
  return labels;
}

export async function readIdxImages(file: string): Promise<IdxImages> {
  return parseIdxImages(await readMaybeGzip(file), file);
}

export async function readIdxLabels(file: string): Promise<Uint8Array> {
  return parseIdxLabels(await readMaybeGzip(file), file);
}

/** Reads a matching image/label pair and checks that they describe the same samples. */
export async function readIdxPair(
  imagesFile: string,
  labelsFile: string,
): Promise<{ images: Uint8Array; labels: Uint8Array; count: number }> {
  const [images, labels] = await Promise.all([readIdxImages(imagesFile), readIdxLabels(labelsFile)]);
  if (images.count !== labels.length) {
    throw new BstuneError(
      'BSTUNE_DATA_INVALID',
      `image/label count mismatch: ${fmt(images.count)} images but ${fmt(labels.length)} labels in ${labelsFile}; use files from the same MNIST release`,
      imagesFile,
    );
  }
  return { images: images.data, labels, count: images.count };
}
