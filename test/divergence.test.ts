/**
 * The divergence rule (src/train/divergence.ts): every criterion alone, at and around its
 * boundary, and the loss ends it is fed.
 */
import { describe, expect, it } from 'vitest';
import { CHANCE_MARGIN, LOSS_RISE, divergence, lossEnds, type DivergenceInput } from '../src/train/divergence.js';

const healthy: DivergenceInput = { initialLoss: 2.3, finalLoss: 0.4, losses: [0.9, 0.5, 0.45, 0.42], valAccuracy: 0.89, numClasses: 10 };
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

  it(`val accuracy below chance + ${CHANCE_MARGIN * 100} pt: diverged; at or above, not`, () => {
    expect(run({ valAccuracy: 0.11 })).toBe('val accuracy 11.0% is within 5 pt of chance (10.0%, 10 classes)');
    expect(run({ valAccuracy: 0.1499 })).not.toBeNull();
    expect(run({ valAccuracy: 0.15 })).toBeNull();
    expect(run({ valAccuracy: 0.02 })).not.toBeNull(); // below chance is no better
    // Chance depends on the number of classes.
    expect(run({ valAccuracy: 0.52, numClasses: 2 })).toBe('val accuracy 52.0% is within 5 pt of chance (50.0%, 2 classes)');
    expect(run({ valAccuracy: 0.56, numClasses: 2 })).toBeNull();
  });

  it('a find-max trial (val accuracy null) is judged on its losses only', () => {
    expect(run({ valAccuracy: null })).toBeNull();
    expect(run({ valAccuracy: null, losses: [NaN] })).toBe('loss became NaN');
  });

  it('no steps (nulls, no losses): nothing to judge', () => {
    expect(divergence({ initialLoss: null, finalLoss: null, losses: [], valAccuracy: null, numClasses: 10 })).toBeNull();
  });

  it('reports the first reason that applies: non-finite, then rising, then chance', () => {
    expect(run({ losses: [NaN], initialLoss: 1, finalLoss: 5, valAccuracy: 0.1 })).toBe('loss became NaN');
    expect(run({ initialLoss: 1, finalLoss: 5, valAccuracy: 0.1 })).toMatch(/^loss rose/);
  });
});

describe('lossEnds', () => {
  it('batch ≥ 32: the first and the last step', () => {
    expect(lossEnds([2.3, 900, 5, 4, 3], 64)).toEqual({ initialLoss: 2.3, finalLoss: 3 });
  });
  it('small batches: means over at least 32 samples at each end', () => {
    const losses = Array.from({ length: 100 }, (_, i) => i);
    const ends = lossEnds(losses, 8); // 4 steps = 32 samples
    expect(ends.initialLoss).toBeCloseTo((0 + 1 + 2 + 3) / 4, 12);
    expect(ends.finalLoss).toBeCloseTo((96 + 97 + 98 + 99) / 4, 12);
  });
  it('short runs use what there is; no steps gives nulls', () => {
    expect(lossEnds([3, 1], 1)).toEqual({ initialLoss: 2, finalLoss: 2 });
    expect(lossEnds([], 16)).toEqual({ initialLoss: null, finalLoss: null });
  });
});
