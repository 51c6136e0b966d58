import type { Tf, Tensor, LayersModel } from '../tf.js';
import type { Split } from '../data/types.js';
import type { Variable } from '@tensorflow/tfjs';
import { BatchFiller } from './batches.js';
import { permutation } from '../data/split.js';
import { simpleNoiseScale, type NoiseBatch, type NoiseEstimate } from '../noise/scale.js';
import type { NoisePlan } from '../noise/plan.js';

export interface NoiseMeasurement extends NoiseEstimate {
  seconds: number;
}

/**
 * Squared gradient norms of the training loss at the current weights, for `plan.batches`
 * disjoint big batches drawn from a seeded permutation of `split`, each split into small
 * batches: the gradient of a small batch is taken once, and the big batch's gradient is
 * the mean of its small ones (the loss is a mean), so the measurement costs one
 * forward/backward pass per sample at the small batch size. Weights are not changed.
 * `indices` replaces the seeded draw (tests: draws with replacement).
 */
export async function measureGradientNoise(
  tf: Tf, model: LayersModel, split: Split, plan: NoisePlan, seed: number,
  opts: { indices?: ArrayLike<number>; population?: number | null } = {},
): Promise<NoiseMeasurement> {
  const t0 = performance.now();
  const { smallBatch, bigBatch, batches } = plan;
  const parts = bigBatch / smallBatch;
  if (!Number.isInteger(parts)) throw new RangeError(`noise plan: big batch ${bigBatch} is not a multiple of ${smallBatch}`);
  const order = opts.indices ?? permutation(split.count, seed);
  const filler = new BatchFiller(split, smallBatch);
  const channels = model.inputs[0]!.shape.length === 4;
  const xShape = channels ? [smallBatch, 28, 28, 1] : [smallBatch, 784];
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  const measured: NoiseBatch[] = [];
  for (let b = 0; b < batches; b++) {
    let sum: Tensor[] | null = null;
    let smallSq = 0;
    for (let p = 0; p < parts; p++) {
      filler.fill(order, b * bigBatch + p * smallBatch);
      const previous: Tensor[] | null = sum;
      const out: Tensor[] = tf.tidy((): Tensor[] => {
        const x = tf.tensor(filler.x, xShape);
        const labels = tf.tensor1d(filler.y, 'int32');
        const y = tf.oneHot(labels, 10);
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as Tensor) as import('@tensorflow/tfjs').Scalar, vars);
        const g = vars.map((v) => grads[v.name]!);
        const sq = tf.addN(g.map((t) => tf.sum(tf.square(t))));
        return [sq, ...(previous ? g.map((t, i) => tf.add(previous[i]!, t)) : g)];
      });
      if (previous) tf.dispose(previous);
      const [sq, ...next]: Tensor[] = out;
      sum = next;
      smallSq += (await sq!.data())[0]!;
      sq!.dispose();
    }
    const big = tf.tidy(() => tf.addN(sum!.map((t) => tf.sum(tf.square(tf.div(t, parts))))));
    const bigSq = (await big.data())[0]!;
    tf.dispose([big, ...sum!]);
    measured.push({ bigSqNorm: bigSq, smallSqNorm: smallSq / parts });
  }
  const population = opts.population === null ? undefined : (opts.population ?? (opts.indices ? undefined : split.count));
  const est = simpleNoiseScale(measured, { smallBatch, bigBatch, ...(population !== undefined ? { population } : {}) });
  return { ...est, seconds: (performance.now() - t0) / 1000 };
}
