/**
 * The gradient noise scale: the estimator against problems whose answer is known
 * exactly (synthetic gradients with a chosen covariance; every per-example gradient of
 * a tiny real model), and the measurement plan. Tolerances are statistical: a few
 * standard errors, computed from the draws themselves.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { estimateFromNorms, simpleNoiseScale, type NoiseBatch } from '../src/noise/scale.js';
import { noiseEveryEpochIsCheap, planNoise } from '../src/noise/plan.js';
import { measureGradientNoise } from '../src/train/noise.js';
import { compact, mulberry32, permutation } from '../src/data/split.js';
import { buildModel } from '../src/model/build.js';
import { loadDataset } from '../src/data/index.js';
import type { Tf } from '../src/tf.js';
import { train } from '../src/train/loop.js';
import { optimizerSchema } from '../src/config/schema.js';
import { runCli } from './helpers/cli.js';
import { noiseLine } from '../src/report/train-summary.js';
import type { TrialResult } from '../src/trial/protocol.js';

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sdOf = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - meanOf(xs)) ** 2, 0) / (xs.length - 1));

/** Standard normal draws from a seeded uniform stream (Box-Muller). */
function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

// Per-example gradients g = μ + A z, z ~ N(0, I): mean μ, covariance Σ = A Aᵀ, so
// |G|² = |μ|², tr(Σ) = Σ A_ij² and B_simple = tr(Σ)/|μ|² exactly.
const mu = [0.3, -0.2, 0.1, 0.05];
const A = [
  [0.9, 0.1, 0, 0.2],
  [0, 0.7, 0.3, 0],
  [0.4, 0, 0.5, 0.1],
  [0, 0.2, 0, 0.6],
];
const trueG2 = mu.reduce((a, m) => a + m * m, 0);
const trueTrace = A.flat().reduce((a, v) => a + v * v, 0);
const trueB = trueTrace / trueG2;

function syntheticExample(z: () => number): number[] {
  const zs = mu.map(() => z());
  return mu.map((m, i) => m + A[i]!.reduce((a, aij, j) => a + aij * zs[j]!, 0));
}

/** One big batch of examples split into small ones: their squared gradient norms. */
function normsOf(examples: number[][], small: number): NoiseBatch {
  const sq = (v: number[]) => v.reduce((a, x) => a + x * x, 0);
  const meanVec = (vs: number[][]) => vs[0]!.map((_, i) => meanOf(vs.map((v) => v[i]!)));
  const parts: number[] = [];
  for (let s = 0; s < examples.length; s += small) parts.push(sq(meanVec(examples.slice(s, s + small))));
  return { bigSqNorm: sq(meanVec(examples)), smallSqNorm: meanOf(parts) };
}

describe('the estimators of appendix A', () => {
  it('are exactly McCandlish et al.\'s formulas for draws with replacement', () => {
    const [bs, bb, gs, gb] = [8, 64, 2.5, 0.7];
    const e = estimateFromNorms(gs, gb, { smallBatch: bs, bigBatch: bb });
    expect(e.gradSqNorm).toBeCloseTo((bb * gb - bs * gs) / (bb - bs), 12);
    expect(e.traceSigma).toBeCloseTo((gs - gb) / (1 / bs - 1 / bb), 12);
  });

  it('recover |G|² and tr(Σ) from exact expectations, with and without a finite population', () => {
    const [bs, bb, N] = [4, 32, 100];
    const withRepl = estimateFromNorms(trueG2 + trueTrace / bs, trueG2 + trueTrace / bb, { smallBatch: bs, bigBatch: bb });
    expect(withRepl.gradSqNorm).toBeCloseTo(trueG2, 12);
    expect(withRepl.traceSigma).toBeCloseTo(trueTrace, 12);
    const f = (b: number) => (N - b) / (b * (N - 1));
    const finite = estimateFromNorms(trueG2 + trueTrace * f(bs), trueG2 + trueTrace * f(bb), { smallBatch: bs, bigBatch: bb, population: N });
    expect(finite.gradSqNorm).toBeCloseTo(trueG2, 12);
    expect(finite.traceSigma).toBeCloseTo(trueTrace, 12);
  });

  it('refuses sizes that cannot give an estimate', () => {
    expect(() => estimateFromNorms(1, 1, { smallBatch: 8, bigBatch: 8 })).toThrow(/small < big/);
    expect(() => simpleNoiseScale([], { smallBatch: 2, bigBatch: 8 })).toThrow(/no batches/);
    expect(() => estimateFromNorms(1, 1, { smallBatch: 2, bigBatch: 8, population: 4 })).toThrow(/population/);
  });
});

describe('synthetic gradients with a known covariance', () => {
  const [small, big] = [4, 32];
  const drawBatches = (n: number, z: () => number) =>
    Array.from({ length: n }, () => normsOf(Array.from({ length: big }, () => syntheticExample(z)), small));

  it('each single-batch estimate of |G|² and tr(Σ) is unbiased (the mean of many lands within 4 standard errors)', () => {
    const z = gaussian(1);
    const g2: number[] = [];
    const tr: number[] = [];
    for (const b of drawBatches(4000, z)) {
      const e = estimateFromNorms(b.smallSqNorm, b.bigSqNorm, { smallBatch: small, bigBatch: big });
      g2.push(e.gradSqNorm);
      tr.push(e.traceSigma);
    }
    expect(Math.abs(meanOf(g2) - trueG2)).toBeLessThan(4 * sdOf(g2) / Math.sqrt(g2.length));
    expect(Math.abs(meanOf(tr) - trueTrace)).toBeLessThan(4 * sdOf(tr) / Math.sqrt(tr.length));
    // The check has teeth: the tolerance on the mean is a small fraction of the values.
    expect(4 * sdOf(g2) / Math.sqrt(g2.length)).toBeLessThan(0.2 * trueG2);
    expect(4 * sdOf(tr) / Math.sqrt(tr.length)).toBeLessThan(0.05 * trueTrace);
  });

  it('B_simple converges to tr(Σ)/|G|² as batches accumulate, and its jackknife error matches the real spread', () => {
    const z = gaussian(2);
    const estimates: number[] = [];
    const errors: number[] = [];
    for (let rep = 0; rep < 40; rep++) {
      const e = simpleNoiseScale(drawBatches(200, z), { smallBatch: small, bigBatch: big });
      expect(e.bSimple).not.toBeNull();
      estimates.push(e.bSimple!);
      errors.push(e.bSimpleStdError!);
    }
    // 40 × 200 batches: the pooled mean is within 3 of its standard errors of the true B.
    expect(Math.abs(meanOf(estimates) - trueB)).toBeLessThan(3 * sdOf(estimates) / Math.sqrt(estimates.length) + 0.01 * trueB);
    // The reported standard error describes the scatter of repeated measurements.
    const ratio = meanOf(errors) / sdOf(estimates);
    expect(ratio).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThan(1.4);
    // More batches, less error: 2,000 batches land within 10% of the truth.
    const many = simpleNoiseScale(drawBatches(2000, z), { smallBatch: small, bigBatch: big });
    expect(Math.abs(many.bSimple! - trueB) / trueB).toBeLessThan(0.1);
    expect(many.bSimpleStdError!).toBeLessThan(meanOf(errors));
  });

  it('draws without replacement from a finite set need the population factor, and are exact with it', () => {
    const z = gaussian(3);
    const N = 64;
    const set = Array.from({ length: N }, () => syntheticExample(z));
    const setMean = mu.map((_, i) => meanOf(set.map((v) => v[i]!)));
    const g2 = setMean.reduce((a, m) => a + m * m, 0);
    const trace = meanOf(set.map((v) => v.reduce((a, x, i) => a + (x - setMean[i]!) ** 2, 0)));
    const withF = { g2: [] as number[], tr: [] as number[] };
    const without: number[] = [];
    for (let rep = 0; rep < 4000; rep++) {
      const order = permutation(N, 100 + rep);
      const b = normsOf(Array.from(order.subarray(0, big), (i) => set[i]!), small);
      const e = estimateFromNorms(b.smallSqNorm, b.bigSqNorm, { smallBatch: small, bigBatch: big, population: N });
      withF.g2.push(e.gradSqNorm);
      withF.tr.push(e.traceSigma);
      without.push(estimateFromNorms(b.smallSqNorm, b.bigSqNorm, { smallBatch: small, bigBatch: big }).gradSqNorm);
    }
    const se = (xs: number[]) => sdOf(xs) / Math.sqrt(xs.length);
    expect(Math.abs(meanOf(withF.tr) - trace)).toBeLessThan(4 * se(withF.tr));
    expect(Math.abs(meanOf(withF.g2) - g2)).toBeLessThan(4 * se(withF.g2));
    // Ignoring that the set is finite biases |G|² by −tr(Σ)/(N − 1): clearly visible here.
    expect(g2 - meanOf(without)).toBeGreaterThan(6 * se(without));
    expect(Math.abs(g2 - trace / (N - 1) - meanOf(without))).toBeLessThan(4 * se(without));
  });
});

describe('a tiny real model: the measurement against every per-example gradient', () => {
  it('mean |G|² and tr(Σ) over many seeded measurements match the exact values within statistical tolerance', async () => {
    await tf.setBackend('cpu');
    const data = await loadDataset({ source: 'embedded', validationSplit: 0.2, trainLimit: 96 }, { seed: 42 });
    const split = compact(data.train);
    const model = buildModel(tf as unknown as Tf, { kind: 'mlp', hidden: [3] }, 7);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    // Every per-example gradient, flattened.
    const per: Float64Array[] = [];
    for (let i = 0; i < split.count; i++) {
      const flat = tf.tidy(() => {
        const x = tf.tensor(Array.from(split.images.subarray(i * 784, (i + 1) * 784), (p) => p / 255), [1, 784]);
        const y = tf.oneHot(tf.tensor1d([split.labels[i]!], 'int32'), 10);
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, vars);
        return tf.concat(vars.map((v) => grads[v.name]!.flatten()));
      });
      per.push(Float64Array.from(flat.dataSync()));
      flat.dispose();
    }
    const dim = per[0]!.length;
    const G = new Float64Array(dim);
    for (const g of per) for (let k = 0; k < dim; k++) G[k]! += g[k]! / per.length;
    const exactG2 = G.reduce((a, v) => a + v * v, 0);
    const exactTrace = meanOf(per.map((g) => g.reduce((a, v, k) => a + (v - G[k]!) ** 2, 0)));

    const plan = { smallBatch: 4, bigBatch: 24, batches: 4 };
    const g2: number[] = [];
    const tr: number[] = [];
    for (let seed = 0; seed < 40; seed++) {
      const m = await measureGradientNoise(tf as unknown as Tf, model, split, plan, seed);
      // population defaults to the set: draws without replacement, corrected exactly.
      g2.push(m.gradSqNorm);
      tr.push(m.traceSigma);
    }
    const tol = (xs: number[]) => 4 * sdOf(xs) / Math.sqrt(xs.length) + 1e-4 * Math.abs(meanOf(xs));
    expect(Math.abs(meanOf(g2) - exactG2)).toBeLessThan(tol(g2));
    expect(Math.abs(meanOf(tr) - exactTrace)).toBeLessThan(tol(tr));
    // The estimator is informative here, not a 0 ± everything: the tolerance is a fraction of the value.
    expect(tol(tr)).toBeLessThan(0.25 * exactTrace);
    expect(tol(g2)).toBeLessThan(0.5 * exactG2);
    // And the weights were left alone.
    const again = await measureGradientNoise(tf as unknown as Tf, model, split, plan, 0);
    expect(again.gradSqNorm).toBeCloseTo(g2[0]!, 6);
  }, 60_000);
});

describe('the measurement plan', () => {
  it('uses 32 and 512 on a large set, and shrinks for a small one', () => {
    expect(planNoise(8000)).toEqual({ smallBatch: 32, bigBatch: 512, batches: 6 });
    expect(planNoise(800)).toEqual({ smallBatch: 32, bigBatch: 256, batches: 3 });
    expect(planNoise(300)).toEqual({ smallBatch: 32, bigBatch: 128, batches: 2 });
    expect(planNoise(20)).toEqual({ smallBatch: 2, bigBatch: 8, batches: 2 });
    expect(noiseEveryEpochIsCheap(planNoise(48000)!, 48000)).toBe(true);
    expect(noiseEveryEpochIsCheap(planNoise(8000)!, 8000)).toBe(false);
    expect(planNoise(3)).toBeNull();
    for (const n of [5, 17, 64, 100, 1000, 5000]) {
      const p = planNoise(n)!;
      expect(p.bigBatch % p.smallBatch).toBe(0);
      expect(p.bigBatch).toBeGreaterThan(p.smallBatch);
      expect(p.batches * p.bigBatch).toBeLessThanOrEqual(n);
    }
  });
});

describe('measured during training', () => {
  it('at the start and end (and per epoch on request), without changing the training run', async () => {
    await tf.setBackend('cpu');
    const data = await loadDataset({ source: 'embedded', validationSplit: 0.2, trainLimit: 512 }, { seed: 42 });
    const run = async (noise: boolean) => {
      const model = buildModel(tf as unknown as Tf, { kind: 'mlp', hidden: [8] }, 42);
      const r = await train(tf as unknown as Tf, model, data, {
        batchSize: 32, epochs: 2, optimizer: optimizerSchema.parse({}), seed: 42, memoryLimit: null,
        ...(noise ? { noise: planNoise(data.train.count)!, noiseEveryEpoch: true } : {}),
      });
      model.dispose();
      return r;
    };
    const [plain, measured] = [await run(false), await run(true)];
    expect(plain.gradientNoiseScale).toBeNull();
    const g = measured.gradientNoiseScale!;
    expect(g.points.map((p) => p.epoch)).toEqual([0, 1, 2]);
    expect(g.initial).toBe(g.points[0]!.bSimple);
    expect(g.final).toBe(g.points[2]!.bSimple);
    expect(g.initial).toBeGreaterThan(0);
    expect(g.initialStdError).toBeGreaterThan(0);
    // Its own draws and no weight changes: the training run is the same with or without it.
    expect(measured.history.map((h) => [h.trainLoss, h.valLoss])).toEqual(plain.history.map((h) => [h.trainLoss, h.valLoss]));
    expect(g.seconds).toBeGreaterThan(0);
  }, 60_000);

  it('train --json reports gradientNoiseScale {initial, final} in samples; the table has the line', async () => {
    const r = await runCli(['train', '--json', '--backend', 'wasm', '--train-limit', '600', '--epochs', '1', '-b', '32'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const t = (JSON.parse(r.stdout) as { trials: { gradientNoiseScale: { initial: number; final: number; smallBatch: number; bigBatch: number } }[] }).trials[0]!;
    expect(t.gradientNoiseScale.initial).toBeGreaterThan(1);
    expect(t.gradientNoiseScale.final).toBeGreaterThan(1);
    expect(t.gradientNoiseScale.bigBatch).toBeGreaterThan(t.gradientNoiseScale.smallBatch);
    expect(noiseLine(t as unknown as TrialResult).join('\n')).toMatch(/noise scale B_simple \d+ ± [\d.]+ samples at the start → \d+ ± [\d.]+ at the end/);
  }, 120_000);
});
