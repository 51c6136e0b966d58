import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  findMaxBatch,
  stepDownSequence,
  type Attempt,
  type SearchOptions,
  type TryBatch,
} from '../src/search/find-max.js';
import type { Outcome } from '../src/backend/oom.js';
import { BstuneError } from '../src/errors.js';

const defaults: SearchOptions = { start: 512, min: 1, refine: false, refineTrials: 4, margin: 0, maxBatch: 60000 };
const opts = (over: Partial<SearchOptions>): SearchOptions => ({ ...defaults, ...over });

/** Fits at or below the threshold; `special` overrides single sizes. */
function scripted(threshold: number, special: Record<number, Outcome> = {}): TryBatch & { tried: number[] } {
  const tried: number[] = [];
  const fn = async (b: number) => {
    tried.push(b);
    const outcome = special[b] ?? (b <= threshold ? 'ok' : 'oom');
    return { outcome, reason: outcome === 'ok' ? null : `${outcome} at ${b}` };
  };
  return Object.assign(fn, { tried });
}

const sizes = (attempts: Attempt[]) => attempts.map((a) => a.batchSize);

describe('findMaxBatch step-down', () => {
  it('fits below 300 → 256', async () => {
    const r = await findMaxBatch(defaults, scripted(299));
    expect(r.maxBatchSize).toBe(256);
    expect(r.largestFit).toBe(256);
    expect(r.smallestOom).toBe(512);
    expect(sizes(r.attempts)).toEqual([512, 256]);
    expect(r.attempts.map((a) => a.phase)).toEqual(['step-down', 'step-down']);
    expect(r.stoppedBy).toBeNull();
  });

  it('always OOM → null after trying 512 down to min', async () => {
    const r = await findMaxBatch(opts({ min: 8 }), scripted(0));
    expect(r.maxBatchSize).toBeNull();
    expect(r.largestFit).toBeNull();
    expect(r.smallestOom).toBe(8);
    expect(sizes(r.attempts)).toEqual([512, 256, 128, 64, 32, 16, 8]);
    expect(r.notes.join('\n')).toMatch(/even search.min 8/);
  });

  it('error at 128 stops: stoppedBy set, nothing smaller tried', async () => {
    const t = scripted(10, { 128: 'error' });
    const r = await findMaxBatch(opts({ refine: true }), t);
    expect(t.tried).toEqual([512, 256, 128]);
    expect(r.maxBatchSize).toBeNull();
    expect(r.stoppedBy).toEqual({ batchSize: 128, outcome: 'error', reason: 'error at 128' });
  });

  it('timeout stops the same way', async () => {
    const t = scripted(10, { 256: 'timeout' });
    const r = await findMaxBatch(defaults, t);
    expect(t.tried).toEqual([512, 256]);
    expect(r.stoppedBy?.outcome).toBe('timeout');
    expect(r.maxBatchSize).toBeNull();
  });

  it('a stop without a reason still gets one', async () => {
    const r = await findMaxBatch(defaults, async () => ({ outcome: 'error', reason: null }));
    expect(r.stoppedBy?.reason).toMatch(/error/);
  });

  it('start not a power of two: 500 → 250 → 125', async () => {
    const r = await findMaxBatch(opts({ start: 500 }), scripted(130));
    expect(sizes(r.attempts)).toEqual([500, 250, 125]);
    expect(r.maxBatchSize).toBe(125);
  });

  it('min not reached by halving: 512, 256, 128, then 100', async () => {
    const r = await findMaxBatch(opts({ min: 100 }), scripted(0));
    expect(sizes(r.attempts)).toEqual([512, 256, 128, 100]);
    expect(r.maxBatchSize).toBeNull();
    const fits = await findMaxBatch(opts({ min: 100 }), scripted(110));
    expect(fits.maxBatchSize).toBe(100);
  });

  it('caps the start at the training-set size', async () => {
    const r = await findMaxBatch(opts({ maxBatch: 300 }), scripted(200));
    expect(sizes(r.attempts)).toEqual([300, 150]);
    expect(r.notes).toContain('start 512 capped at the training-set size 300');
  });

  it('fits at once: notes that larger sizes were not tried', async () => {
    const r = await findMaxBatch(opts({ refine: true }), scripted(10000));
    expect(sizes(r.attempts)).toEqual([512]);
    expect(r.maxBatchSize).toBe(512);
    expect(r.smallestOom).toBeNull();
    expect(r.notes).toContain('512 fits, and it was the first size tried: the maximum may be larger; raise --start (search.start), e.g. --start 1024');
  });

  it('fits at once at the training-set size: nothing larger exists', async () => {
    const r = await findMaxBatch(opts({ maxBatch: 300 }), scripted(10000));
    expect(r.maxBatchSize).toBe(300);
    expect(r.notes.join('\n')).toMatch(/whole training set/);
  });

  it('applies the margin and notes it', async () => {
    const r = await findMaxBatch(opts({ margin: 0.1 }), scripted(299));
    expect(r.largestFit).toBe(256);
    expect(r.maxBatchSize).toBe(230);
    expect(r.notes).toContain('margin 10%: 256 → 230');
    const tiny = await findMaxBatch(opts({ margin: 0.9, start: 1 }), scripted(5));
    expect(tiny.maxBatchSize).toBe(1);
  });

  it('reports each attempt as it happens', async () => {
    const seen: number[] = [];
    await findMaxBatch(defaults, scripted(100), (a) => seen.push(a.batchSize));
    expect(seen).toEqual([512, 256, 128, 64]);
  });
});

describe('findMaxBatch refine', () => {
  it('bisects between 256 and 512 within the trial budget', async () => {
    const r = await findMaxBatch(opts({ refine: true, refineTrials: 4 }), scripted(299));
    const refine = r.attempts.filter((a) => a.phase === 'refine');
    expect(refine.length).toBe(4);
    expect(sizes(refine)).toEqual([384, 320, 288, 304]);
    expect(r.largestFit).toBe(288);
    expect(r.largestFit).toBeGreaterThanOrEqual(256);
    expect(r.largestFit).toBeLessThan(300);
    expect(r.smallestOom).toBe(304);
  });

  it('finds exactly 299 with a large budget, then stops on its own', async () => {
    const r = await findMaxBatch(opts({ refine: true, refineTrials: 100 }), scripted(299));
    expect(r.maxBatchSize).toBe(299);
    expect(r.smallestOom).toBe(300);
    expect(r.attempts.filter((a) => a.phase === 'refine').length).toBe(8); // log2(256)
  });

  it('refineTrials 0 is plain step-down', async () => {
    const r = await findMaxBatch(opts({ refine: true, refineTrials: 0 }), scripted(299));
    expect(sizes(r.attempts)).toEqual([512, 256]);
  });

  it('an error during refine stops but keeps largestFit', async () => {
    const t = scripted(299, { 384: 'error' });
    const r = await findMaxBatch(opts({ refine: true }), t);
    expect(t.tried).toEqual([512, 256, 384]);
    expect(r.stoppedBy).toEqual({ batchSize: 384, outcome: 'error', reason: 'error at 384' });
    expect(r.largestFit).toBe(256);
    expect(r.maxBatchSize).toBeNull();
  });
});

describe('findMaxBatch validation', () => {
  it.each<[string, Partial<SearchOptions>]>([
    ['start below min', { start: 8, min: 16 }],
    ['min 0', { min: 0 }],
    ['fractional start', { start: 100.5 }],
    ['margin 1', { margin: 1 }],
    ['negative margin', { margin: -0.1 }],
    ['negative refineTrials', { refineTrials: -1 }],
    ['fewer samples than min', { min: 64, maxBatch: 50 }],
  ])('rejects %s', async (_label, over) => {
    const t = scripted(100);
    await expect(findMaxBatch(opts(over), t)).rejects.toSatisfy(
      (e: unknown) => e instanceof BstuneError && e.code === 'BSTUNE_USAGE',
    );
    expect(t.tried).toEqual([]);
  });
});

describe('findMaxBatch properties', () => {
  const arbOpts = fc
    .record({
      start: fc.integer({ min: 1, max: 5000 }),
      min: fc.integer({ min: 1, max: 5000 }),
      maxBatch: fc.integer({ min: 1, max: 6000 }),
      threshold: fc.integer({ min: 0, max: 6000 }),
    })
    .filter((o) => o.min <= o.start && o.min <= o.maxBatch);

  it('without refine: the largest halving-sequence size ≤ T, within bounds, none repeated', async () => {
    await fc.assert(
      fc.asyncProperty(arbOpts, async ({ start, min, maxBatch, threshold }) => {
        const t = scripted(threshold);
        const r = await findMaxBatch(opts({ start, min, maxBatch }), t);
        const seq = stepDownSequence(Math.min(start, maxBatch), min);
        const want = seq.find((b) => b <= threshold) ?? null;
        expect(r.maxBatchSize).toBe(want);
        expect(t.tried.every((b) => b >= min && b <= maxBatch)).toBe(true);
        expect(new Set(t.tried).size).toBe(t.tried.length);
      }),
    );
  });

  it('with refine: within bounds, none repeated, ≤ T, budget respected, exact when the budget allows', async () => {
    await fc.assert(
      fc.asyncProperty(arbOpts, fc.integer({ min: 0, max: 20 }), async ({ start, min, maxBatch, threshold }, refineTrials) => {
        const t = scripted(threshold);
        const r = await findMaxBatch(opts({ start, min, maxBatch, refine: true, refineTrials }), t);
        expect(t.tried.every((b) => b >= min && b <= maxBatch)).toBe(true);
        expect(new Set(t.tried).size).toBe(t.tried.length);
        expect(r.attempts.filter((a) => a.phase === 'refine').length).toBeLessThanOrEqual(refineTrials);
        if (r.maxBatchSize !== null) expect(r.maxBatchSize).toBeLessThanOrEqual(threshold);
        if (r.smallestOom !== null && r.largestFit !== null && refineTrials >= 13) {
          expect(r.largestFit).toBe(Math.min(threshold, Math.min(start, maxBatch)));
        }
      }),
    );
  });
});

/** Peak memory M(b) (bytes); over `budget` the trial is out of memory, as with --memory-limit. */
function withMemory(mem: (b: number) => number, budget: number): TryBatch & { tried: number[] } {
  const tried: number[] = [];
  const fn = async (b: number) => {
    tried.push(b);
    const peak = mem(b);
    const ok = peak <= budget;
    return { outcome: (ok ? 'ok' : 'oom') as Outcome, reason: ok ? null : `peak ${peak} > ${budget}`, peakMemoryBytes: peak };
  };
  return Object.assign(fn, { tried });
}

const MiB = 2 ** 20;
// The CNN under --memory-limit 64MiB, as measured: 88.7 MiB at 512, 44.4 MiB at 256, 63.8 MiB at 368.
const cnn = (b: number) => 110_000 + 181_500 * b;

describe('findMaxBatch with the memory model', () => {
  it('CNN at 64 MiB with refine: two probes, a jump to 368, one check above: 4 trials', async () => {
    const t = withMemory(cnn, 64 * MiB);
    const r = await findMaxBatch(opts({ refine: true, memoryBudget: 64 * MiB }), t);
    expect(t.tried).toEqual([512, 256, 368, 376]);
    expect(r.maxBatchSize).toBe(368);
    expect(r.smallestOom).toBe(376);
    expect(r.attempts.map((a) => a.phase)).toEqual(['step-down', 'step-down', 'jump', 'jump']);
    expect(r.jump).toEqual({ fromTrials: 2, maxBatch: 369, tried: 368 });
    expect(r.memoryModel!.bytesPerSample).toBeCloseTo(181_500, 3);
    expect(r.memoryModel!.fixedBytes).toBeCloseTo(110_000, 0);
    expect(r.memoryModel!.r2).toBeCloseTo(1, 12);
    expect(r.attempts[2]!.predictedBytes).toBeCloseTo(cnn(368), 0);
    expect(r.notes.join('\n')).toMatch(/jumped to 368 \(predicted maximum 369\) after 2 trials; 368 fits and 376 does not \(multiples of 8\)/);
  });

  it('CNN at 64 MiB without refine: the same 2 trials and answer as halving', async () => {
    const t = withMemory(cnn, 64 * MiB);
    const r = await findMaxBatch(opts({ memoryBudget: 64 * MiB }), t);
    expect(t.tried).toEqual([512, 256]);
    expect(r.maxBatchSize).toBe(256);
    expect(r.memoryModel?.points).toBe(2);
  });

  it('a small budget: jumps past the halving steps (4 trials instead of 7), same answer', async () => {
    const t = withMemory(cnn, 2 * MiB);
    const r = await findMaxBatch(opts({ memoryBudget: 2 * MiB }), t);
    expect(t.tried).toEqual([512, 256, 8, 16]);
    expect(r.maxBatchSize).toBe(8);
    const halving = await findMaxBatch(opts({}), scripted(10));
    expect(sizes(halving.attempts)).toEqual([512, 256, 128, 64, 32, 16, 8]);
  });

  it('memory that is not linear (R² < 0.98): says so and bisects instead, still right', async () => {
    // Flat, then steep past 300 (an allocator switching strategy): fits up to 345.
    const hinge = (b: number) => (b < 300 ? 1e6 : 1e6 + 2e5 * (b - 300));
    const budget = 1e7;
    const t = withMemory(hinge, budget);
    const r = await findMaxBatch(opts({ refine: true, refineTrials: 12, memoryBudget: budget }), t);
    expect(r.notes.join('\n')).toMatch(/not linear in the batch \(R² 0\.\d+ < 0\.98 over 3 sizes\): no jump on the memory model; bisecting instead/);
    expect(r.maxBatchSize).toBe(345);
    expect(r.memoryModel!.r2).toBeLessThan(0.98);
  });

  it('a budget without measured peaks (real OOMs) is plain halving/bisection', async () => {
    const t = scripted(299);
    const r = await findMaxBatch(opts({ refine: true, memoryBudget: 64 * MiB }), t);
    expect(sizes(r.attempts)).toEqual([512, 256, 384, 320, 288, 304]);
    expect(r.memoryModel).toBeNull();
    expect(r.jump).toBeNull();
  });

  it('nothing fits: the jump lands on min, which fails, and the search says so', async () => {
    const t = withMemory(cnn, 100_000);
    const r = await findMaxBatch(opts({ memoryBudget: 100_000 }), t);
    expect(r.maxBatchSize).toBeNull();
    expect(t.tried).toEqual([512, 256, 1]);
    expect(r.notes.join('\n')).toMatch(/even search.min 1 ran out of memory/);
  });

  it('property: linear memory with noise: right answer on the grid, bounded trials, no repeats', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 50_000_000 }), fc.integer({ min: 1000, max: 2_000_000 }), fc.integer({ min: 1_000_000, max: 2_000_000_000 }),
        fc.boolean(), fc.integer({ min: 0, max: 1000 }),
        async (m0, m, budget, refine, noiseSeed) => {
          // ±0.2% deterministic noise: linear enough to jump on, not exactly on the line.
          const mem = (b: number) => m0 + m * b * (1 + 0.002 * Math.sin(b * 12.9898 + noiseSeed));
          const t = withMemory(mem, budget);
          const r = await findMaxBatch(opts({ refine, memoryBudget: budget }), t);
          expect(new Set(t.tried).size).toBe(t.tried.length);
          expect(t.tried.every((b) => b >= 1 && b <= 512)).toBe(true);
          const fits = (b: number) => mem(b) <= budget;
          if (r.maxBatchSize === null) {
            expect(fits(1)).toBe(false);
            return;
          }
          expect(fits(r.maxBatchSize)).toBe(true);
          if (r.smallestOom !== null) expect(fits(r.smallestOom)).toBe(false);
          if (!refine) {
            const want = stepDownSequence(512, 1).find(fits);
            expect(r.maxBatchSize).toBe(want);
            expect(t.tried.length).toBeLessThanOrEqual(Math.max(10, 2 + 4 + 1));
          } else {
            // Halving alone would take up to 10 trials, plus 4 to refine.
            expect(t.tried.length).toBeLessThanOrEqual(10);
            if (r.jump && r.smallestOom !== null && r.maxBatchSize >= 8) expect(r.smallestOom - r.maxBatchSize).toBeLessThanOrEqual(8);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a diverged trial fitted in memory', () => {
  it('step-down stops at a diverged size: it is the largest fit, not an OOM', async () => {
    const r = await findMaxBatch(defaults, scripted(299, { 256: 'diverged' }));
    expect(r.maxBatchSize).toBe(256);
    expect(r.smallestOom).toBe(512);
    expect(sizes(r.attempts)).toEqual([512, 256]);
    expect(r.stoppedBy).toBeNull();
  });
  it('refinement counts it as a fit too', async () => {
    const r = await findMaxBatch(opts({ refine: true, refineTrials: 8 }), scripted(299, { 384: 'oom', 320: 'oom', 288: 'diverged' }));
    expect(r.largestFit).toBe(299);
    expect(r.attempts.find((a) => a.batchSize === 288)?.outcome).toBe('diverged');
  });
});
