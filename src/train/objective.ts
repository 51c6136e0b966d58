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
      return (plan.fromLogits ? softmaxCrossEntropyMean(tf, dense, out) : tf.mean(tf.metrics.categoricalCrossentropy(dense, out))) as Scalar;
    case 'binaryCrossentropy':
      return (plan.fromLogits ? tf.losses.sigmoidCrossEntropy(dense, out) : tf.mean(tf.metrics.binaryCrossentropy(dense, out))) as Scalar;
    case 'meanSquaredError':
      return tf.losses.meanSquaredError(dense, out) as Scalar;
  }
}

/**
 * tf.losses.softmaxCrossEntropy(labels, logits) (mean over the batch), the same float
 * operations in the same order, in one custom-gradient op: tfjs's version computes a
 * gradient for the labels too (thrown away) and reduces to the mean outside its custom
 * op, so the step ran ~10 more small kernels, each with the engine's fixed cost and tape
 * bookkeeping (a batch-32 MLP step is ~0.6 ms, a tenth of it was this). The logits'
 * gradient is dy / B · (exp(logits − logSumExp) − labels), exactly what tfjs's chain
 * computes (its 1/B arrives through the mean's division, broadcast by multiplying ones).
 */
function softmaxCrossEntropyMean(tf: Tf, labels: Tensor, logits: Tensor): Scalar {
  const rows = logits.shape[0]!;
  type Save = (tensors: Tensor[]) => void;
  const op = tf.customGrad(((x: Tensor, y: Tensor, save: Save) => {
    const lse = tf.logSumExp(x, [1], true);
    const logResult = tf.sub(x.dtype === 'float32' ? x : tf.cast(x, 'float32'), lse);
    const labelsF = y.dtype === 'float32' ? y : tf.cast(y, 'float32');
    save([logResult, labelsF]);
    const costs = tf.sum(tf.neg(tf.mul(logResult, labelsF)), [1]);
    const value = tf.div(tf.sum(costs), tf.scalar(rows));
    // customGrad wants a gradient per input: zeros for the labels, which nothing reads.
    const gradFunc = (dy: Tensor, saved: Tensor[]) => [tf.mul(tf.div(dy, tf.scalar(rows)), tf.sub(tf.exp(saved[0]!), saved[1]!)), tf.zerosLike(y)];
    return { value, gradFunc };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return op(logits, labels) as Scalar;
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
