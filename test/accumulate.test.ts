/**
 * Gradient accumulation: one optimizer step over 4 micro-batches of 32 (of 8 for the CNN
 * on the slow pure-JS cpu backend) must leave the
 * same weights as one step over the batch of 128 they make up (the mean loss of the big
 * batch is the mean of the micro-batch means), on the real backends, for the MLP and the
 * CNN, with Adam (the fused wasm kernel on wasm) and SGD with momentum.
 */
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { train } from '../src/train/loop.js';
import { buildModel } from '../src/model/build.js';
import { loadDataset } from '../src/data/index.js';
import { optimizerSchema, type ModelConfig } from '../src/config/schema.js';
import type { Tf } from '../src/tf.js';

const data = loadDataset({ source: 'embedded', validationSplit: 0.005, trainLimit: 512 }, { seed: 3 });

const models: Record<string, ModelConfig> = {
  mlp: { kind: 'mlp', hidden: [16] },
  cnn: { kind: 'cnn', filters: [2, 4], kernelSize: 5, poolSize: 2, dense: [] },
};
const optimizers = {
  adam: optimizerSchema.parse({ name: 'adam', learningRate: 0.001, baseBatchSize: 32, scaling: 'linear', warmup: { steps: 0 } }),
  sgd: optimizerSchema.parse({ name: 'sgd', momentum: 0.9, learningRate: 0.05, baseBatchSize: 32, scaling: 'linear', warmup: { steps: 0 } }),
};

/** The weights after `steps` optimizer steps, and the rate the first one used. */
async function weightsAfter(tf: Tf, model: keyof typeof models, opt: keyof typeof optimizers, batchSize: number, accumulate: number, steps = 1) {
  const m = buildModel(tf, models[model]!, 11);
  const before = m.getWeights().map((w) => Float32Array.from(w.dataSync()));
  let lr = 0;
  const r = await train(tf, m, await data, {
    batchSize, accumulate, epochs: 1, maxSteps: steps, optimizer: optimizers[opt], seed: 5, memoryLimit: null,
    onStep: (e) => { if (e.globalStep === 0) lr = e.learningRate; },
  });
  const after = m.getWeights().map((w) => Float32Array.from(w.dataSync()));
  m.dispose();
  return { before, after, lr, result: r };
}

function maxDiff(a: Float32Array[], b: Float32Array[]): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  a.forEach((x, i) => x.forEach((v, j) => {
    abs = Math.max(abs, Math.abs(v - b[i]![j]!));
    scale = Math.max(scale, Math.abs(v));
  }));
  return { abs, scale };
}

describe.each(['cpu', 'wasm'] as const)('accumulate 4 micro-batches = one step at 4 × micro (4 × 32 = 128; 4 × 8 for the CNN on cpu) (%s)', (backend) => {
  it.each([['mlp', 'adam'], ['mlp', 'sgd'], ['cnn', 'adam'], ['cnn', 'sgd']] as const)('%s, %s', async (model, opt) => {
    const tf = await setupBackend(backend);
    // The pure-JS cpu backend trains the CNN at ~20 samples/s: 4 × 8 = 32 there, same check.
    const micro = backend === 'cpu' && model === 'cnn' ? 8 : 32;
    const big = await weightsAfter(tf, model, opt, 4 * micro, 1);
    const acc = await weightsAfter(tf, model, opt, micro, 4);
    // The rate follows the effective batch: 4 × micro / 32 × the base rate in both.
    expect(acc.lr).toBe(big.lr);
    expect(big.lr).toBeCloseTo(optimizers[opt].learningRate * (4 * micro) / 32, 12);
    // The step moved the weights by far more than the tolerance...
    const moved = maxDiff(big.after, big.before);
    expect(moved.abs).toBeGreaterThan(1e-4);
    // ...and both ways moved them to the same place, to float32 rounding.
    const d = maxDiff(acc.after, big.after);
    expect(d.abs).toBeLessThan(2e-6 * Math.max(1, d.scale));
    // The comparison can fail: other samples (4 × micro/2) give other weights.
    const other = await weightsAfter(tf, model, opt, micro / 2, 4);
    expect(maxDiff(other.after, big.after).abs).toBeGreaterThan(1e-5);
    // Memory is the micro-batch's (plus accumulators the size of the weights): below the big batch's.
    expect(acc.result.peakMemoryBytes).toBeLessThan(big.result.peakMemoryBytes);
    expect(acc.result.peakMemoryBytes).toBeGreaterThan(0);
  }, 240_000);
});

describe('accumulation bookkeeping', () => {
  it('an epoch has count / (accumulate × batch) optimizer steps, and each step counts accumulate × batch samples', async () => {
    const tf = await setupBackend('cpu');
    const m = buildModel(tf, models.mlp!, 1);
    const d = await data;
    const r = await train(tf, m, d, { batchSize: 16, accumulate: 4, epochs: 1, optimizer: optimizers.sgd, seed: 1, memoryLimit: null });
    m.dispose();
    expect(r.steps).toBe(Math.floor(d.train.count / 64));
    expect(r.history[0]!.steps).toBe(r.steps);
  }, 60_000);
});

describe('accumulation through the CLI', () => {
  it('train --accumulate 4 -b 32: the trial carries micro-batch, accumulate and effective batch; the rate follows 128', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const r = await runCli(['train', '--json', '--train-limit', '512', '--epochs', '1', '-b', '32', '--accumulate', '4'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const t = (JSON.parse(r.stdout) as { trials: Array<{ batchSize: number; accumulate: number; effectiveBatchSize: number; learningRate: number; scaledLearningRate: number; steps: number }> }).trials[0]!;
    expect(t).toMatchObject({ batchSize: 32, accumulate: 4, effectiveBatchSize: 128, steps: 4 });
    // The scaled rate follows the effective batch; learningRate is the peak reached, which
    // the one-epoch warmup holds below it in a 4-step run.
    expect(t.scaledLearningRate).toBeCloseTo(0.001 * 128 / 32, 12);
    expect(t.learningRate).toBeLessThan(t.scaledLearningRate);
  }, 90_000);
});
