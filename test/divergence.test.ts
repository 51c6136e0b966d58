/**
 * The divergence rule (src/train/divergence.ts): every criterion alone, at and around its
 * boundary, and the loss ends it is fed.
 */
import { describe, expect, it } from 'vitest';
import { CHANCE_MARGIN, LOSS_RISE, RISE_Z, STUCK_FALL, divergence, lossEnds, stepNoise, type DivergenceInput } from '../src/train/divergence.js';

const healthy: DivergenceInput = { initialLoss: 2.3, finalLoss: 0.4, peakLoss: 2.3, losses: [0.9, 0.5, 0.45, 0.42], valAccuracy: 0.89, numClasses: 10 };
const run = (over: Partial<DivergenceInput>) => divergence({ ...healthy, ...over });

describe('divergence', () => {
  it('a run that learned is not diverged', () => {
    expect(divergence(healthy)).toBeNull();
  });

  it.each([NaN, Infinity, -Infinity])('any loss %s: diverged, wherever it is', (bad) => {
    expect(run({ losses: [0.9, bad, 0.4] })).toBe(`loss became ${bad}`);
    expect(run({ finalLoss: bad })).toBe(`loss became ${bad}`);
    expect(run({ initialLoss: bad })).toBe(`loss became ${bad}`);
  });

  it(`a final loss more than ${LOSS_RISE * 100}% above the start: diverged; at or below that, not`, () => {
    expect(run({ initialLoss: 2, finalLoss: 2 * (1 + LOSS_RISE) + 1e-9 })).toMatch(/^loss rose from 2 to 2\.2/);
    expect(run({ initialLoss: 2, finalLoss: 2 * (1 + LOSS_RISE) })).toBeNull();
    expect(run({ initialLoss: 2, finalLoss: 2.1 })).toBeNull();
    expect(run({ initialLoss: 2.3, finalLoss: 161.07 })).toBe('loss rose from 2.3 to 161.1');
  });

  it(`stuck at chance after a spike: val accuracy below chance + ${CHANCE_MARGIN * 100} pt, the loss spiked and did not fall ${STUCK_FALL * 100}%`, () => {
    const stuck = (over: Partial<DivergenceInput>) => run({ initialLoss: 2.3026, finalLoss: 2.3012, peakLoss: 483.2, ...over });
    expect(stuck({ valAccuracy: 0.11 })).toBe('val accuracy 11.0% is within 5 pt of chance (10.0%, 10 classes): the loss spiked to 483.2 and ended at 2.301 (from 2.303)');
    expect(stuck({ valAccuracy: 0.1499 })).not.toBeNull();
    expect(stuck({ valAccuracy: 0.15 })).toBeNull();
    expect(stuck({ valAccuracy: 0.02 })).not.toBeNull(); // below chance is no better
    // Chance depends on the number of classes.
    expect(stuck({ valAccuracy: 0.52, numClasses: 2 })).toMatch(/^val accuracy 52\.0% is within 5 pt of chance \(50\.0%, 2 classes\)/);
    expect(stuck({ valAccuracy: 0.56, numClasses: 2 })).toBeNull();
    // No class count (regression, other labels): no chance rule.
    expect(stuck({ valAccuracy: 0.11, numClasses: null })).toBeNull();
  });

  it('near chance without a spike, or with a loss that fell: a short run that has not trained enough, not diverged', () => {
    // The real case: batch 16, 20 steps at 0.0005: 13.5%, loss 2.239 → 2.217, no spike.
    expect(run({ valAccuracy: 0.135, initialLoss: 2.239, finalLoss: 2.217, peakLoss: 2.26 })).toBeNull();
    expect(run({ valAccuracy: 0.135, initialLoss: 2.3, finalLoss: 2.3 * (1 - STUCK_FALL) - 1e-9, peakLoss: 9 })).toBeNull();
    expect(run({ valAccuracy: 0.135, initialLoss: 2.3, finalLoss: 2.3 * (1 - STUCK_FALL) + 1e-6, peakLoss: 9 })).not.toBeNull();
    expect(run({ valAccuracy: 0.135, initialLoss: 2.3, finalLoss: 2.3, peakLoss: 2.3 * (1 + LOSS_RISE) })).toBeNull();
  });

  it('a find-max trial (val accuracy null) is judged on its losses only', () => {
    expect(run({ valAccuracy: null })).toBeNull();
    expect(run({ valAccuracy: null, losses: [NaN] })).toBe('loss became NaN');
  });

  it('no steps (nulls, no losses): nothing to judge', () => {
    expect(divergence({ initialLoss: null, finalLoss: null, peakLoss: null, losses: [], valAccuracy: null, numClasses: 10 })).toBeNull();
  });

  it('reports the first reason that applies: non-finite, then rising, then chance', () => {
    expect(run({ losses: [NaN], initialLoss: 1, finalLoss: 5, valAccuracy: 0.1 })).toBe('loss became NaN');
    expect(run({ initialLoss: 2.3, finalLoss: 2.3, peakLoss: 40, valAccuracy: 0.1 })).toMatch(/^val accuracy/);
    expect(run({ initialLoss: 1, finalLoss: 5, valAccuracy: 0.1 })).toMatch(/^loss rose/);
  });
});

describe('lossEnds', () => {
  it('batch ≥ 32: the first step; the end is the last steps holding 256 samples, at most the second half', () => {
    expect(lossEnds([2.3, 900, 5, 4, 3], 64)).toMatchObject({ initialLoss: 2.3, finalLoss: 3.5, peakLoss: 900 });
    const long = Array.from({ length: 40 }, (_, i) => 40 - i); // 40 … 1
    expect(lossEnds(long, 64)).toMatchObject({ initialLoss: 40, finalLoss: (4 + 3 + 2 + 1) / 4 }); // 4 × 64 = 256 samples
  });
  it('small batches: at least 32 samples at the start, 256 at the end', () => {
    const losses = Array.from({ length: 100 }, (_, i) => i);
    const ends = lossEnds(losses, 8); // 4 steps = 32 samples, 32 steps = 256
    expect(ends.initialLoss).toBeCloseTo((0 + 1 + 2 + 3) / 4, 12);
    expect(ends.finalLoss).toBeCloseTo((68 + 99) / 2, 12);
    expect(ends.peakLoss).toBeCloseTo((96 + 97 + 98 + 99) / 4, 12); // the highest 4-step window
  });
  it('short runs use what there is; no steps gives nulls', () => {
    expect(lossEnds([3, 1], 1)).toEqual({ initialLoss: 2, finalLoss: 2, peakLoss: 2, riseNoise: null });
    expect(lossEnds([], 16)).toEqual({ initialLoss: null, finalLoss: null, peakLoss: null, riseNoise: null });
  });
  it('riseNoise: the standard error of end − start from the end steps\' step-to-step noise', () => {
    const ends = lossEnds([5, 1, 3, 1, 3, 1, 3, 1, 3, 1], 64); // end: the last 4 steps; noise from the last 5: |log differences| all log 3
    expect(ends.riseNoise).toBeCloseTo((Math.log(3) / (0.6745 * Math.SQRT2)) * Math.sqrt(1 / 4 + 1), 12);
    expect(lossEnds([5, 1, 3, 1, 3, 1, 3, 0, 3, 1], 64).riseNoise).toBeNull(); // a loss of 0 has no log
  });
});

describe('stepNoise', () => {
  it('estimates the standard deviation of independent normal noise', () => {
    let seed = 7;
    const uniform = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const xs = Array.from({ length: 20000 }, (_, i) => 1 - i * 1e-5 + 0.3 * normal()); // a slow trend too
    expect(stepNoise(xs)!).toBeGreaterThan(0.28);
    expect(stepNoise(xs)!).toBeLessThan(0.32);
  });
  it('a few outliers do not move it; fewer than 3 steps: null', () => {
    expect(stepNoise([1, 1.1, 1, 1.1, 1, 1.1, 1, 50, 80])).toBeCloseTo(0.1 / (0.6745 * Math.SQRT2), 12);
    expect(stepNoise([1, 2])).toBeNull();
  });
});

describe('the rise must be beyond the noise', () => {
  const rng = (seed: number) => () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  // Batch losses near an already low loss: the mean of 32 per-sample cross-entropies, most near 0 and
  // a few misclassified ones large, so a single batch swings ±50% around 0.25 (skewed, as real ones).
  const batches = (n: number, level: number, seed: number) => {
    const next = rng(seed);
    const sample = () => (next() < 0.05 ? -4 * Math.log(next()) : -0.05 * Math.log(next()));
    return Array.from({ length: n }, () => (level / 0.2475) * Array.from({ length: 32 }, sample).reduce((a, b) => a + b, 0) / 32);
  };
  // Plain batch noise: a level ± a relative sd (a model near chance, or a loss not yet low).
  const around = (n: number, level: number, relSd: number, seed: number) => {
    const next = rng(seed);
    return Array.from({ length: n }, () => Math.max(1e-3, level * (1 + relSd * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()))));
  };
  const judge = (steps: number[], batch: number) => divergence({ ...lossEnds(steps, batch), losses: [], valAccuracy: 0.95, numClasses: 10 });

  it('from trained weights: a flat noisy loss is not diverged, though the last batch often ends 10% above the first', () => {
    const runs = Array.from({ length: 300 }, (_, j) => batches(124, 0.25, j + 1)); // 2 epochs of 2,000 samples at batch 32
    for (const [j, steps] of runs.entries()) expect(judge(steps, 32), `seed ${j + 1}`).toBeNull();
    // What the old rule (one batch at each end) saw: a "rise" in a large share of these runs.
    expect(runs.filter((s) => s[s.length - 1]! > s[0]! * (1 + LOSS_RISE)).length).toBeGreaterThan(60);
  });

  it('a rate that wrecks trained weights (0.25 → 2.0) is still diverged', () => {
    for (let seed = 1; seed <= 50; seed++) {
      expect(judge([...batches(62, 0.25, seed), ...around(62, 2.0, 0.05, seed + 1000)], 32), `seed ${seed}`).toMatch(/^loss rose from/);
    }
  });

  it('an exploding rate is diverged however wild the end (2.3 → ~160, ±60)', () => {
    const next = rng(5);
    const steps = [2.3, ...Array.from({ length: 40 }, () => 160 + 60 * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()))];
    expect(judge(steps, 64)).toMatch(/^loss rose from 2\.3 to 1\d\d/);
  });

  it('a loss that blows up in its last steps is diverged: two outliers do not hide it', () => {
    expect(judge([2.3, ...around(97, 0.3, 0.4, 6), 60, 90], 32)).toMatch(/^loss rose from 2\.3 to/);
  });

  it(`the guard: a rise of ${RISE_Z} standard errors or less (of the log ratio) is noise`, () => {
    const at = (riseNoise: number) => divergence({ initialLoss: 1, finalLoss: 2, peakLoss: 2, riseNoise, losses: [], valAccuracy: null, numClasses: 10 });
    expect(at((Math.log(2) / RISE_Z) * (1 + 1e-9))).toBeNull();
    expect(at((Math.log(2) / RISE_Z) * (1 - 1e-9))).toBe('loss rose from 1 to 2');
    expect(at(Number.NaN)).toBeNull(); // no comparison holds: not a rise beyond noise
    expect(divergence({ initialLoss: 0, finalLoss: 2, peakLoss: 2, riseNoise: 0.1, losses: [], valAccuracy: null, numClasses: 10 })).toBe('loss rose from 0 to 2');
  });
});
