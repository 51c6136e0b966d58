import { describe, expect, it } from 'vitest';
import { deviceWithThreads, renderTrainSummary } from '../src/report/train-summary.js';
import type { TrialResult } from '../src/trial/protocol.js';

const device = '2-core x64 CPU (AMD EPYC), 24 GiB RAM, wasm SIMD';

describe('train summary: the device line names the training threads the run used', () => {
  it('wasm names its training threads, one or more; other backends only above one', () => {
    expect(deviceWithThreads(device, 1)).toBe('2-core x64 CPU (AMD EPYC), 24 GiB RAM, wasm SIMD, 1 training thread');
    expect(deviceWithThreads('cpu device', 1)).toBe('cpu device');
    expect(deviceWithThreads(device, null)).toBe(device);
    expect(deviceWithThreads(device, 2)).toBe('2-core x64 CPU (AMD EPYC), 24 GiB RAM, wasm SIMD, 2 training threads');
    expect(deviceWithThreads('some device', 3)).toBe('some device, 3 training threads');
  });

  it('the rendered head of a 2-thread run', () => {
    const t = { batchSize: 128, learningRate: 0.004, scaledLearningRate: 0.004, outcome: 'error', reason: 'x', threads: 2, history: [] } as unknown as TrialResult;
    const text = renderTrainSummary(t, { backend: { name: 'wasm', device }, data: 'd' }, process.stdout);
    expect(text.split('\n')[0]).toMatch(/wasm on .*wasm SIMD, 2 training threads$/);
    expect(text).not.toMatch(/1 thread/);
  });
});
