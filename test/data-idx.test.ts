import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EMBEDDED_DIGIT_COUNTS } from '../src/data/embedded.js';
import { MNIST_FILES } from '../src/data/download.js';
import { readIdxImages, readIdxLabels, readIdxPair } from '../src/data/idx.js';
import { BstuneError } from '../src/errors.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// CI clones the repo with shared/ beside it.
const fixtures = process.env.BSTUNE_MNIST_FIXTURES ?? resolve(repoRoot, '../shared/fixtures/mnist');
const haveFixtures = existsSync(join(fixtures, 'train-labels-idx1-ubyte.gz'));
if (!haveFixtures) console.warn(`[data-idx] real MNIST label fixtures not found at ${fixtures}; skipping those tests`);

function idxImages(count: number, rows = 28, cols = 28, magic = 2051): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(magic, 0);
  head.writeUInt32BE(count, 4);
  head.writeUInt32BE(rows, 8);
  head.writeUInt32BE(cols, 12);
  const body = Buffer.alloc(count * rows * cols);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
  return Buffer.concat([head, body]);
}

function idxLabels(labels: number[], magic = 2049): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(magic, 0);
  head.writeUInt32BE(labels.length, 4);
  return Buffer.concat([head, Buffer.from(labels)]);
}

async function dataError(p: Promise<unknown>): Promise<BstuneError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BstuneError);
  return e as BstuneError;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bstune-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, bytes: Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

describe.skipIf(!haveFixtures)(`official MNIST label files (${fixtures})`, () => {
  it('train labels: official md5, 60,000 labels, first 10,000 match the embedded per-digit counts', async () => {
    const file = join(fixtures, 'train-labels-idx1-ubyte.gz');
    expect(createHash('md5').update(readFileSync(file)).digest('hex')).toBe(MNIST_FILES.trainLabels.md5);
    const labels = await readIdxLabels(file);
    expect(labels.length).toBe(60_000);
    expect(labels.length + 8).toBe(MNIST_FILES.trainLabels.unzippedBytes);
    const counts = new Array<number>(10).fill(0);
    for (const l of labels.subarray(0, 10_000)) counts[l]++;
    expect(counts).toEqual([...EMBEDDED_DIGIT_COUNTS]);
  });

  it('t10k labels: official md5, 10,000 labels, all 0..9', async () => {
    const file = join(fixtures, 't10k-labels-idx1-ubyte.gz');
    expect(createHash('md5').update(readFileSync(file)).digest('hex')).toBe(MNIST_FILES.testLabels.md5);
    const labels = await readIdxLabels(file);
    expect(labels.length).toBe(10_000);
    expect(new Set(labels).size).toBe(10);
  });
});

describe('IDX reader on generated files', () => {
  it('reads raw and gzip files identically', async () => {
    const raw = await put('good-images', idxImages(3));
    const gz = await put('good-images.gz', gzipSync(idxImages(3)));
    const a = await readIdxImages(raw);
    const b = await readIdxImages(gz);
    expect(a.count).toBe(3);
    expect([a.rows, a.cols]).toEqual([28, 28]);
    expect(a.data.length).toBe(3 * 784);
    expect(a.data[1]).toBe(7);
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
    const labels = await readIdxLabels(await put('good-labels.gz', gzipSync(idxLabels([0, 9, 5]))));
    expect([...labels]).toEqual([0, 9, 5]);
  });

  it('pairs images with labels', async () => {
    const pair = await readIdxPair(await put('p-images', idxImages(2)), await put('p-labels', idxLabels([1, 2])));
    expect(pair.count).toBe(2);
    expect([...pair.labels]).toEqual([1, 2]);
  });

  it('rejects a bad magic number, naming the file and offset', async () => {
    const f = await put('bad-magic', idxImages(1, 28, 28, 1234));
    const e = await dataError(readIdxImages(f));
    expect(e.code).toBe('BSTUNE_DATA_INVALID');
    expect(e.message).toMatch(/magic number 1234, expected 2051/);
    expect(e.where).toBe(`${f}, byte 0`);
  });

  it('says when image and label files are swapped', async () => {
    const e = await dataError(readIdxLabels(await put('swapped', idxImages(1))));
    expect(e.message).toMatch(/image file; are the image and label files swapped/);
  });

  it('rejects a truncated file with expected vs actual bytes', async () => {
    const f = await put('truncated', idxImages(2).subarray(0, 16 + 784 + 100));
    const e = await dataError(readIdxImages(f));
    expect(e.code).toBe('BSTUNE_DATA_INVALID');
    expect(e.message).toMatch(/truncated.*expected 1,584 bytes but got 900/);
    expect(e.where).toBe(f);
  });

  it('rejects a truncated header', async () => {
    const e = await dataError(readIdxLabels(await put('tiny', Buffer.from([0, 0, 8]))));
    expect(e.message).toMatch(/shorter than its 8-byte header/);
  });

  it('rejects trailing bytes', async () => {
    const e = await dataError(readIdxLabels(await put('trailing', Buffer.concat([idxLabels([1, 2]), Buffer.from([0])]))));
    expect(e.message).toMatch(/trailing bytes.*expected 10 bytes but got 11/);
  });

  it('reads any image shape from the header (not only 28x28)', async () => {
    const img = await readIdxImages(await put('dims', idxImages(2, 32, 20)));
    expect(img.shape).toEqual([32, 20]);
    expect(img.data.length).toBe(2 * 32 * 20);
  });

  it('reads a 4-dimensional (colour) IDX image file', async () => {
    const head = Buffer.alloc(20);
    head.writeUInt32BE(0x0804, 0);
    [3, 4, 5, 3].forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    const img = await readIdxImages(await put('rgb', Buffer.concat([head, Buffer.alloc(3 * 4 * 5 * 3, 9)])));
    expect(img.shape).toEqual([4, 5, 3]);
    expect(img.count).toBe(3);
  });

  it('refuses non-byte IDX types with a clear line', async () => {
    const e = await dataError(readIdxImages(await put('floats', idxImages(1, 28, 28, 0x0d03))));
    expect(e.message).toMatch(/float values; only unsigned-byte/);
  });

  it('rejects an image/label count mismatch', async () => {
    const img = await put('m-images', idxImages(3));
    const e = await dataError(readIdxPair(img, await put('m-labels', idxLabels([1, 2]))));
    expect(e.message).toMatch(/3 images but 2 labels/);
    expect(e.where).toBe(img);
  });

  it('rejects a label above 9 with its index', async () => {
    const f = await put('label10', idxLabels([3, 10, 1]));
    expect([...(await readIdxLabels(f))]).toEqual([3, 10, 1]); // any class count without a limit
    const e = await dataError(readIdxLabels(f, 10));
    expect(e.message).toMatch(/label 10 at index 1 is out of range 0..9/);
    expect(e.where).toBe(`${f}, byte 9`);
  });

  it('turns a corrupt or truncated gzip into a data error', async () => {
    const gz = gzipSync(idxLabels([1, 2, 3]));
    const flipped = Buffer.from(gz);
    flipped[12] ^= 0xff;
    flipped[gz.length - 6] ^= 0xff;
    for (const [name, bytes] of [
      ['corrupt.gz', flipped],
      ['cut.gz', gz.subarray(0, gz.length - 10)],
    ] as const) {
      const f = await put(name, bytes);
      const e = await dataError(readIdxLabels(f));
      expect(e.code).toBe('BSTUNE_DATA_INVALID');
      expect(e.message).toMatch(/corrupt gzip/);
      expect(e.where).toBe(f);
    }
  });

  it('reports a missing file as unavailable', async () => {
    const e = await dataError(readIdxLabels(join(dir, 'nope')));
    expect(e.code).toBe('BSTUNE_DATA_UNAVAILABLE');
  });
});
