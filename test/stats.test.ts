import { describe, expect, it } from 'vitest';
import { bstuneErrorFrom } from './helpers/thrown.js';
import fc from 'fast-check';
import { formatBytes, linearFit, mean, median, parseSize, std } from '../src/report/stats.js';

describe('mean, std, median', () => {
  it('computes the usual values', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138089935299395, 12); // sample, n−1
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('handles tiny inputs', () => {
    expect(mean([])).toBeNaN();
    expect(median([])).toBeNaN();
    expect(std([])).toBe(0);
    expect(std([42])).toBe(0);
    expect(mean([7])).toBe(7);
    expect(median([7])).toBe(7);
  });

  it('median does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('linearFit', () => {
  it('recovers an exact line', () => {
    const fit = linearFit([1, 2, 3, 4], [3, 5, 7, 9]);
    expect(fit.slope).toBeCloseTo(2, 12);
    expect(fit.intercept).toBeCloseTo(1, 12);
    expect(fit.r2).toBeCloseTo(1, 12);
  });

  it('matches a hand-computed noisy fit', () => {
    const fit = linearFit([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]);
    expect(fit.slope).toBeCloseTo(0.6, 12);
    expect(fit.intercept).toBeCloseTo(2.2, 12);
    expect(fit.r2).toBeCloseTo(0.6, 12);
  });

  it('flat y fits exactly; degenerate x is undetermined', () => {
    expect(linearFit([1, 2, 3], [5, 5, 5])).toEqual({ slope: 0, intercept: 5, r2: 1 });
    expect(linearFit([2, 2, 2], [1, 2, 3]).slope).toBeNaN();
    expect(linearFit([1], [1]).slope).toBeNaN();
    expect(() => linearFit([1, 2], [1])).toThrow(RangeError);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [512 * 1024, '512 KiB'],
    [1536, '1.5 KiB'],
    [1.2 * 1024 ** 3, '1.2 GiB'],
    [1024 ** 3 - 1, '1 GiB'],
    [1024 ** 4 * 3, '3 TiB'],
    [-2048, '-2 KiB'],
  ])('%d → %s', (n, want) => {
    expect(formatBytes(n)).toBe(want);
  });
});

describe('parseSize', () => {
  const KiB = 1024;
  const MiB = 1024 ** 2;
  const GiB = 1024 ** 3;
  it.each<[string | number, number]>([
    ['1048576', 1048576],
    [1048576, 1048576],
    ['512MiB', 512 * MiB],
    ['2GiB', 2 * GiB],
    ['1.5GB', 1.5e9],
    ['64KiB', 64 * KiB],
    ['100MB', 1e8],
    ['1 GiB', GiB],
    ['  1 GiB  ', GiB],
    ['1gib', GiB],
    ['1GIB', GiB],
    ['1g', GiB],
    ['512M', 512 * MiB],
    ['64k', 64 * KiB],
    ['2T', 2 * 1024 ** 4],
    ['1TiB', 1024 ** 4],
    ['1tb', 1e12],
    ['1KB', 1000],
    ['10B', 10],
    ['10 b', 10],
    ['1.5KiB', 1536],
    ['.5GiB', GiB / 2],
    ['1.1GB', 1.1e9],
    ['+1MiB', MiB],
  ])('%s → %d', (text, want) => {
    expect(parseSize(text)).toBe(want);
  });

  it.each<[string | number]>([
    ['12XB'],
    ['-1MiB'],
    ['0'],
    ['0MiB'],
    [0],
    [''],
    ['   '],
    ['1.5'],
    ['1.5B'],
    [1.5],
    ['NaN'],
    [NaN],
    ['Infinity'],
    [Infinity],
    ['1e9'],
    ['1,024'],
    ['MiB'],
    ['1 2 MiB'],
    ['1MiBs'],
    ['1i'],
    ['0.0000001KiB'],
    ['99999999999TiB'],
    ['64'],
    [64],
    ['1048575'],
  ])('rejects %s', (text) => {
    const err = bstuneErrorFrom(() => parseSize(text));
    expect(err.code).toBe('BSTUNE_USAGE');
    expect(err.message).toMatch(/is not a size/);
  });

  it('refuses a number without a unit below 1 MiB, naming what was likely meant', () => {
    expect(() => parseSize('64')).toThrow(/without a unit it would mean 64 bytes; write 64MiB or 64GiB \(or 64B if you mean bytes\)/);
    expect(parseSize('64B')).toBe(64);
    expect(parseSize(1048576)).toBe(1048576);
  });

  it('says which unit is unknown', () => {
    expect(() => parseSize('12XB')).toThrow(/unknown unit "XB"/);
  });

  it('property: parseSize inverts formatBytes for whole binary units', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1023 }), fc.constantFrom('KiB', 'MiB', 'GiB'), (n, unit) => {
        const bytes = parseSize(`${n}${unit}`);
        expect(formatBytes(bytes)).toBe(`${n} ${unit}`);
        expect(parseSize(formatBytes(bytes))).toBe(bytes);
      }),
    );
  });
});
