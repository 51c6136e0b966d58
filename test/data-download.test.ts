import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureOfficialFile, MNIST_FILES, MNIST_MIRRORS } from '../src/data/download.js';
import { loadDataset } from '../src/data/index.js';
import { BstuneError } from '../src/errors.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = process.env.BSTUNE_MNIST_FIXTURES ?? resolve(repoRoot, '../shared/fixtures/mnist');
const haveFixtures = existsSync(join(fixtures, 'train-labels-idx1-ubyte.gz'));
if (!haveFixtures) console.warn(`[data-download] real MNIST label fixtures not found at ${fixtures}; skipping the verified-download tests`);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bstune-download-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function freshDir(): Promise<string> {
  const d = join(root, `d${n++}`);
  await mkdir(d, { recursive: true });
  return d;
}

/** A fetch that serves fixed bytes (or a status) and records the URLs asked for. */
function serving(body: Buffer | undefined, status = 200): { fetchImpl: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    urls.push(String(input));
    if (body === undefined || status !== 200) return new Response('not here', { status, statusText: 'Not Found' });
    return new Response(new Uint8Array(body), { status: 200, headers: { 'content-length': String(body.length) } });
  };
  return { fetchImpl, urls };
}

const offlineFetch: typeof fetch = async () => {
  throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND storage.googleapis.com'), { code: 'ENOTFOUND' }) });
};

async function rejection(p: Promise<unknown>): Promise<BstuneError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BstuneError);
  return e as BstuneError;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe.skipIf(!haveFixtures)(`verified download (serving ${fixtures})`, () => {
  it('streams a good file into the cache after checking its md5, from the first pinned mirror', async () => {
    const dir = await freshDir();
    const bytes = await readFile(join(fixtures, MNIST_FILES.trainLabels.name));
    const { fetchImpl, urls } = serving(bytes);
    const progress: string[] = [];
    const path = await ensureOfficialFile(MNIST_FILES.trainLabels, dir, { fetchImpl, onProgress: (m) => progress.push(m) });
    expect(path).toBe(join(dir, MNIST_FILES.trainLabels.name));
    expect(urls).toEqual([`${MNIST_MIRRORS[0]}${MNIST_FILES.trainLabels.name}`]);
    expect(urls[0]).toMatch(/^https:\/\//);
    expect(md5(await readFile(path))).toBe(MNIST_FILES.trainLabels.md5);
    expect(await readdir(dir)).toEqual([MNIST_FILES.trainLabels.name]);
    expect(progress.join('\n')).toMatch(/downloading train-labels-idx1-ubyte.gz \(0.0 MB\) from storage.googleapis.com/);
    expect(progress.join('\n')).toMatch(/md5 verified/);
  });

  it('uses a verified cached file without fetching', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, MNIST_FILES.testLabels.name), await readFile(join(fixtures, MNIST_FILES.testLabels.name)));
    const { fetchImpl, urls } = serving(undefined, 500);
    await ensureOfficialFile(MNIST_FILES.testLabels, dir, { fetchImpl });
    expect(urls).toEqual([]);
  });

  it('replaces a corrupt cached file with a fresh verified download', async () => {
    const dir = await freshDir();
    const target = join(dir, MNIST_FILES.testLabels.name);
    await writeFile(target, 'garbage');
    const { fetchImpl, urls } = serving(await readFile(join(fixtures, MNIST_FILES.testLabels.name)));
    const progress: string[] = [];
    await ensureOfficialFile(MNIST_FILES.testLabels, dir, { fetchImpl, onProgress: (m) => progress.push(m) });
    expect(urls.length).toBe(1);
    expect(progress[0]).toMatch(/cached t10k-labels-idx1-ubyte.gz is corrupt/);
    expect(md5(await readFile(target))).toBe(MNIST_FILES.testLabels.md5);
  });

  it('falls back to the second mirror when the first fails', async () => {
    const dir = await freshDir();
    const bytes = await readFile(join(fixtures, MNIST_FILES.testLabels.name));
    const urls: string[] = [];
    const fetchImpl: typeof fetch = async (input) => {
      urls.push(String(input));
      return urls.length === 1 ? new Response('', { status: 503 }) : new Response(bytes);
    };
    await ensureOfficialFile(MNIST_FILES.testLabels, dir, { fetchImpl });
    expect(urls).toEqual(MNIST_MIRRORS.map((m) => m + MNIST_FILES.testLabels.name));
    expect(await readdir(dir)).toEqual([MNIST_FILES.testLabels.name]);
  });
});

describe('failed downloads', () => {
  it('wrong md5: data error naming both sums, no file and no temp left', async () => {
    const dir = await freshDir();
    const bad = gzipSync(Buffer.from('not mnist'));
    const e = await rejection(ensureOfficialFile(MNIST_FILES.trainLabels, dir, serving(bad)));
    expect(e.code).toBe('BSTUNE_DATA_INVALID');
    expect(e.message).toContain(`md5 ${md5(bad)}, expected ${MNIST_FILES.trainLabels.md5}`);
    expect(e.message).toContain(dir);
    expect(e.where).toBe(dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('HTTP 404 from every mirror: unavailable, with the status and URLs, nothing left behind', async () => {
    const dir = await freshDir();
    const e = await rejection(ensureOfficialFile(MNIST_FILES.testLabels, dir, serving(undefined, 404)));
    expect(e.code).toBe('BSTUNE_DATA_UNAVAILABLE');
    expect(e.message).toContain(`HTTP 404 Not Found from ${MNIST_MIRRORS[0]}t10k-labels-idx1-ubyte.gz`);
    expect(e.message).not.toMatch(/offline/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a redirect to plain http is refused even when the bytes would be right; nothing is kept', async () => {
    const dir = await freshDir();
    const body = Buffer.from('any bytes: the channel is refused before they are read');
    const fetchImpl: typeof fetch = async () => {
      const res = new Response(new Uint8Array(body), { status: 200 });
      Object.defineProperty(res, 'url', { value: 'http://example.invalid/t10k-labels-idx1-ubyte.gz' });
      return res;
    };
    const e = await rejection(ensureOfficialFile(MNIST_FILES.testLabels, dir, { fetchImpl }));
    expect(e.code).toBe('BSTUNE_DATA_UNAVAILABLE');
    expect(e.message).toContain('redirected to a non-https address (http:)');
    expect(await readdir(dir)).toEqual([]);
  });

  it('a connection that breaks mid-body is a network failure and leaves no temp file', async () => {
    const dir = await freshDir();
    const fetchImpl: typeof fetch = async () => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array(1000));
          c.error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        },
      });
      return new Response(body, { headers: { 'content-length': '5000' } });
    };
    const e = await rejection(ensureOfficialFile(MNIST_FILES.testLabels, dir, { fetchImpl }));
    expect(e.code).toBe('BSTUNE_DATA_UNAVAILABLE');
    expect(e.message).toMatch(/socket hang up/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a body that fails at once never leaves a temp file behind (30 tries: the file was opened after the clean-up)', async () => {
    for (let i = 0; i < 30; i++) {
      const dir = await freshDir();
      const fetchImpl: typeof fetch = async () => {
        const body = new ReadableStream<Uint8Array>({ start(c) { c.error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })); } });
        return new Response(body, { headers: { 'content-length': '5000' } });
      };
      const e = await rejection(ensureOfficialFile(MNIST_FILES.testLabels, dir, { fetchImpl }));
      expect(e.message).toMatch(/socket hang up/);
      // Anything still opening the file would create it within a few milliseconds.
      await new Promise((r) => setTimeout(r, 5));
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('offline: loadDataset says, in one line, how to provide the files', async () => {
    const cache = await freshDir();
    const e = await rejection(
      loadDataset({ source: 'mnist-full', validationSplit: 0.1 }, { seed: 1, cacheDir: cache, fetchImpl: offlineFetch }),
    );
    expect(e.code).toBe('BSTUNE_DATA_UNAVAILABLE');
    expect(e.line).not.toContain('\n');
    expect(e.message).toContain('offline?');
    expect(e.message).toContain('ENOTFOUND');
    expect(e.message).toContain(`download the four files ${Object.values(MNIST_FILES).map((f) => f.name).join(', ')}`);
    expect(e.message).toContain(`into ${join(cache, 'mnist-full')}`);
    expect(e.message).toContain('data.idxDir / --data-dir');
  });
});

function idxImages(count: number, fill: number): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(2051, 0);
  head.writeUInt32BE(count, 4);
  head.writeUInt32BE(28, 8);
  head.writeUInt32BE(28, 12);
  return Buffer.concat([head, Buffer.alloc(count * 784, fill)]);
}

function idxLabels(count: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(2049, 0);
  head.writeUInt32BE(count, 4);
  return Buffer.concat([head, Buffer.from(Array.from({ length: count }, (_, i) => i % 10))]);
}

describe('mnist-full from a user directory', () => {
  it('reads gz and raw files, splits the training pool and keeps t10k as test, never fetching', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxImages(100, 1)));
    await writeFile(join(dir, 'train-labels-idx1-ubyte'), idxLabels(100));
    await writeFile(join(dir, 't10k-images.idx3-ubyte'), idxImages(20, 2));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxLabels(20)));
    const ds = await loadDataset(
      { source: 'mnist-full', idxDir: dir, validationSplit: 0.25, trainLimit: 50 },
      { seed: 3, cacheDir: await freshDir(), fetchImpl: offlineFetch },
    );
    expect(ds.train.count).toBe(50);
    expect(ds.validation.count).toBe(25);
    expect(ds.test?.count).toBe(20);
    expect(ds.test?.images[0]).toBe(2);
    expect(ds.train.images.every((v) => v === 1)).toBe(true);
    expect(ds.source).toBe(`MNIST (IDX files in ${dir}), 50 train / 25 validation / 20 test`);
  });

  it('names the missing file and the directory', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxImages(1, 1)));
    const e = await rejection(
      loadDataset({ source: 'mnist-full', idxDir: dir, validationSplit: 0.5 }, { seed: 1, cacheDir: await freshDir() }),
    );
    expect(e.code).toBe('BSTUNE_DATA_UNAVAILABLE');
    expect(e.message).toMatch(/^train-labels-idx1-ubyte \(or train-labels-idx1-ubyte.gz\) not found/);
    expect(e.where).toBe(dir);
  });

  it('reports a directory that does not exist', async () => {
    const dir = join(root, 'missing-dir');
    const e = await rejection(
      loadDataset({ source: 'mnist-full', idxDir: dir, validationSplit: 0.5 }, { seed: 1, cacheDir: await freshDir() }),
    );
    expect(e.message).toMatch(/data directory does not exist; download the four files/);
  });
});
