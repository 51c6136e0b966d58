import { describe, expect, it } from 'vitest';
import { expectedWork, longestFirst, type WorkFacts } from '../src/sweep/order.js';

const byEpochs: WorkFacts = { trainCount: 8000, epochs: 5, budget: 'epochs', stepsPerRound: null };
const order = (sizes: number[], f: WorkFacts, accumulate = 1) =>
  longestFirst(sizes.map((batchSize) => ({ batchSize, accumulate })), (r) => expectedWork(r, f)).map((r) => r.batchSize);

describe('sweep order with several runs at once (longest expected first)', () => {
  it('by epochs, small batches first (more steps for the same samples), whatever order the sizes came in', () => {
    expect(order([128, 64, 32, 16], byEpochs)).toEqual([16, 32, 64, 128]);
    expect(order([64, 16, 128, 32], byEpochs)).toEqual([16, 32, 64, 128]);
  });

  it('by steps, large batches first (the same steps, more samples each)', () => {
    expect(order([16, 32, 64, 128], { ...byEpochs, budget: 'steps', stepsPerRound: 250 })).toEqual([128, 64, 32, 16]);
  });

  it('by time all runs are equal: the order asked for is kept', () => {
    expect(order([64, 16, 128, 32], { ...byEpochs, budget: 'time' })).toEqual([64, 16, 128, 32]);
  });

  it('repeats of one size stay together in their order (stable)', () => {
    const runs = [{ batchSize: 64, seed: 1 }, { batchSize: 64, seed: 2 }, { batchSize: 16, seed: 1 }, { batchSize: 16, seed: 2 }];
    expect(longestFirst(runs, (r) => expectedWork({ ...r, accumulate: 1 }, byEpochs)).map((r) => `${r.batchSize}/${r.seed}`)).toEqual(['16/1', '16/2', '64/1', '64/2']);
  });

  it('counts every micro-batch of an accumulated step: 16 × 4 takes longer than 64 × 1', () => {
    const w = (batchSize: number, accumulate: number) => expectedWork({ batchSize, accumulate }, byEpochs);
    expect(w(16, 4)).toBeGreaterThan(w(64, 1));
    expect(w(16, 4)).toBeCloseTo(w(16, 1), -2);
  });
});
