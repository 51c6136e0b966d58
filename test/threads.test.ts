/**
 * Data parallelism inside a trial (training.threads): 2 replicas (this thread and a
 * worker thread, each its own wasm backend) must make the same update as one thread, up
 * to float summation order, for the MLP and the CNN with Adam and SGD; the replicas must
 * stay bit-identical; the same thread count must repeat exactly; a throwing worker must
 * end the run with its message, not hang. Real wasm backend, real digits, tiny models.
 */
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { train, type StepEvent, type TrainOptions } from '../src/train/loop.js';
import { learningRateAt } from '../src/train/schedule.js';
import { buildModel } from '../src/model/build.js';
import { loadDataset } from '../src/data/index.js';
import { optimizerSchema, type ModelConfig } from '../src/config/schema.js';
import { shardOf } from '../src/train/parallel/layout.js';

const data = loadDataset({ source: 'embedded', validationSplit: 0.01, trainLimit: 512 }, { seed: 3 });

const models: Record<string, ModelConfig> = {
  mlp: { kind: 'mlp', hidden: [16] },
  cnn: { kind: 'cnn', filters: [2, 4], kernelSize: 5, poolSize: 2, dense: [] },
};
const optimizers = {
  adam: optimizerSchema.parse({ name: 'adam', learningRate: 0.001, baseBatchSize: 32, scaling: 'none', warmup: { steps: 0 } }),
  sgd: optimizerSchema.parse({ name: 'sgd', momentum: 0.9, learningRate: 0.05, baseBatchSize: 32, scaling: 'none', warmup: { steps: 0 } }),
};

async function run(model: keyof typeof models, opt: keyof typeof optimizers, threads: number, extra: Partial<TrainOptions> & { batchSize?: number; steps?: number; wholeBatches?: boolean } = {}) {
  const tf = await setupBackend('wasm');
  const d = await data;
  const m = buildModel(tf, models[model]!, 11);
  const before = m.getWeights().map((w) => Float32Array.from(w.dataSync()));
  let replicas: Float32Array[] = [];
  const losses: number[] = [];
  const { batchSize = 37, steps = 3, wholeBatches, ...rest } = extra;
  try {
    const r = await train(tf, m, d, {
      batchSize, epochs: 1, maxSteps: steps, optimizer: optimizers[opt], seed: 5, memoryLimit: null,
      onStep: (e) => losses.push(e.loss),
      threads: {
        count: threads,
        recipe: { backend: 'wasm', model: models[model]!, seed: 11, data: { sampleShape: d.sampleShape, labelShape: d.labelShape, numClasses: d.numClasses, origin: d.origin } },
        onReplicaWeights: (w) => { replicas = w; },
        ...(wholeBatches ? { wholeBatches } : {}),
      },
      ...rest,
    });
    const after = m.getWeights().map((w) => Float32Array.from(w.dataSync()));
    return { before, after, replicas, losses, result: r };
  } finally {
    m.dispose();
  }
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

describe('shards', () => {
  it('cover the batch once, sizes differ by at most one', () => {
    for (const [batch, count] of [[37, 2], [128, 2], [5, 3], [1, 2], [512, 7]] as const) {
      const sizes = Array.from({ length: count }, (_, r) => shardOf(batch, count, r));
      expect(sizes[0]!.start).toBe(0);
      expect(sizes[count - 1]!.end).toBe(batch);
      sizes.forEach((s, r) => { if (r > 0) expect(s.start).toBe(sizes[r - 1]!.end); });
      const n = sizes.map((s) => s.end - s.start);
      expect(Math.max(...n) - Math.min(...n)).toBeLessThanOrEqual(1);
    }
  });
});

// Batch 37: uneven shards (18 + 19), so the size-weighted average is what is checked.
describe.each([['mlp', 'adam'], ['mlp', 'sgd'], ['cnn', 'adam'], ['cnn', 'sgd']] as const)('2 threads = 1 thread (%s, %s, wasm)', (model, opt) => {
  it('same update up to summation order; replicas identical; the same thread count repeats exactly', async () => {
    const one = await run(model, opt, 1);
    const two = await run(model, opt, 2);
    expect(one.result.threads).toBe(1);
    expect(two.result.threads).toBe(2);
    // Three steps moved the weights by far more than the tolerance...
    expect(maxDiff(one.after, one.before).abs).toBeGreaterThan(1e-4);
    // ...and both ways to the same place, to float32 rounding (Adam divides by √v, which
    // magnifies rounding where a gradient is near zero, hence the looser bound there).
    const d = maxDiff(two.after, one.after);
    expect(d.abs).toBeLessThan((opt === 'adam' ? 2e-5 : 2e-6) * Math.max(1, d.scale));
    two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 5));
    // Every replica holds the same bits as the main thread's model.
    expect(two.replicas).toHaveLength(2);
    expect(Buffer.from(two.replicas[1]!.buffer).equals(Buffer.from(two.replicas[0]!.buffer))).toBe(true);
    const flat = new Float32Array(two.after.reduce((a, w) => a + w.length, 0));
    let off = 0;
    for (const w of two.after) { flat.set(w, off); off += w.length; }
    expect(Buffer.from(flat.buffer).equals(Buffer.from(two.replicas[0]!.buffer))).toBe(true);
    // Repeats exactly with the same thread count.
    const again = await run(model, opt, 2);
    expect(maxDiff(again.after, two.after).abs).toBe(0);
    // Peak memory counts both replicas (and the shared buffers): above one thread's baseline.
    expect(two.result.peakMemoryBytes).toBeGreaterThan(one.result.memoryBaselineBytes * 2);
    expect(two.result.memorySource).toMatch(/summed over 2 training threads/);
    // Exactly: the worker's replica adds one copy of the weights (the optimizer state is in one
    // replica either way), give or take the optimizers' scalars; it held a second copy, the
    // initial weights it was sent, for the whole run.
    const weightBytes = one.before.reduce((a, w) => a + w.byteLength, 0);
    const extra = two.result.memoryBaselineBytes - one.result.memoryBaselineBytes - weightBytes;
    expect(extra).toBeGreaterThanOrEqual(0);
    expect(extra).toBeLessThan(64);
  }, 120_000);
});

describe('threads with accumulation', () => {
  it('2 threads × accumulate 2 = 1 thread × accumulate 2 (CNN, Adam)', async () => {
    const one = await run('cnn', 'adam', 1, { accumulate: 2, batchSize: 16, steps: 2 });
    const two = await run('cnn', 'adam', 2, { accumulate: 2, batchSize: 16, steps: 2 });
    const d = maxDiff(two.after, one.after);
    expect(maxDiff(one.after, one.before).abs).toBeGreaterThan(1e-4);
    expect(d.abs).toBeLessThan(2e-5 * Math.max(1, d.scale));
  }, 120_000);
});

// In-memory data: each worker's shard is written into shared memory and the main thread
// fills its own after the post; whole batches (as for rows read from a file) go through
// shared memory first. The same samples reach the same replicas, so the bits agree.
describe('shards filled in place', () => {
  it.each([
    ['3 threads, batch 37 (12 + 12 + 13)', 3, { batchSize: 37 }],
    ['2 threads, accumulate 2 of 16', 2, { batchSize: 16, accumulate: 2 }],
  ] as const)('%s: the same bits as whole batches through shared memory', async (_name, threads, extra) => {
    const direct = await run('cnn', 'adam', threads, { ...extra, steps: 3 });
    const whole = await run('cnn', 'adam', threads, { ...extra, steps: 3, wholeBatches: true });
    expect(maxDiff(direct.after, direct.before).abs).toBeGreaterThan(1e-4);
    expect(maxDiff(direct.after, whole.after).abs).toBe(0);
    expect(direct.losses).toEqual(whole.losses);
    expect(direct.replicas).toHaveLength(threads);
    for (const r of direct.replicas) expect(Buffer.from(r.buffer).equals(Buffer.from(direct.replicas[0]!.buffer))).toBe(true);
  }, 120_000);
});

// The applier (worker 1) applies each update while the main thread returns to the loop;
// the main thread's model takes its weights at the next step, and before validation.
describe("the main thread's model between steps", () => {
  it('validation after each epoch sees every update: 2 epochs, the same losses as one thread', async () => {
    const one = await run('cnn', 'adam', 1, { maxSteps: undefined, epochs: 2 });
    const two = await run('cnn', 'adam', 2, { maxSteps: undefined, epochs: 2 });
    expect(two.result.history).toHaveLength(2);
    expect(two.result.steps).toBe(one.result.steps);
    expect(one.result.steps).toBeGreaterThan(20);
    two.result.history.forEach((h, i) => {
      const o = one.result.history[i]!;
      expect(h.valLoss).toBeCloseTo(o.valLoss, 5);
      expect(h.trainEvalLoss!).toBeCloseTo(o.trainEvalLoss!, 5);
    });
    expect(Buffer.from(two.replicas[1]!.buffer).equals(Buffer.from(two.replicas[0]!.buffer))).toBe(true);
  }, 120_000);
});

// Under threads the applier (a worker) applies every update; this thread's optimizer applies
// nothing and no longer takes the rate, so a trace of it would read step 0's rate throughout.
describe('the learning-rate trace with training threads', () => {
  it("reads the applier's optimizer: SGD warmup rising step by step, the same trace as one thread", async () => {
    const sgd = optimizerSchema.parse({ name: 'sgd', momentum: 0.9, learningRate: 0.02, baseBatchSize: 8, scaling: 'linear', warmup: { steps: 4 } });
    const trace = async (threads: number): Promise<StepEvent[]> => {
      const events: StepEvent[] = [];
      await run('mlp', 'sgd', threads, { optimizer: sgd, steps: 6, traceLearningRate: true, onStep: (e) => events.push(e) });
      return events;
    };
    const one = await trace(1);
    const two = await trace(2);
    expect(two).toHaveLength(6);
    const d = await data;
    two.forEach((e, i) => {
      const want = learningRateAt(sgd, { batchSize: 37, stepsPerEpoch: Math.floor(d.train.count / 37), totalSteps: 6, step: i });
      expect(e.learningRate).toBe(want);
      // SGD's update multiplies by a float32 scalar: the rate read back is that, rounded.
      expect(Math.abs(e.optimizerLearningRate! - want)).toBeLessThanOrEqual(want * 1e-6);
      expect(e.optimizerLearningRate).toBe(one[i]!.optimizerLearningRate);
    });
    for (let i = 1; i < 4; i++) expect(two[i]!.optimizerLearningRate!).toBeGreaterThan(two[i - 1]!.optimizerLearningRate!);
  }, 120_000);
});

describe('a failing worker thread', () => {
  it('ends the run with its message (no hang)', async () => {
    const t0 = performance.now();
    const tf = await setupBackend('wasm');
    const d = await data;
    const m = buildModel(tf, models.mlp!, 11);
    await expect(train(tf, m, d, {
      batchSize: 32, epochs: 1, maxSteps: 5, optimizer: optimizers.sgd, seed: 5, memoryLimit: null,
      threads: { count: 2, recipe: { backend: 'wasm', model: models.mlp!, seed: 11, data: { sampleShape: d.sampleShape, labelShape: d.labelShape, numClasses: d.numClasses, origin: d.origin } }, failAt: { rank: 1, step: 3 } },
    })).rejects.toThrow(/training thread 2 of 2 failed: injected failure in training thread 2 at step 3/);
    m.dispose();
    expect(performance.now() - t0).toBeLessThan(60_000);
  }, 90_000);
});

describe('how many threads (pure)', () => {
  it('default: the cores shared among the trials run at once; wasm only; capped to the cores', async () => {
    const { planThreads, cgroupCpuLimit } = await import('../src/trial/threads.js');
    expect(planThreads({ configured: null, backend: 'wasm', cores: 2, slots: 1 })).toEqual({ threads: 2, note: null });
    expect(planThreads({ configured: null, backend: 'wasm', cores: 2, slots: 2 })).toEqual({ threads: 1, note: null });
    expect(planThreads({ configured: null, backend: 'wasm', cores: 8, slots: 3 })).toEqual({ threads: 2, note: null });
    expect(planThreads({ configured: null, backend: 'wasm', cores: 1, slots: 4 })).toEqual({ threads: 1, note: null });
    expect(planThreads({ configured: 1, backend: 'wasm', cores: 8, slots: 1 })).toEqual({ threads: 1, note: null });
    expect(planThreads({ configured: 4, backend: 'wasm', cores: 2, slots: 1 }).threads).toBe(2);
    expect(planThreads({ configured: 4, backend: 'wasm', cores: 2, slots: 1 }).note).toMatch(/capped to 2/);
    expect(planThreads({ configured: null, backend: 'cpu', cores: 8, slots: 1 })).toEqual({ threads: 1, note: null });
    expect(planThreads({ configured: 2, backend: 'webgpu', cores: 8, slots: 1 }).note).toMatch(/applies to the wasm backend; webgpu trains on one thread/);
    // The note names what the user set: the flag when it came from the command line.
    expect(planThreads({ configured: 2, backend: 'cpu', cores: 8, slots: 1 }).note).toMatch(/^training\.threads 2 applies/);
    expect(planThreads({ configured: 2, backend: 'cpu', cores: 8, slots: 1, setting: '--threads' }).note).toMatch(/^--threads 2 applies to the wasm backend; cpu trains on one thread$/);
    // The default splits a batch only where each shard has enough work; an explicit count is kept.
    const { modelMacs } = await import('../src/trial/threads.js');
    const cnn = modelMacs([{ params: 208, outputShape: [null, 24, 24, 8] }, { params: 0, outputShape: [null, 12, 12, 8] }, { params: 3216, outputShape: [null, 8, 8, 16] }, { params: 2570, outputShape: [null, 10] }]);
    expect(cnn).toBe(208 * 576 + 3216 * 64 + 2570);
    const mlp = modelMacs([{ params: 7850, outputShape: [null, 10] }, { params: 110, outputShape: [null, 10] }]);
    expect(mlp).toBe(7960);
    const plan = (batch: number, macsPerSample: number, configured: number | null = null) => planThreads({ configured, backend: 'wasm', cores: 2, slots: 1, work: { batch, macsPerSample } }).threads;
    expect([32, 64, 91, 92, 128, 512].map((b) => plan(b, cnn))).toEqual([1, 1, 1, 2, 2, 2]);
    expect([32, 128, 512, 1024].map((b) => plan(b, mlp))).toEqual([1, 1, 1, 1]);
    // README: the seed MLP gets 2 threads from batch 3,769 on (each shard then has 15 M multiply-adds).
    expect([3768, 3769, 4096].map((b) => plan(b, mlp))).toEqual([1, 2, 2]);
    expect(plan(32, mlp, 2)).toBe(2);
    expect(cgroupCpuLimit('max 100000\n')).toBeNull();
    expect(cgroupCpuLimit('200000 100000\n')).toBe(2);
    expect(cgroupCpuLimit('150000 100000')).toBe(1);
    expect(cgroupCpuLimit('50000 100000')).toBe(1);
    expect(cgroupCpuLimit('garbage')).toBeNull();
  });
});

describe('threads through the CLI (wasm)', () => {
  it('train --threads 2: the trial records 2 threads, trains, and counts both replicas in its memory', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const r = await runCli(['train', '--json', '--backend', 'wasm', '--train-limit', '512', '--epochs', '1', '-b', '64', '--threads', '2'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const t = (JSON.parse(r.stdout) as { trials: Array<{ threads: number; outcome: string; memorySource: string; valAccuracy: number }> }).trials[0]!;
    expect(t).toMatchObject({ threads: 2, outcome: 'ok' });
    expect(t.memorySource).toMatch(/summed over 2 training threads/);
  }, 90_000);

  it('a training thread that throws fails the trial with its message (exit 1, no hang)', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const r = await runCli(['train', '--json', '--backend', 'wasm', '--train-limit', '512', '--epochs', '1', '-b', '64', '--threads', '2'], { timeoutMs: 90_000, env: { BSTUNE_TEST_FAULT: 'thread:1' } });
    expect(r.code, r.stderr).toBe(1);
    const t = (JSON.parse(r.stdout) as { trials: Array<{ threads: number; outcome: string; reason: string }> }).trials[0]!;
    expect(t).toMatchObject({ threads: 2, outcome: 'error' });
    expect(t.reason).toMatch(/training thread 2 of 2 failed: .*injected failure/);
  }, 90_000);

  it('user models on 2 threads: a createModel module (train) and a Keras model.json (find-max); peak memory sums the replicas', async () => {
    const { runCli, repoRoot } = await import('./helpers/cli.js');
    const { join } = await import('node:path');
    const examples = join(repoRoot, 'configs', 'examples');
    const mod = await runCli(['train', '-c', join(examples, 'module-model.yaml'), '--json', '--backend', 'wasm', '--train-limit', '512', '--epochs', '1', '-b', '64', '--threads', '2'], { timeoutMs: 120_000 });
    expect(mod.code, mod.stderr).toBe(0);
    expect((JSON.parse(mod.stdout) as { trials: Array<{ threads: number; outcome: string }> }).trials[0]).toMatchObject({ threads: 2, outcome: 'ok' });
    const fm = await runCli(['find-max', '-c', join(examples, 'cnn-model.yaml'), '--json', '--backend', 'wasm', '--train-limit', '256', '--start', '128', '--min', '64', '--steps', '3', '--threads', '2'], { timeoutMs: 120_000 });
    expect(fm.code, fm.stderr).toBe(0);
    const trials = (JSON.parse(fm.stdout) as { trials: Array<{ threads: number; outcome: string; peakMemoryBytes: number; memorySource: string }> }).trials;
    expect(trials.length).toBeGreaterThan(0);
    for (const t of trials) {
      expect(t).toMatchObject({ threads: 2, outcome: 'ok' });
      expect(t.memorySource).toMatch(/summed over 2 training threads/);
    }
  }, 240_000);

  it('--threads 2 on the cpu backend: one thread, said on stderr', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const r = await runCli(['train', '--backend', 'cpu', '--train-limit', '256', '--epochs', '1', '-b', '64', '--threads', '2'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: --threads 2 applies to the wasm backend; cpu trains on one thread/);
    // With --json stderr stays quiet, and the document carries the warning instead of losing it.
    const j = await runCli(['train', '--backend', 'cpu', '--train-limit', '256', '--epochs', '1', '-b', '64', '--threads', '2', '--json'], { timeoutMs: 90_000 });
    expect(j.code, j.stderr).toBe(0);
    expect(j.stderr).toBe('');
    const doc = JSON.parse(j.stdout) as { warnings: string[]; trials: { threads: number }[] };
    expect(doc.warnings[0]).toBe('--threads 2 applies to the wasm backend; cpu trains on one thread');
    expect(doc.trials[0]!.threads).toBe(1);
  }, 180_000);
});
