import type { Tf, Tensor } from '../tf.js';
import type { IoPlan } from '../model/shapes.js';

type Scalar = import('@tensorflow/tfjs').Scalar;

/** The labels of a batch as the tensor the loss needs (indices for the softmax losses, else floats). */
export function labelTensor(tf: Tf, plan: IoPlan, y: Int32Array | Float32Array, size: number): Tensor {
  if (plan.labels === 'target') return tf.tensor2d(y.subarray(0, size * plan.outputSize), [size, plan.outputSize], 'float32');
  const idx = tf.tensor1d(y.subarray(0, size), 'int32');
  if (plan.labels === 'sparse') return idx;
  return tf.tidy(() => (plan.labels === 'value' ? tf.reshape(tf.cast(idx, 'float32'), [size, 1]) : tf.cast(tf.oneHot(idx, plan.outputSize), 'float32')));
}

/**
 * Mean loss over the batch for the configured loss. Logits go through the fused
 * softmax/sigmoid cross-entropy (numerically safer); probabilities through Keras's
 * clipped formulas (tf.metrics), as Keras would train the same model.
 */
export function lossOf(tf: Tf, plan: IoPlan, labels: Tensor, out: Tensor): Scalar {
  const dense = plan.labels === 'sparse' ? tf.oneHot(labels, plan.outputSize) : labels;
  switch (plan.loss) {
    case 'categoricalCrossentropy':
    case 'sparseCategoricalCrossentropy':
      return (plan.fromLogits ? tf.losses.softmaxCrossEntropy(dense, out) : tf.mean(tf.metrics.categoricalCrossentropy(dense, out))) as Scalar;
    case 'binaryCrossentropy':
      return (plan.fromLogits ? tf.losses.sigmoidCrossEntropy(dense, out) : tf.mean(tf.metrics.binaryCrossentropy(dense, out))) as Scalar;
    case 'meanSquaredError':
      return tf.losses.meanSquaredError(dense, out) as Scalar;
  }
}

/** Correct predictions in the batch, as a float scalar; 0 when accuracy does not apply (regression). */
export function correctOf(tf: Tf, plan: IoPlan, labels: Tensor, out: Tensor): Tensor {
  if (plan.accuracy === 'none') return tf.scalar(0);
  if (plan.accuracy === 'threshold') {
    const cut = plan.fromLogits ? 0 : 0.5;
    return tf.sum(tf.cast(tf.equal(tf.greater(out, cut), tf.greater(labels, 0.5)), 'float32'));
  }
  const truth = plan.labels === 'sparse' ? labels : tf.argMax(labels, 1);
  return tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), truth), 'float32'));
}
