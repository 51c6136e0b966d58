import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { cacheDir } from '../src/data/cache-dir.js';
import { compact, headOf, permutation, splitPool } from '../src/data/split.js';
import type { Split } from '../src/data/types.js';
import { BstuneError } from '../src/errors.js';

/** Pinned output of permutation(10, 42); a change here silently changes every user's split. */
const GOLDEN_PERM_10_SEED_42 = [0, 7, 3, 5, 2, 1, 8, 9, 4, 6];

/** A pool whose images carry their own index in bytes 0..2, so samples can be traced through the split. */
function tracedPool(count: number): Split {
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    images[i * 784] = i & 0xff;
    images[i * 784 + 1] = (i >> 8) & 0xff;
    images[i * 784 + 2] = (i >> 16) & 0xff;
    images[i * 784 + 783] = 0xab;
    labels[i] = i % 10;
  }
  return { images, labels, count };
}

function ids(split: Split): number[] {
  const s = compact(split);
  const out: number[] = [];
  for (let k = 0; k < s.count; k++) {
    const id = s.images[k * 784] | (s.images[k * 784 + 1] << 8) | (s.images[k * 784 + 2] << 16);
    expect(s.labels[k]).toBe(id % 10);
    expect(s.images[k * 784 + 783]).toBe(0xab);
    out.push(id);
  }
  return out;
}

describe('seeded split', () => {
  it('pins the permutation, so splits stay the same across bstune versions', () => {
    expect([...permutation(10, 42)]).toEqual(GOLDEN_PERM_10_SEED_42);
  });

  it('same seed gives the identical split; another seed a different one', () => {
    const pool = tracedPool(1000);
    const a = splitPool(pool, 0.2, 7);
    const b = splitPool(pool, 0.2, 7);
    const c = splitPool(pool, 0.2, 8);
    expect(Buffer.from(compact(a.train).images).equals(Buffer.from(compact(b.train).images))).toBe(true);
    expect(Buffer.from(compact(a.validation).labels).equals(Buffer.from(compact(b.validation).labels))).toBe(true);
    expect(ids(a.validation)).toEqual(ids(b.validation));
    expect(ids(a.validation)).not.toEqual(ids(c.validation));
  });

  it('holds out the requested fraction and shuffles (not just the first samples)', () => {
    const { train, validation } = splitPool(tracedPool(1000), 0.2, 1);
    expect(validation.count).toBe(200);
    expect(train.count).toBe(800);
    expect(compact(validation).images.length).toBe(200 * 784);
    expect(Math.max(...ids(validation))).toBeGreaterThan(200);
  });

  it('copies no sample: both sides are selections of the pool\'s own arrays', () => {
    const pool = tracedPool(1000);
    const { train, validation } = splitPool(pool, 0.2, 1, 300);
    for (const s of [train, validation]) {
      expect(s.images).toBe(pool.images);
      expect(s.labels).toBe(pool.labels);
      expect(s.select!.rows).toBe(1000);
      expect(s.select!.index.length).toBe(s.count);
    }
    // The first n samples of a selection are a view on its index.
    const head = headOf(train, 50);
    expect(head.images).toBe(pool.images);
    expect(ids(head)).toEqual(ids(train).slice(0, 50));
    const plain = headOf(pool, 5);
    expect(plain.images.buffer).toBe(pool.images.buffer);
    expect(ids(plain)).toEqual([0, 1, 2, 3, 4]);
  });

  it('trainLimit caps training only, after the split', () => {
    const pool = tracedPool(500);
    const full = splitPool(pool, 0.1, 3);
    const capped = splitPool(pool, 0.1, 3, 100);
    expect(capped.train.count).toBe(100);
    expect(ids(capped.validation)).toEqual(ids(full.validation));
    expect(ids(capped.train)).toEqual(ids(full.train).slice(0, 100));
    const over = splitPool(pool, 0.1, 3, 10_000);
    expect(over.train.count).toBe(450);
  });

  it('train and validation partition the pool for any size, fraction and seed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
        (count, frac, seed, limit) => {
          const { train, validation } = splitPool(tracedPool(count), frac, seed, limit);
          const v = ids(validation);
          const t = ids(train);
          expect(validation.count).toBeGreaterThanOrEqual(1);
          expect(validation.count).toBe(Math.min(count - 1, Math.max(1, Math.round(count * frac))));
          const trainAll = count - validation.count;
          expect(train.count).toBe(limit === undefined ? trainAll : Math.min(limit, trainAll));
          expect(new Set([...v, ...t]).size).toBe(v.length + t.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a validationSplit outside (0, 1) and a bad trainLimit as config errors', () => {
    const pool = tracedPool(10);
    for (const bad of [0, 1, -0.1, 1.5, Number.NaN]) {
      const e = (() => {
        try {
          splitPool(pool, bad, 1);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(BstuneError);
      expect((e as BstuneError).code).toBe('BSTUNE_CONFIG_INVALID');
      expect((e as BstuneError).where).toBe('data.validationSplit');
    }
    expect(() => splitPool(pool, 0.2, 1, 0)).toThrow(/trainLimit must be a positive integer/);
    expect(() => splitPool(pool, 0.2, 1, 2.5)).toThrow(/trainLimit/);
  });
});

describe('cacheDir', () => {
  it('prefers BSTUNE_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(cacheDir({ BSTUNE_CACHE_DIR: '/x/y', XDG_CACHE_HOME: '/xdg' })).toBe('/x/y');
    expect(cacheDir({ BSTUNE_CACHE_DIR: 'rel' })).toBe(resolve('rel'));
    expect(cacheDir({ XDG_CACHE_HOME: '/xdg', HOME: '/h' })).toBe('/xdg/bstune');
    expect(cacheDir({ BSTUNE_CACHE_DIR: '', XDG_CACHE_HOME: '', HOME: '/h' })).toBe('/h/.cache/bstune');
    expect(cacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' })).toBe('/h/.cache/bstune');
    expect(cacheDir({})).toBe(join(homedir(), '.cache', 'bstune'));
  });
});
