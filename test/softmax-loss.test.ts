// The training loss for logits (softmax cross-entropy, mean over the batch) is one
// custom-gradient op: its value and its gradient must be the same bits as
// tf.losses.softmaxCrossEntropy's on each backend, for class indices and one-hot labels.
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { lossOf } from '../src/train/objective.js';
import type { IoPlan } from '../src/model/shapes.js';
import type { Tensor } from '../src/tf.js';

const sparse: IoPlan = { xShape: [4], outputSize: 10, loss: 'sparseCategoricalCrossentropy', fromLogits: true, labels: 'sparse', accuracy: 'argmax' };
const onehot: IoPlan = { ...sparse, loss: 'categoricalCrossentropy', labels: 'oneHot' };
const bits = (t: Tensor): number[] => [...new Int32Array(Float32Array.from(t.dataSync() as Float32Array).buffer)];

describe('softmax cross-entropy from logits', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: value and logits gradient equal tf.losses.softmaxCrossEntropy bit for bit (batches 1, 37, 512; indices and one-hot)`, async () => {
      const tf = await setupBackend(backend);
      for (const rows of [1, 37, 512]) {
        for (const plan of [sparse, onehot]) {
          const logits = tf.variable(tf.randomNormal([rows, 10], 0, 4, 'float32', rows));
          const idx = tf.tensor1d(Array.from({ length: rows }, (_, i) => (i * 7 + 3) % 10), 'int32');
          const labels = plan.labels === 'sparse' ? idx : tf.cast(tf.oneHot(idx, 10), 'float32');
          const ours = tf.variableGrads(() => lossOf(tf, plan, labels, logits) as never, [logits]);
          const ref = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(idx, 10), logits) as never, [logits]);
          expect(bits(ours.value)).toEqual(bits(ref.value));
          expect(bits(ours.grads[logits.name]!)).toEqual(bits(ref.grads[logits.name]!));
          tf.dispose([logits, idx, labels, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
        }
      }
    });
  }
});
