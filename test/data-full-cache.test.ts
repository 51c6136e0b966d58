import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadDataset, readIdxPair, splitPool, type Split } from '../src/data/index.js';
import { compact } from '../src/data/split.js';
import { MNIST_FILES } from '../src/data/download.js';
import { decodeFullCache, encodeFullCache, officialFingerprint } from '../src/data/full-cache.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bstune-fullcache-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
let n = 0;
const fresh = async () => mkdtemp(join(root, `d${n++}-`));

function idxImages(count: number, fill: (i: number) => number): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(2051, 0);
  head.writeUInt32BE(count, 4);
  head.writeUInt32BE(28, 8);
  head.writeUInt32BE(28, 12);
  return Buffer.concat([head, Buffer.from(Array.from({ length: count * 784 }, (_, i) => fill(i)))]);
}
function idxLabels(count: number, offset = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(2049, 0);
  head.writeUInt32BE(count, 4);
  return Buffer.concat([head, Buffer.from(Array.from({ length: count }, (_, i) => (i + offset) % 10))]);
}
async function idxDir(train: number, test: number, fill = 3): Promise<string> {
  const dir = await fresh();
  await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxImages(train, (i) => (i * fill) % 256)));
  await writeFile(join(dir, 'train-labels-idx1-ubyte'), idxLabels(train));
  await writeFile(join(dir, 't10k-images-idx3-ubyte'), idxImages(test, () => fill));
  await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxLabels(test)));
  return dir;
}
const cacheFiles = (dir: string) => readdirSync(dir).filter((f) => /^mnist-full-[0-9a-f]{16}\.v2\.bin$/.test(f));
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Same samples, labels and order (splits are selections: compared by what they select). */
const same = (a: Split, b: Split) => {
  const [x, y] = [compact(a), compact(b)];
  return x.count === y.count && bytes(x.images).equals(bytes(y.images)) && bytes(x.labels).equals(bytes(y.labels));
};
const load = (dir: string, cacheDir: string, progress: string[] = []) =>
  loadDataset({ source: 'mnist-full', idxDir: dir, validationSplit: 0.25 }, { seed: 7, cacheDir, onProgress: (m) => progress.push(m) });

describe('decoded full-MNIST cache', () => {
  it('is written on first use and gives the same data as decoding the IDX files', async () => {
    const dir = await idxDir(40, 12);
    const cache = await fresh();
    const first = await load(dir, cache);
    expect(cacheFiles(cache)).toHaveLength(1);
    const second = await load(dir, cache);
    expect(second.train.count).toBe(30);
    expect(same(second.train, first.train) && same(second.validation, first.validation) && same(second.test!, first.test!)).toBe(true);
    // Decoded from the IDX files or read from the cache: the same samples as splitting the IDX pool.
    const pool = await readIdxPair(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte'));
    const want = splitPool(pool, 0.25, 7);
    expect(same(second.train, want.train) && same(second.validation, want.validation) && same(first.train, want.train)).toBe(true);
  });

  it('splits exactly as splitPool does, for any seed, validationSplit and trainLimit, from one cache file', async () => {
    const dir = await idxDir(50, 5);
    const cache = await fresh();
    const pool = await readIdxPair(join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte'));
    for (const [seed, vs, limit] of [[7, 0.25, undefined], [7, 0.25, 10], [8, 0.25, undefined], [8, 0.5, 3], [8, 0.5, 3]] as const) {
      const ds = await loadDataset({ source: 'mnist-full', idxDir: dir, validationSplit: vs, ...(limit ? { trainLimit: limit } : {}) }, { seed, cacheDir: cache });
      const want = splitPool(pool, vs, seed, limit);
      expect(same(ds.train, want.train) && same(ds.validation, want.validation)).toBe(true);
    }
    expect(cacheFiles(cache)).toHaveLength(1);
  });

  it('splits are selections of the one buffer read from the cache: no sample is copied', async () => {
    const dir = await idxDir(40, 12);
    const cache = await fresh();
    await load(dir, cache);
    const ds = await load(dir, cache);
    expect(ds.train.select!.rows).toBe(40);
    expect(ds.train.images).toBe(ds.validation.images);
    // Train pixels, train labels and the test set are views on the same file buffer.
    expect(ds.train.images.buffer).toBe(ds.train.labels.buffer);
    expect(ds.test!.images.buffer).toBe(ds.train.images.buffer);
    expect(ds.train.images).toBeInstanceOf(Uint8Array);
  });

  it('is rebuilt, with a progress line, when a byte is flipped or the file is truncated', async () => {
    const dir = await idxDir(40, 12);
    const cache = await fresh();
    const good = await load(dir, cache);
    const file = join(cache, cacheFiles(cache)[0]!);
    const bytes = await readFile(file);
    bytes[bytes.length - 100]! ^= 0xff;
    await writeFile(file, bytes);
    // A version-1 cache of the same files (stored pre-shuffled) is dropped when the new one is written.
    const v1 = file.replace(/\.v2\.bin$/, '.v1.bin');
    await writeFile(v1, 'old');
    const progress: string[] = [];
    const again = await load(dir, cache, progress);
    expect(progress.join('\n')).toMatch(/decoded MNIST cache .* is invalid \(checksum mismatch\); rebuilding it/);
    expect(readdirSync(cache)).not.toContain(basename(v1));
    expect(same(again.train, good.train)).toBe(true);
    await writeFile(file, bytes.subarray(0, 500));
    const p2: string[] = [];
    await load(dir, cache, p2);
    expect(p2.join('\n')).toMatch(/is invalid \(size 500 bytes, expected \d+\)/);
    expect((await readFile(file)).length).toBe(bytes.length); // rewritten whole
  });

  it('is not reused when a source file changes (size or mtime)', async () => {
    const dir = await idxDir(40, 12, 3);
    const cache = await fresh();
    const before = await load(dir, cache);
    // Same size, new content and mtime: the stat fingerprint changes, so the files are decoded afresh.
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), idxImages(12, () => 9));
    await utimes(join(dir, 't10k-images-idx3-ubyte'), new Date(), new Date(Date.now() + 5000));
    const after = await load(dir, cache);
    expect(before.test!.images[0]).toBe(3);
    expect(after.test!.images[0]).toBe(9);
    expect(cacheFiles(cache)).toHaveLength(2);
  });

  it('serves the official set without touching (or downloading) the .gz files when it is valid', async () => {
    const cache = await fresh();
    const fp = officialFingerprint(Object.values(MNIST_FILES).map((f) => f.md5));
    const pools = {
      train: { images: new Uint8Array(20 * 784).fill(5), labels: Uint8Array.from({ length: 20 }, (_, i) => i % 10), count: 20 },
      test: { images: new Uint8Array(4 * 784).fill(6), labels: Uint8Array.from([1, 2, 3, 4]), count: 4 },
    };
    const { fullCachePath } = await import('../src/data/full-cache.js');
    await writeFile(fullCachePath(cache, fp), Buffer.concat(encodeFullCache(pools, fp)));
    const noFetch = (() => { throw new Error('fetch must not be called'); }) as unknown as typeof fetch;
    const ds = await loadDataset({ source: 'mnist-full', validationSplit: 0.5 }, { seed: 1, cacheDir: cache, fetchImpl: noFetch });
    expect(ds.train.count + ds.validation.count).toBe(20);
    expect(ds.test!.count).toBe(4);
    expect(compact(ds.train).images[0]).toBe(5);
  });

  it('rejects a cache built from other files and a label out of range', () => {
    const pools = {
      train: { images: new Uint8Array(2 * 784), labels: Uint8Array.from([1, 12]), count: 2 },
      test: { images: new Uint8Array(784), labels: Uint8Array.from([0]), count: 1 },
    };
    const buf = Buffer.concat(encodeFullCache(pools, 'files:a'));
    expect(decodeFullCache(buf, 'files:b')).toBe('built from other source files');
    expect(decodeFullCache(buf, 'files:a')).toBe('label 12 out of range');
    expect(decodeFullCache(Buffer.from('BSTUNEXX'), 'files:a')).toMatch(/shorter than the header/);
  });
});
