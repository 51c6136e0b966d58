import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  describeSchedule,
  learningRateAt,
  peakLearningRate,
  scaledLearningRate,
  warmupTooLong,
  warmupSteps,
  type ScheduleConfig,
} from '../src/train/schedule.js';
import { BstuneError } from '../src/errors.js';

const base: ScheduleConfig = {
  learningRate: 0.001,
  baseBatchSize: 32,
  scaling: 'linear',
  warmup: {},
  decay: 'none',
};
const cfg = (over: Partial<ScheduleConfig>): ScheduleConfig => ({ ...base, ...over });

describe('scaledLearningRate', () => {
  it.each([
    ['linear', 128, 0.004],
    ['linear', 8, 0.00025],
    ['sqrt', 128, 0.002],
    ['sqrt', 8, 0.0005],
    ['none', 128, 0.001],
  ] as const)('%s at batch %i → %f', (scaling, b, want) => {
    expect(scaledLearningRate(cfg({ scaling }), b)).toBeCloseTo(want, 12);
  });

  it('is the base rate at batch == base for every scaling', () => {
    for (const scaling of ['linear', 'sqrt', 'none'] as const) {
      expect(scaledLearningRate(cfg({ scaling }), 32)).toBe(0.001);
    }
  });

  it('rejects bad batch sizes and config', () => {
    expect(() => scaledLearningRate(base, 0)).toThrow(BstuneError);
    expect(() => scaledLearningRate(base, 1.5)).toThrow(BstuneError);
    expect(() => scaledLearningRate(cfg({ learningRate: 0 }), 32)).toThrow(/learningRate/);
    expect(() => scaledLearningRate(cfg({ baseBatchSize: 0 }), 32)).toThrow(/baseBatchSize/);
    expect(() => scaledLearningRate(cfg({ warmup: { epochs: 1, steps: 10 } }), 32)).toThrow(/exclusive/);
  });
});

describe('warmupSteps', () => {
  it.each([
    [{}, 0],
    [{ steps: 0 }, 0],
    [{ epochs: 0 }, 0],
    [{ steps: 250 }, 250],
    [{ steps: 2.5 }, 3],
    [{ epochs: 2 }, 200],
    [{ epochs: 0.5 }, 50],
    [{ epochs: 0.333 }, 34], // 33.3 rounds up
    [{ epochs: 0.1 }, 10],
    [{ epochs: 1, steps: 0 }, 100],
  ])('%o with 100 steps/epoch → %i', (warmup, want) => {
    expect(warmupSteps(cfg({ warmup }), 100)).toBe(want);
  });

  it('does not add a step for float noise (0.1 × 30 = 3.0000000000000004)', () => {
    expect(warmupSteps(cfg({ warmup: { epochs: 0.1 } }), 30)).toBe(3);
  });

  it('rejects negative warmup and non-integer steps per epoch', () => {
    expect(() => warmupSteps(cfg({ warmup: { steps: -1 } }), 100)).toThrow(BstuneError);
    expect(() => warmupSteps(base, 0)).toThrow(BstuneError);
  });
});

describe('learningRateAt', () => {
  const at = (c: ScheduleConfig, step: number, batchSize = 128, totalSteps = 1000) =>
    learningRateAt(c, { batchSize, stepsPerEpoch: 100, totalSteps, step });

  it('without warmup or decay is the scaled rate at every step', () => {
    for (const step of [0, 1, 500, 999, 1000, 5000]) expect(at(base, step)).toBeCloseTo(0.004, 15);
  });

  it('warmup by steps: η_start at 0, linear, η from step W on', () => {
    const c = cfg({ warmup: { steps: 100 } });
    expect(at(c, 0)).toBe(0.001); // unscaled base rate
    expect(at(c, 50)).toBeCloseTo(0.0025, 15);
    expect(at(c, 99)).toBeCloseTo(0.001 + 0.003 * 0.99, 15);
    expect(at(c, 100)).toBeCloseTo(0.004, 15);
    expect(at(c, 101)).toBeCloseTo(0.004, 15);
  });

  it('warmup by epochs uses stepsPerEpoch', () => {
    const c = cfg({ warmup: { epochs: 2 } }); // W = 200
    expect(at(c, 100)).toBeCloseTo(0.0025, 15);
    expect(at(c, 200)).toBeCloseTo(0.004, 15);
  });

  it('uses startLearningRate when given', () => {
    const c = cfg({ warmup: { steps: 10, startLearningRate: 0 } });
    expect(at(c, 0)).toBe(0);
    expect(at(c, 5)).toBeCloseTo(0.002, 15);
    expect(at(c, 10)).toBeCloseTo(0.004, 15);
  });

  it('batch == base with default start: warmup is flat at η', () => {
    const c = cfg({ warmup: { steps: 10 } });
    for (const step of [0, 3, 9, 10]) expect(at(c, step, 32)).toBe(0.001);
  });

  it('below the base batch size the default warmup is flat at the scaled rate (no ramp down from the base)', () => {
    const c = cfg({ warmup: { steps: 10 } });
    for (const t of [0, 5, 10, 50]) expect(at(c, t, 8)).toBeCloseTo(0.00025, 15);
  });

  it('an explicit startLearningRate above η is honoured, descending to η', () => {
    const c = cfg({ warmup: { steps: 10, startLearningRate: 0.001 } });
    expect(at(c, 0, 8)).toBe(0.001);
    expect(at(c, 5, 8)).toBeCloseTo(0.000625, 15);
    expect(at(c, 10, 8)).toBeCloseTo(0.00025, 15);
  });

  it('warmup longer than the run never reaches η and stays finite', () => {
    const c = cfg({ warmup: { steps: 2000 }, decay: 'cosine' });
    expect(at(c, 999)).toBeCloseTo(0.001 + 0.003 * (999 / 2000), 15);
    expect(Number.isFinite(at(c, 999))).toBe(true);
  });

  it('cosine: η at W, midpoint (η+min)/2, min at totalSteps', () => {
    const c = cfg({ warmup: { steps: 100 }, decay: 'cosine', minLearningRate: 0.0004 });
    expect(at(c, 100)).toBeCloseTo(0.004, 15);
    expect(at(c, 550)).toBeCloseTo(0.0022, 15);
    expect(at(c, 1000)).toBeCloseTo(0.0004, 15);
    expect(at(c, 1500)).toBeCloseTo(0.0004, 15); // past the end: held at the floor
    expect(at(c, 999)).toBeGreaterThan(0.0004);
  });

  it('cosine without warmup starts at η at step 0 and defaults the floor to 0', () => {
    const c = cfg({ decay: 'cosine' });
    expect(at(c, 0)).toBeCloseTo(0.004, 15);
    expect(at(c, 500)).toBeCloseTo(0.002, 15);
    expect(at(c, 1000)).toBeCloseTo(0, 15);
  });

  it('cosine decay is non-increasing', () => {
    const c = cfg({ warmup: { steps: 100 }, decay: 'cosine' });
    let prev = Infinity;
    for (let s = 100; s <= 1000; s++) {
      const lr = at(c, s);
      expect(lr).toBeLessThanOrEqual(prev);
      prev = lr;
    }
  });

  it('totalSteps == W: no division by zero, holds η', () => {
    const c = cfg({ warmup: { steps: 1000 }, decay: 'cosine' });
    expect(at(c, 1000)).toBeCloseTo(0.004, 15);
    expect(at(c, 1200)).toBeCloseTo(0.004, 15);
  });

  it('rejects negative steps', () => {
    expect(() => at(base, -1)).toThrow(BstuneError);
  });

  it('warmup is monotonic increasing when η > η_start', () => {
    const c = cfg({ warmup: { steps: 50 } });
    let prev = -Infinity;
    for (let s = 0; s <= 50; s++) {
      const lr = at(c, s);
      expect(lr).toBeGreaterThan(prev);
      prev = lr;
    }
  });

  it('property: during warmup the rate stays between η_start and η', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 10, noNaN: true }),
        fc.integer({ min: 1, max: 4096 }),
        fc.integer({ min: 1, max: 4096 }),
        fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
        fc.constantFrom('linear', 'sqrt', 'none') as fc.Arbitrary<ScheduleConfig['scaling']>,
        fc.integer({ min: 1, max: 5000 }),
        fc.nat(),
        (learningRate, baseBatchSize, batchSize, startLearningRate, scaling, w, rawStep) => {
          const c: ScheduleConfig = {
            learningRate,
            baseBatchSize,
            scaling,
            warmup: { steps: w, startLearningRate },
            decay: 'cosine',
          };
          const step = rawStep % w;
          const lr = learningRateAt(c, { batchSize, stepsPerEpoch: 10, totalSteps: 2 * w, step });
          const start = startLearningRate ?? learningRate;
          const peak = scaledLearningRate(c, batchSize);
          const eps = 1e-12 * Math.max(start, peak);
          expect(lr).toBeGreaterThanOrEqual(Math.min(start, peak) - eps);
          expect(lr).toBeLessThanOrEqual(Math.max(start, peak) + eps);
        },
      ),
    );
  });

  it('property: warmup steps are monotone when η > η_start', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1000 }), fc.integer({ min: 1, max: 500 }), (w, s) => {
        const c = cfg({ warmup: { steps: w } });
        const t = s % w;
        const pos = (step: number) => ({ batchSize: 256, stepsPerEpoch: 10, totalSteps: 10 * w, step });
        expect(learningRateAt(c, pos(t + 1))).toBeGreaterThan(learningRateAt(c, pos(t)));
      }),
    );
  });
});

describe('describeSchedule', () => {
  it('names the scaling, warmup and decay', () => {
    expect(describeSchedule(cfg({ warmup: { steps: 250 } }), 128, 100)).toBe(
      'lr 0.004 (linear from 0.001 @ 32), warmup 250 steps from 0.001',
    );
    expect(describeSchedule(cfg({ warmup: { epochs: 0.5 }, decay: 'cosine' }), 128, 100)).toBe(
      'lr 0.004 (linear from 0.001 @ 32), warmup 50 steps (0.5 epochs) from 0.001, cosine to 0',
    );
    expect(describeSchedule(cfg({ scaling: 'sqrt' }), 32, 100)).toBe('lr 0.001 (sqrt, batch = base 32), no warmup');
    expect(describeSchedule(cfg({ scaling: 'none' }), 512, 100)).toBe('lr 0.001 (not scaled), no warmup');
  });

  it('is one line', () => {
    expect(describeSchedule(cfg({ warmup: { steps: 1 }, decay: 'cosine', minLearningRate: 1e-5 }), 64, 10)).not.toMatch(/\n/);
  });
});

describe('peakLearningRate: the highest rate a run really uses', () => {
  it('equals the maximum of learningRateAt over every step, for any schedule and run length', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 60 }),
      fc.constantFrom('linear', 'sqrt', 'none'), fc.constantFrom('none', 'cosine'),
      (batchSize, stepsPerEpoch, totalSteps, w, scaling, decay) => {
        const c = cfg({ scaling, decay, warmup: { steps: w } });
        const p = { batchSize, stepsPerEpoch, totalSteps };
        const want = totalSteps === 0 ? null : Math.max(...Array.from({ length: totalSteps }, (_, step) => learningRateAt(c, { ...p, step })));
        expect(peakLearningRate(c, p)).toBe(want);
      },
    ), { numRuns: 300 });
  });

  it('is below the scaled rate when warmup outlasts the run (100 warmup steps, 60 steps)', () => {
    const c = cfg({ warmup: { steps: 100 } });
    const peak = peakLearningRate(c, { batchSize: 128, stepsPerEpoch: 20, totalSteps: 60 })!;
    expect(peak).toBeCloseTo(0.001 + (0.004 - 0.001) * (59 / 100), 12);
    expect(peak).toBeLessThan(scaledLearningRate(c, 128));
  });
});

describe('warmupTooLong', () => {
  it('says so when warmup does not end within the run, with the peak reached and the scaled rate', () => {
    expect(warmupTooLong(cfg({ warmup: { steps: 100 }, decay: 'cosine' }), { batchSize: 128, stepsPerEpoch: 20, totalSteps: 60 }))
      .toBe('warmup (100 steps) is longer than the run at batch 128 (60 steps): the rate peaks at 0.00277, never reaching the scaled 0.004, and the cosine decay never starts');
  });
  it('warmup exactly as long as the run: the last step is still on the ramp', () => {
    expect(warmupTooLong(cfg({ warmup: { steps: 6 } }), { batchSize: 64, stepsPerEpoch: 6, totalSteps: 6 }))
      .toBe('warmup (6 steps) lasts all of the run at batch 64 (6 steps): the rate peaks at 0.001833, never reaching the scaled 0.002');
  });
  it('is null when warmup ends in time, when there is none, and below the base batch (nothing to ramp)', () => {
    expect(warmupTooLong(cfg({ warmup: { steps: 59 } }), { batchSize: 128, stepsPerEpoch: 20, totalSteps: 60 })).toBeNull();
    expect(warmupTooLong(cfg({ warmup: {} }), { batchSize: 128, stepsPerEpoch: 20, totalSteps: 60 })).toBeNull();
    expect(warmupTooLong(cfg({ warmup: { steps: 100 } }), { batchSize: 16, stepsPerEpoch: 20, totalSteps: 60 })).toBeNull();
  });
});
