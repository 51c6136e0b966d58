import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planAccumulation } from '../src/search/target.js';

describe('planAccumulation (find-max --target-batch)', () => {
  it('fits as is: no accumulation', () => {
    expect(planAccumulation(256, 368)).toEqual({ targetBatch: 256, microBatch: 256, accumulate: 1, effectiveBatchSize: 256 });
  });
  it('the fewest micro-batches that split the target exactly', () => {
    expect(planAccumulation(1024, 368)).toEqual({ targetBatch: 1024, microBatch: 256, accumulate: 4, effectiveBatchSize: 1024 });
    expect(planAccumulation(1000, 368)).toEqual({ targetBatch: 1000, microBatch: 250, accumulate: 4, effectiveBatchSize: 1000 });
    expect(planAccumulation(4096, 368)).toEqual({ targetBatch: 4096, microBatch: 256, accumulate: 16, effectiveBatchSize: 4096 });
  });
  it('a prime target: the fewest micro-batches, a slightly smaller effective batch', () => {
    expect(planAccumulation(1009, 368)).toEqual({ targetBatch: 1009, microBatch: 336, accumulate: 3, effectiveBatchSize: 1008 });
  });
  it('property: the micro-batch fits, the effective batch is at most the target and close to it', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 5000 }), (b, m) => {
      const p = planAccumulation(b, m);
      expect(p.microBatch).toBeLessThanOrEqual(m);
      expect(p.microBatch).toBeGreaterThanOrEqual(1);
      expect(p.effectiveBatchSize).toBe(p.microBatch * p.accumulate);
      expect(p.effectiveBatchSize).toBeLessThanOrEqual(b);
      expect(p.accumulate).toBeLessThanOrEqual(2 * Math.ceil(b / m));
      expect(b - p.effectiveBatchSize).toBeLessThan(p.accumulate);
    }));
  });
});
