/**
 * Reading each step's loss back later, in windows (TrainOptions.readEvery, used on GPUs):
 * the same run, the same numbers, in process on the cpu backend with real embedded MNIST.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { train, type StepEvent, type TrainResult } from '../src/train/loop.js';
import { buildModel } from '../src/model/build.js';
import { loadDataset } from '../src/data/index.js';
import { optimizerSchema } from '../src/config/schema.js';
import type { Tf } from '../src/tf.js';

async function run(readEvery: number, extra: { memoryLimit?: number; learningRate?: number } = {}): Promise<{ result: TrainResult; events: StepEvent[] }> {
  await tf.setBackend('cpu');
  await tf.ready();
  const data = await loadDataset({ source: 'embedded', validationSplit: 0.2, trainLimit: 320 }, { seed: 42 });
  const model = buildModel(tf as unknown as Tf, { kind: 'mlp', hidden: [10] }, 42);
  const events: StepEvent[] = [];
  const optimizer = optimizerSchema.parse({ name: 'adam', learningRate: extra.learningRate ?? 0.001, baseBatchSize: 32, scaling: 'none', warmup: { steps: 0 } });
  const result = await train(tf as unknown as Tf, model, data, {
    batchSize: 32, epochs: 2, optimizer, seed: 42, memoryLimit: extra.memoryLimit ?? null, readEvery, onStep: (e) => events.push(e),
  });
  model.dispose();
  return { result, events };
}

describe('readEvery: losses read back in windows', () => {
  it('gives the same losses, accuracies, history and divergence verdict as reading every step (windows of 3 over 10-step epochs)', async () => {
    const a = await run(1);
    const b = await run(3);
    expect(b.result.steps).toBe(20);
    expect(b.events.map((e) => e.globalStep)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(b.events.map((e) => e.loss)).toEqual(a.events.map((e) => e.loss));
    expect(b.events.map((e) => e.step)).toEqual(a.events.map((e) => e.step));
    const strip = (h: TrainResult['history']) => h.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(b.result.history)).toEqual(strip(a.result.history));
    expect([b.result.initialLoss, b.result.finalLoss, b.result.divergence]).toEqual([a.result.initialLoss, a.result.finalLoss, a.result.divergence]);
    expect(b.result.peakMemoryBytes).toBe(a.result.peakMemoryBytes);
    // Steps of one window share its time; the warm-up steps (up to the profiled one) are timed alone.
    const t = b.events.map((e) => e.seconds);
    expect(t[2]).toBe(t[3]);
    expect(t[3]).toBe(t[4]);
    expect(b.result.samplesPerSecond).toBeGreaterThan(0);
  }, 60_000);

  it('still stops right after the memory-profiled step when the peak exceeds the limit', async () => {
    const { result, events } = await run(5, { memoryLimit: 1024 });
    expect(result.exceededMemoryLimit).toBe(true);
    expect(result.steps).toBe(2);
    expect(events).toHaveLength(2);
  }, 60_000);

  it('still sees a NaN loss: a diverging run is diverged', async () => {
    const { result } = await run(7, { learningRate: 1e9 });
    expect(result.divergence).toMatch(/^loss (became NaN|rose)/);
  }, 60_000);
});
