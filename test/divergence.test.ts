/**
 * The divergence rule (src/train/divergence.ts): every criterion alone, at and around its
 * boundary, and the loss ends it is fed.
 */
import { describe, expect, it } from 'vitest';
import { CHANCE_MARGIN, LOSS_RISE, STUCK_FALL, divergence, lossEnds, type DivergenceInput } from '../src/train/divergence.js';

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
  it('batch ≥ 32: the first and the last step', () => {
    expect(lossEnds([2.3, 900, 5, 4, 3], 64)).toEqual({ initialLoss: 2.3, finalLoss: 3, peakLoss: 900 });
  });
  it('small batches: means over at least 32 samples at each end', () => {
    const losses = Array.from({ length: 100 }, (_, i) => i);
    const ends = lossEnds(losses, 8); // 4 steps = 32 samples
    expect(ends.initialLoss).toBeCloseTo((0 + 1 + 2 + 3) / 4, 12);
    expect(ends.finalLoss).toBeCloseTo((96 + 97 + 98 + 99) / 4, 12);
    expect(ends.peakLoss).toBeCloseTo(ends.finalLoss!, 12); // the highest 4-step window
  });
  it('short runs use what there is; no steps gives nulls', () => {
    expect(lossEnds([3, 1], 1)).toEqual({ initialLoss: 2, finalLoss: 2, peakLoss: 2 });
    expect(lossEnds([], 16)).toEqual({ initialLoss: null, finalLoss: null, peakLoss: null });
  });
});
