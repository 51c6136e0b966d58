import type { Tf, Tensor, LayersModel } from '../tf.js';
import type { Split } from '../data/types.js';
import type { Variable } from '@tensorflow/tfjs';
import { BatchFiller } from './batches.js';
import { permutation } from '../data/split.js';
import { simpleNoiseScale, type NoiseBatch, type NoiseEstimate } from '../noise/scale.js';
import type { NoisePlan } from '../noise/plan.js';
import type { IoPlan } from '../model/shapes.js';
import { labelTensor, lossOf } from './objective.js';
import { readScalars } from './reads.js';
import { fuseConvBiasRelu } from '../backend/kernels/fuse-conv-layers.js';
import { DirectStep } from './direct/runner.js';

/** The built-in models' batch shape and loss: MNIST digits, 10 logits, softmax cross-entropy. */
const MNIST_LOGITS: IoPlan = { xShape: [784], outputSize: 10, loss: 'sparseCategoricalCrossentropy', fromLogits: true, labels: 'sparse', accuracy: 'argmax' };

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
  opts: { indices?: ArrayLike<number>; population?: number | null; io?: IoPlan } = {},
): Promise<NoiseMeasurement> {
  fuseConvBiasRelu(model);
  const t0 = performance.now();
  const { smallBatch, bigBatch, batches } = plan;
  const parts = bigBatch / smallBatch;
  if (!Number.isInteger(parts)) throw new RangeError(`noise plan: big batch ${bigBatch} is not a multiple of ${smallBatch}`);
  const order = opts.indices ?? permutation(split.count, seed);
  const filler = new BatchFiller(split, smallBatch);
  // The same batch shape and loss as training (the data's shape, the configured loss).
  const io = opts.io ?? (model.inputs[0]!.shape.length === 4 ? { ...MNIST_LOGITS, xShape: [28, 28, 1] } : MNIST_LOGITS);
  const xShape = [smallBatch, ...io.xShape];
  const vars = model.trainableWeights.map((w) => w.read() as Variable);
  // The tape's kernels without the tape when it knows the model (the same gradients, bit for bit).
  const direct = DirectStep.of(model, io);
  const measured: NoiseBatch[] = [];
  for (let b = 0; b < batches; b++) {
    let sum: Tensor[] | null = null;
    // Each small batch's squared norm stays on the device until its big batch is done:
    // one read per big batch, not one per small batch (on a GPU each read is a round trip).
    const smallSqs: Tensor[] = [];
    for (let p = 0; p < parts; p++) {
      filler.fill(order, b * bigBatch + p * smallBatch);
      const previous: Tensor[] | null = sum;
      const out: Tensor[] = tf.tidy((): Tensor[] => {
        const tape = (): Record<string, Tensor> => {
          const x = tf.tensor(filler.x, xShape);
          const labels = labelTensor(tf, io, filler.y, smallBatch);
          return tf.variableGrads(() => lossOf(tf, io, labels, model.apply(x, { training: true }) as Tensor), vars).grads;
        };
        const grads = direct?.gradientTensors(filler.x, filler.y, smallBatch)?.grads ?? tape();
        const g = vars.map((v) => grads[v.name]!);
        const sq = tf.addN(g.map((t) => tf.sum(tf.square(t))));
        return [sq, ...(previous ? g.map((t, i) => tf.add(previous[i]!, t)) : g)];
      });
      if (previous) tf.dispose(previous);
      const [sq, ...next]: Tensor[] = out;
      sum = next;
      smallSqs.push(sq!);
    }
    const big = tf.tidy(() => tf.addN(sum!.map((t) => tf.sum(tf.square(tf.div(t, parts))))));
    tf.dispose(sum!);
    const values = await readScalars(tf, [...smallSqs, big]);
    const bigSq = values.pop()!;
    let smallSq = 0;
    for (const v of values) smallSq += v;
    measured.push({ bigSqNorm: bigSq, smallSqNorm: smallSq / parts });
  }
  const population = opts.population === null ? undefined : (opts.population ?? (opts.indices ? undefined : split.count));
  const est = simpleNoiseScale(measured, { smallBatch, bigBatch, ...(population !== undefined ? { population } : {}) });
  return { ...est, seconds: (performance.now() - t0) / 1000 };
}
