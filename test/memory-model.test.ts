import { describe, expect, it } from 'vitest';
import { fitMemory, predictBytes, predictForDevice, predictMaxBatch, reportModel, roundDownToMultiple, roundDownToPowerOfTwo } from '../src/memory/model.js';

describe('memory model', () => {
  it('fits an exact line: M0, m and R² 1', () => {
    const m = fitMemory([64, 128, 256, 512].map((b) => ({ batchSize: b, bytes: 110_000 + 181_500 * b })))!;
    expect(m.fixedBytes).toBeCloseTo(110_000, 3);
    expect(m.bytesPerSample).toBeCloseTo(181_500, 6);
    expect(m.r2).toBeCloseTo(1, 12);
    expect(m.points).toBe(4);
    expect(predictBytes(m, 368)).toBeCloseTo(110_000 + 181_500 * 368, 2);
  });

  it('needs two distinct sizes; repeats of one size are averaged; junk points are ignored', () => {
    expect(fitMemory([])).toBeNull();
    expect(fitMemory([{ batchSize: 32, bytes: 10 }, { batchSize: 32, bytes: 12 }])).toBeNull();
    const m = fitMemory([{ batchSize: 1, bytes: 10 }, { batchSize: 1, bytes: 14 }, { batchSize: 3, bytes: 16 }, { batchSize: 5, bytes: NaN }, { batchSize: 7, bytes: 0 }])!;
    expect(m.points).toBe(2);
    expect(m.bytesPerSample).toBeCloseTo(2, 12); // (16 - 12) / 2
    expect(m.fixedBytes).toBeCloseTo(10, 12);
  });

  it('R² drops below 0.98 for memory that is not linear', () => {
    const hinge = [64, 128, 256, 300, 384, 512].map((b) => ({ batchSize: b, bytes: b < 300 ? 1e6 : 1e6 + 2e5 * (b - 300) }));
    expect(fitMemory(hinge)!.r2).toBeLessThan(0.98);
    const flat = fitMemory([{ batchSize: 1, bytes: 5 }, { batchSize: 2, bytes: 5 }])!;
    expect(flat.r2).toBe(1);
    expect(predictMaxBatch(flat, 100)).toBeNull(); // does not grow: nothing to predict
  });

  it('predicts the largest batch under a budget and rounds it', () => {
    const m = { fixedBytes: 110_000, bytesPerSample: 181_500, r2: 1, points: 2 };
    expect(predictMaxBatch(m, 64 * 2 ** 20)).toBe(369);
    expect(predictMaxBatch(m, 200_000)).toBeNull(); // not even one sample
    expect(predictMaxBatch({ ...m, fixedBytes: 0, bytesPerSample: 100 }, 1000)).toBe(10); // exactly on the line counts
    expect(predictForDevice(m, 16 * 2 ** 30)).toEqual({ budgetBytes: 16 * 2 ** 30, maxBatch: 94_654, multipleOf8: 94_648, powerOfTwo: 65_536 });
    expect(predictForDevice(m, 1_000_000)).toEqual({ budgetBytes: 1_000_000, maxBatch: 4, multipleOf8: null, powerOfTwo: 4 });
    expect(roundDownToMultiple(369, 8)).toBe(368);
    expect(roundDownToPowerOfTwo(369)).toBe(256);
    expect(roundDownToPowerOfTwo(256)).toBe(256);
    expect(roundDownToPowerOfTwo(1)).toBe(1);
    expect(reportModel(m, { bytes: 64 * 2 ** 20, label: '--memory-limit 64 MiB' })).toMatchObject({ linear: true, prediction: { maxBatch: 369, device: '--memory-limit 64 MiB' } });
    expect(reportModel(null, null)).toBeNull();
  });
});
