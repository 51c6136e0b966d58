/** The .npy header parser and the array-to-pool rules (pure), then the file loader on real files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, parseNpyHeader } from '../src/data/npy.js';
import { firstNonFinite, poolFrom, toInputs, toLabels } from '../src/data/arrays.js';
import { compact, splitPool } from '../src/data/split.js';
import { BatchFiller } from '../src/train/batches.js';
import { loadDataset } from '../src/data/index.js';
import { bstuneErrorFrom } from './helpers/thrown.js';

/** A .npy file as numpy writes it, from a header text and a body: version, header-length width and padding by hand. */
function npyBytes(header: string, body: Buffer, version = 1): Buffer {
  const lenBytes = version === 1 ? 2 : 4;
  let h = header;
  const total = 8 + lenBytes + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(8 + lenBytes);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(h.length, 8);
  else head.writeUInt32LE(h.length, 8);
  return Buffer.concat([head, Buffer.from(h, version === 3 ? 'utf8' : 'latin1'), body]);
}

describe('.npy header', () => {
  it('reads versions 1, 2 and 3 with the header numpy writes', () => {
    const body = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    for (const v of [1, 2, 3]) {
      const a = parseNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", body, v), 'x.npy');
      expect(a.version).toBe(v);
      expect(a.dtype).toBe('float32');
      expect(a.shape).toEqual([2, 3]);
      expect(a.fortranOrder).toBe(false);
      expect(a.dataOffset % 64).toBe(0);
      expect([...(a.data as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('reads every supported dtype, 1-d shapes "(n,)" and double quotes', () => {
    const cases: [string, Buffer, unknown[]][] = [
      ['|u1', Buffer.from([0, 255, 7]), [0, 255, 7]],
      ['<i4', Buffer.from(new Int32Array([-1, 5, 9]).buffer), [-1, 5, 9]],
      ['<i8', Buffer.from(new BigInt64Array([1n, 2n, 3n]).buffer), [1n, 2n, 3n]],
      ['<f8', Buffer.from(new Float64Array([0.5, 1.5, -2]).buffer), [0.5, 1.5, -2]],
    ];
    for (const [descr, body, values] of cases) {
      const a = parseNpy(npyBytes(`{"descr": "${descr}", "fortran_order": False, "shape": (3,)}`, body), 'y.npy');
      expect(a.shape).toEqual([3]);
      expect([...a.data]).toEqual(values);
    }
  });

  it('gives a view on the file bytes, not a copy, when aligned', () => {
    const buf = encodeNpy(new Float32Array(1000), [10, 100]);
    const a = parseNpy(buf, 'x.npy');
    expect(a.data.buffer).toBe(buf.buffer);
  });

  it('round-trips encodeNpy for each dtype', () => {
    const arrays = [new Uint8Array([1, 2, 3, 4]), new Int32Array([1, -2, 3, 4]), new BigInt64Array([1n, 2n, 3n, 4n]), new Float32Array([0.1, 2, 3, 4]), new Float64Array([1, 2, 3, 4.25])];
    for (const x of arrays) {
      const a = parseNpy(encodeNpy(x, [2, 2]), 'a.npy');
      expect(a.shape).toEqual([2, 2]);
      expect([...a.data]).toEqual([...x]);
    }
  });

  const bad: [string, Buffer, RegExp][] = [
    ['not numpy at all', Buffer.from('hello world, not an array'), /not a \.npy file.*magic/],
    ['version 4', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4), 1).fill(4, 6, 7), /version 4\.0 is not supported/],
    ['header cut short', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4)).subarray(0, 30), /truncated \.npy header/],
    ['garbage dict', npyBytes("{'descr': <f4, 'shape': (1,)}", Buffer.alloc(4)), /bad \.npy header/],
    ['no shape', npyBytes("{'descr': '<f4', 'fortran_order': False}", Buffer.alloc(4)), /no 'shape'/],
    ['big-endian', npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4)), /unsupported .npy dtype '>f4' \(big-endian/],
    ['complex', npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(8)), /unsupported .npy dtype '<c8'/],
    ['object arrays', npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(8)), /unsupported .npy dtype '\|O'/],
    ['structured dtype', npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4)), /structured dtype/],
    ['fortran order', npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Buffer.alloc(16)), /Fortran \(column-major\) order.*ascontiguousarray/],
    ['truncated data', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 10), }", Buffer.alloc(399)), /truncated: shape \(10, 10\) of float32 needs 400 bytes but the file holds 399/],
    ['trailing data', npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", Buffer.alloc(4)), /trailing bytes/],
  ];
  it.each(bad)('refuses %s with one line naming the file', (_name, bytes, message) => {
    const e = bstuneErrorFrom(() => parseNpy(bytes, '/d/x.npy'));
    expect(e.code).toBe('BSTUNE_DATA_INVALID');
    expect(e.message).toMatch(message);
    expect(e.message).not.toMatch(/\n/);
    expect(e.where).toBe('/d/x.npy');
  });

  it('accepts fortran_order True for a 1-d array (the same bytes either way)', () => {
    const h = parseNpyHeader(npyBytes("{'descr': '|u1', 'fortran_order': True, 'shape': (3,), }", Buffer.alloc(3)), 'y.npy');
    expect(h.fortranOrder).toBe(true);
  });
});

describe('arrays to a pool', () => {
  const x = (n: number) => ({ data: new Uint8Array(n * 4), shape: [n, 2, 2], name: 'x.npy' });
  it('finds the first non-finite input anywhere, across blocks, and passes -0 and huge finite values', () => {
    const f = new Float32Array(200_000).map((_, i) => (i % 7) - 3);
    f[5] = -0;
    f[70_000] = 3.4e38;
    expect(firstNonFinite(f)).toBe(-1);
    for (const [at, v] of [[0, NaN], [65_535, Infinity], [65_536, -Infinity], [199_999, NaN]] as const) {
      const g = f.slice();
      g[at] = v;
      g[199_998] = NaN; // a later one does not hide the first
      expect(firstNonFinite(g)).toBe(Math.min(at, 199_998));
    }
  });
  it('float64 inputs: batches hold exactly what a whole float32 conversion would; beyond float32 range is refused', () => {
    const n = 64;
    const x = new Float64Array(n * 5).map((_, i) => Math.sin(i) * 1e3 + 1 / (i + 3));
    const p = poolFrom({ data: x, shape: [n, 5], name: 'x.npy' }, { data: new BigInt64Array(n).map((_, i) => BigInt(i % 3)), shape: [n], name: 'y.npy' });
    expect(p.split.images).toBe(x);
    const { train } = splitPool(p.split, 0.25, 3);
    const filler = new BatchFiller(train, 16);
    const order = Array.from({ length: train.count }, (_, i) => i);
    const whole = Float32Array.from(x);
    for (let start = 0; start < train.count; start += 16) {
      filler.fill(order, start);
      for (let b = 0; b < 16; b++) {
        const row = train.select!.index[start + b]!;
        expect([...filler.x.subarray(b * 5, b * 5 + 5)]).toEqual([...whole.subarray(row * 5, row * 5 + 5)]);
      }
    }
    const big = x.slice();
    big[7] = 1e39;
    expect(() => toInputs({ data: big, shape: [n, 5], name: 'x.npy' })).toThrow(/input value 1e\+39 in sample 1 \(inputs must be finite numbers within float32 range/);
    big[7] = NaN;
    expect(() => toInputs({ data: big, shape: [n, 5], name: 'x.npy' })).toThrow(/input value NaN in sample 1 \(inputs must be finite numbers\)/);
  });

  it('class labels: int64 (N,) becomes uint8 indices with the class count', () => {
    const p = poolFrom(x(3), { data: new BigInt64Array([0n, 4n, 2n]), shape: [3], name: 'y.npy' });
    expect(p.numClasses).toBe(5);
    expect(p.labelShape).toEqual([]);
    expect(p.sampleShape).toEqual([2, 2]);
    expect(p.split.labels).toBeInstanceOf(Uint8Array);
    expect([...p.split.labels]).toEqual([0, 4, 2]);
  });
  it('(N, 1) labels and whole-number floats are class indices too; one-hot rows are targets', () => {
    expect(toLabels({ data: new Int32Array([1, 300]), shape: [2, 1], name: 'y' }).numClasses).toBe(301);
    expect(toLabels({ data: new Float64Array([1, 0]), shape: [2], name: 'y' }).numClasses).toBe(2);
    const onehot = toLabels({ data: new Float32Array([1, 0, 0, 1]), shape: [2, 2], name: 'y' });
    expect(onehot.numClasses).toBeNull();
    expect(onehot.labelShape).toEqual([2]);
    const reg = toLabels({ data: new Float32Array([0.5, 1.25]), shape: [2], name: 'y' });
    expect(reg.numClasses).toBeNull();
    expect(reg.labelShape).toEqual([]);
  });
  it.each([
    ['x/y count mismatch', () => poolFrom(x(3), { data: new Uint8Array(2), shape: [2], name: 'y.npy' }), /x has 3 samples \(shape \(3, 2, 2\)\) but y has 2 \(shape \(2,\), y\.npy\)/],
    ['negative label', () => poolFrom(x(2), { data: new BigInt64Array([0n, -1n]), shape: [2], name: 'y.npy' }), /label -1 at index 1 is out of range/],
    ['empty data', () => poolFrom({ data: new Uint8Array(0), shape: [0, 28, 28], name: 'x.npy' }, { data: new Uint8Array(0), shape: [0], name: 'y.npy' }), /holds no samples \(shape \(0, 28, 28\)\)/],
    ['NaN input', () => poolFrom({ data: new Float32Array([0, NaN]), shape: [2, 1], name: 'x.npy' }, { data: new Uint8Array(2), shape: [2], name: 'y.npy' }), /NaN in sample 1/],
  ])('refuses %s', (_n, f, message) => {
    expect(bstuneErrorFrom(f).message).toMatch(message);
  });
});

describe('NumPy data end to end (loadDataset)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bstune-npy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('splits x/y files, or takes a given validation pair', async () => {
    const n = 50;
    const xs = new Float64Array(n * 3).map((_, i) => i / 10);
    const ys = new BigInt64Array(n).map((_, i) => BigInt(i % 4));
    writeFileSync(join(dir, 'x.npy'), encodeNpy(xs, [n, 3]));
    writeFileSync(join(dir, 'y.npy'), encodeNpy(ys, [n]));
    writeFileSync(join(dir, 'vx.npy'), encodeNpy(new Float32Array(10 * 3), [10, 3]));
    writeFileSync(join(dir, 'vy.npy'), encodeNpy(new Uint8Array(10), [10]));
    const d = await loadDataset({ source: 'npy', x: join(dir, 'x.npy'), y: join(dir, 'y.npy'), validationSplit: 0.2 }, { seed: 1 });
    expect([d.train.count, d.validation.count]).toEqual([40, 10]);
    expect(d.sampleShape).toEqual([3]);
    expect(d.numClasses).toBe(4);
    // float64 is kept as read (no whole-set conversion); batches get it as float32.
    expect(d.train.images).toBeInstanceOf(Float64Array);
    expect(d.source).toMatch(/float64, float32 per batch/);
    // Each sample travels with its label: x = i/10 .. and y = i % 4.
    const t = compact(d.train);
    for (let k = 0; k < t.count; k++) expect(Math.round(t.images[k * 3]! * 10 / 3) % 4).toBe(t.labels[k]);
    const v = await loadDataset({ source: 'npy', x: join(dir, 'x.npy'), y: join(dir, 'y.npy'), validationX: join(dir, 'vx.npy'), validationY: join(dir, 'vy.npy'), validationSplit: 0.2, trainLimit: 30 }, { seed: 1 });
    expect([v.train.count, v.validation.count]).toEqual([30, 10]);
    expect(v.source).toMatch(/\(given\)/);
  });
});
