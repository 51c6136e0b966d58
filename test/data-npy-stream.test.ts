/**
 * Large .npy inputs read per batch from the file (npy-rows.ts, row-read.ts, row-reader.ts):
 * real files in a temp dir, made "large" with BSTUNE_NPY_STREAM_MIB=0. Every batch equals
 * the batch of the same file read whole, for every dtype, shuffled and in order, train and
 * validation, by the training thread and by the reader thread; the checks of a whole read
 * still hold (truncation, non-finite values: one error naming file and sample); files close.
 */
import { readdirSync, readlinkSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/data/npy.js';
import { loadDataset, releaseDataset, type Dataset } from '../src/data/index.js';
import { NpyRows, openRowFiles, SCAN_CHUNK_BYTES } from '../src/data/npy-rows.js';
import { rowReader, stopRowReader } from '../src/data/row-reader.js';
import { streamThresholdBytes, STREAM_DEFAULT_MIB } from '../src/data/npy-load.js';
import { headOf, permutation } from '../src/data/split.js';
import { BatchFiller } from '../src/train/batches.js';
import { BstuneError } from '../src/errors.js';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'bstune-npy-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env };
afterEach(() => {
  process.env.BSTUNE_NPY_STREAM_MIB = env.BSTUNE_NPY_STREAM_MIB;
  process.env.BSTUNE_NPY_PREFETCH = env.BSTUNE_NPY_PREFETCH;
  if (env.BSTUNE_NPY_STREAM_MIB === undefined) delete process.env.BSTUNE_NPY_STREAM_MIB;
  if (env.BSTUNE_NPY_PREFETCH === undefined) delete process.env.BSTUNE_NPY_PREFETCH;
  stopRowReader();
});

const N = 301;
const SHAPE = [4, 5];
const PER = 20;
/** Values that round differently per dtype: large ints, fractions, negatives. */
const base = Float64Array.from({ length: N * PER }, (_, i) => Math.sin(i * 0.37) * 3000.123456789);
const inputs = {
  uint8: () => Uint8Array.from(base, (v) => Math.abs(Math.round(v)) % 256),
  int32: () => Int32Array.from(base, (v) => Math.round(v * 1e5)),
  int64: () => BigInt64Array.from(base, (v) => BigInt(Math.round(v * 1e6)) * 1234567n),
  float32: () => Float32Array.from(base),
  float64: () => base,
};
type Dtype = keyof typeof inputs;

function write(name: string, data: Parameters<typeof encodeNpy>[0], shape: number[]): string {
  const file = join(dir, name);
  writeFileSync(file, encodeNpy(data, shape));
  return file;
}

async function load(streamed: boolean, cfg: Record<string, unknown>): Promise<Dataset> {
  process.env.BSTUNE_NPY_STREAM_MIB = streamed ? '0' : '1000000';
  return loadDataset({ source: 'npy', validationSplit: 0.25, ...cfg }, { seed: 7 });
}

/** Every batch of `a` and `b` at batch size `size`, over the order given: equal bytes. */
function expectSameBatches(a: Dataset['train'], b: Dataset['train'], size: number, order: ArrayLike<number>): void {
  const fa = new BatchFiller(a, size);
  const fb = new BatchFiller(b, size);
  for (let start = 0; start < order.length; start += size) {
    const n = Math.min(size, order.length - start);
    fa.fill(order, start, n);
    fb.fill(order, start, n);
    expect(Buffer.from(fb.x.buffer).equals(Buffer.from(fa.x.buffer)), `x of batch at ${start}`).toBe(true);
    expect(Buffer.from(fb.y.buffer).equals(Buffer.from(fa.y.buffer)), `y of batch at ${start}`).toBe(true);
  }
}

async function readerUp(): Promise<void> {
  const r = rowReader()!;
  for (let i = 0; i < 200 && !r.ready(); i++) await new Promise((res) => setTimeout(res, 25));
  expect(r.ready(), 'reader thread started').toBe(true);
}

const fdsOn = (file: string) => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === file;
  } catch {
    return false;
  }
}).length;

describe('streamed .npy inputs give the batches of a whole read', () => {
  const y = write('y.npy', BigInt64Array.from({ length: N }, (_, i) => BigInt(i % 7)), [N]);
  const vy = write('vy.npy', Uint8Array.from({ length: 50 }, (_, i) => i % 7), [50]);

  for (const dtype of Object.keys(inputs) as Dtype[]) {
    it(`${dtype}: train and validation, shuffled and in order, by the training thread and the reader thread`, async () => {
      const x = write(`x-${dtype}.npy`, inputs[dtype](), [N, ...SHAPE]);
      const whole = await load(false, { x, y });
      const streamed = await load(true, { x, y });
      expect(whole.train.images).not.toBeInstanceOf(NpyRows);
      expect(streamed.train.images).toBeInstanceOf(NpyRows);
      expect(streamed.source).toMatch(new RegExp(`${dtype}.*read per batch from the file`));
      expect(streamed.source.replace(', read per batch from the file', '')).toBe(whole.source);
      for (const prefetch of ['0', '1']) {
        process.env.BSTUNE_NPY_PREFETCH = prefetch;
        if (prefetch === '1') await readerUp();
        const before = rowReader()?.stats.served ?? 0;
        for (const split of ['train', 'validation'] as const) {
          const count = whole[split].count;
          for (const size of [1, 7, 64]) {
            expectSameBatches(whole[split], streamed[split], size, permutation(count, size));
            expectSameBatches(whole[split], streamed[split], size, Uint32Array.from({ length: count }, (_, i) => i));
          }
        }
        // In order, each next batch was read ahead by the reader thread.
        if (prefetch === '1') {
          expect(rowReader()!.stats.served - before).toBeGreaterThan(50);
          expect(rowReader()!.stats.chunksByReader).toBeGreaterThan(0);
        }
      }
      releaseDataset(streamed);
    });
  }

  it('a given validation pair, a training limit and the first rows (train-eval subset)', async () => {
    const x = write('x-pair.npy', inputs.float64(), [N, ...SHAPE]);
    const vx = write('vx-pair.npy', inputs.float64().subarray(0, 50 * PER), [50, ...SHAPE]);
    const cfg = { x, y, validationX: vx, validationY: vy, trainLimit: 200 };
    const whole = await load(false, cfg);
    const streamed = await load(true, cfg);
    expect(streamed.validation.images).toBeInstanceOf(NpyRows);
    expect(streamed.train.count).toBe(200);
    for (const split of ['train', 'validation'] as const) expectSameBatches(whole[split], streamed[split], 16, permutation(whole[split].count, 3));
    // Without a training limit the training split is the whole file, not a selection: its first rows.
    const all = await load(true, { x, y, validationX: vx, validationY: vy });
    const wholeAll = await load(false, { x, y, validationX: vx, validationY: vy });
    expect(all.train.select).toBeUndefined();
    expectSameBatches(headOf(wholeAll.train, 50), headOf(all.train, 50), 8, Uint32Array.from({ length: 50 }, (_, i) => i));
    releaseDataset(streamed);
    releaseDataset(all);
  });
});

describe('checks of a streamed file', () => {
  it('non-finite inputs: one error naming the file and the sample, found through the small buffer (no whole read)', async () => {
    const per = 1000;
    const n = Math.ceil((3 * SCAN_CHUNK_BYTES) / (per * 4)); // three chunks of float32
    const y = write('y-nan.npy', new Uint8Array(n), [n]);
    for (const [dtype, bad, why] of [['float32', NaN, /input value NaN in sample 600 \(inputs must be finite numbers\)/], ['float64', 1e39, /input value 1e\+39 in sample 600 \(inputs must be finite numbers within float32 range/]] as const) {
      const data = dtype === 'float32' ? new Float32Array(n * per) : new Float64Array(n * per);
      data[600 * per + 17] = bad;
      const x = write(`x-nan-${dtype}.npy`, data, [n, per]);
      const e = await load(true, { x, y }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(BstuneError);
      expect((e as BstuneError).message).toMatch(why);
      expect((e as BstuneError).where).toBe(x);
      expect(fdsOn(x)).toBe(0);
    }
  });

  it('a truncated file is refused at load; one cut after loading fails its batch with the file and sample', async () => {
    const y = write('y-cut.npy', new Uint8Array(N), [N]);
    const bytes = encodeNpy(inputs.float32(), [N, ...SHAPE]);
    const x = join(dir, 'x-cut.npy');
    writeFileSync(x, bytes.subarray(0, bytes.length - 5));
    const e = await load(true, { x, y }).catch((err: unknown) => err);
    expect((e as BstuneError).message).toMatch(/\.npy data truncated: shape \(301, 4, 5\) of float32 needs 24,080 bytes but the file holds 24,075/);
    for (const prefetch of ['0', '1']) {
      process.env.BSTUNE_NPY_PREFETCH = prefetch;
      writeFileSync(x, bytes);
      const d = await load(true, { x, y });
      const f = new BatchFiller(d.train, 8);
      const order = Uint32Array.from({ length: d.train.count }, (_, i) => i);
      f.fill(order, 0);
      if (prefetch === '1') await readerUp();
      f.fill(order, 0); // the reader thread now reads the next batch ahead
      truncateSync(x, bytes.length - 100 * PER * 4);
      let thrown: unknown = null;
      try {
        for (let s = 0; s < d.train.count; s += 8) f.fill(order, s);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(BstuneError);
      expect((thrown as BstuneError).message).toMatch(/\.npy data ended early at sample \d+: the file was cut short after it was loaded/);
      expect((thrown as BstuneError).where).toBe(x);
      releaseDataset(d);
    }
    // A file replaced between load and the first batch is refused, not read.
    writeFileSync(x, bytes);
    const d = await load(true, { x, y });
    writeFileSync(x, Buffer.concat([bytes, Buffer.alloc(80)]));
    expect(() => new BatchFiller(d.train, 4).fill([0, 1, 2, 3], 0)).toThrow(/changed after it was loaded and checked/);
  });

  it('files are opened at the first batch and closed by releaseDataset', async () => {
    const x = write('x-fd.npy', inputs.int32(), [N, ...SHAPE]);
    const y = write('y-fd.npy', new Uint8Array(N), [N]);
    const d = await load(true, { x, y });
    expect(fdsOn(x)).toBe(0); // loading checked the file and closed it
    const before = openRowFiles();
    new BatchFiller(d.train, 4).fill([0, 1, 2, 3], 0);
    new BatchFiller(d.validation, 4).fill([0, 1, 2, 3], 0);
    expect(fdsOn(x)).toBe(1); // one per file, shared by train and validation
    expect(openRowFiles()).toBe(before + 1);
    releaseDataset(d);
    expect(fdsOn(x)).toBe(0);
    expect(openRowFiles()).toBe(before);
  });

  it('threshold: BSTUNE_NPY_STREAM_MIB in MiB, default 64, nonsense refused', () => {
    expect(streamThresholdBytes({})).toBe(STREAM_DEFAULT_MIB * 2 ** 20);
    expect(streamThresholdBytes({ BSTUNE_NPY_STREAM_MIB: '' })).toBe(STREAM_DEFAULT_MIB * 2 ** 20);
    expect(streamThresholdBytes({ BSTUNE_NPY_STREAM_MIB: '0' })).toBe(0);
    expect(streamThresholdBytes({ BSTUNE_NPY_STREAM_MIB: '1.5' })).toBe(1.5 * 2 ** 20);
    expect(() => streamThresholdBytes({ BSTUNE_NPY_STREAM_MIB: 'lots' })).toThrow(/^invalid value "lots": expected a number of MiB/);
    expect(() => streamThresholdBytes({ BSTUNE_NPY_STREAM_MIB: '-1' })).toThrow(/^invalid value "-1"/);
  });
});

describe('training from a streamed file (end to end, in a trial process)', () => {
  it('bstune train --json: the same trained numbers whole and streamed (float64, int64 inputs)', { timeout: 200_000 }, async () => {
    const n = 400;
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
    // Learnable: feature j leans towards the class.
    const f = Float64Array.from({ length: n * 6 }, (_, i) => Math.sin(i * 1.7) * 0.5 + (Math.floor(i / 6) % 3 === i % 3 ? 1.25 : 0));
    write('e2e-y.npy', labels, [n]);
    write('e2e-x-float64.npy', f, [n, 6]);
    write('e2e-x-int64.npy', BigInt64Array.from(f, (v) => BigInt(Math.round(v * 1e3))), [n, 6]);
    for (const dtype of ['float64', 'int64']) {
      writeFileSync(join(dir, `e2e-${dtype}.yaml`), `data: {x: e2e-x-${dtype}.npy, y: e2e-y.npy}\nmodel: {kind: mlp, hidden: [8]}\ntraining: {epochs: 2, seed: 3}\ndevice: {backend: cpu}\n`);
      const runs = await Promise.all(['1000000', '0'].map((mib) => runCli(['train', '-c', join(dir, `e2e-${dtype}.yaml`), '-b', '32', '--json'], { env: { BSTUNE_NPY_STREAM_MIB: mib }, timeoutMs: 120_000 })));
      const docs = runs.map((r) => {
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as { data: string; trials: Record<string, unknown>[] };
      });
      expect(docs[0]!.data).not.toMatch(/read per batch from the file/);
      expect(docs[1]!.data).toMatch(/read per batch from the file/);
      const numbers = (t: Record<string, unknown>) => JSON.stringify([t.history, t.initialLoss, t.finalLoss, t.valAccuracy, t.valLoss, t.gradientNoiseScale], (k, v: unknown) => (/seconds/i.test(k) ? undefined : v));
      expect(docs[0]!.trials[0]!.outcome).toBe('ok');
      expect(numbers(docs[1]!.trials[0]!)).toBe(numbers(docs[0]!.trials[0]!));
    }
  });
});
