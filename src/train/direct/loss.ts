/**
 * The built-in loss in the direct step (runner.ts): objective.ts's softmaxCrossEntropyMean
 * and its gradient, kernel for kernel as the tape runs them (Max, Sub, Exp, Sum, Log, Add,
 * Sub, Multiply, Neg, Sum, Sum, RealDiv; back: RealDiv, Exp, Sub, Multiply). The labels'
 * one-hot floats are written here (OneHot then Cast give the same 0s and 1s), and the
 * correct count is taken here (ArgMax's first-maximum rule; the tape's float sum of 0s and
 * 1s is exact).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../../backend/tfjs-require.js';
import { f32Offset, heapF32 } from '../../backend/kernels/wasm-internals.js';
import { view, type Arena } from './arena.js';

/** The mean loss of n rows of logits against class indices, their correct count, and the logits' gradient (owned by the arena). */
export function softmaxCrossEntropy(a: Arena, logits: TensorInfo, yData: Int32Array, n: number, classes: number): { loss: number; correct: number; dLogits: TensorInfo } {
  const correct = countCorrect(heapF32(a.backend), f32Offset(a.backend, logits), yData, n, classes);
  // softmaxCrossEntropyMean (objective.ts) and its gradient.
  const oneHot = new Float32Array(n * classes);
  for (let r = 0; r < n; r++) {
    const c = yData[r]!;
    if (c >= 0 && c < classes) oneHot[r * classes + c] = 1;
  }
  const labels = a.floats([n, classes], oneHot);
  const max = a.one(tf.Max, { x: logits }, { reductionIndices: [1], keepDims: true });
  const shifted = a.one(tf.Sub, { a: logits, b: max });
  const exps = a.one(tf.Exp, { x: shifted });
  a.free(shifted);
  const sums = a.one(tf.Sum, { x: exps }, { axis: [1], keepDims: false });
  a.free(exps);
  const logs = a.one(tf.Log, { x: sums });
  a.free(sums);
  const lse = a.one(tf.Add, { a: view(max, [n]), b: logs });
  a.free(max, logs);
  const logResult = a.one(tf.Sub, { a: logits, b: view(lse, [n, 1]) });
  a.free(lse);
  const products = a.one(tf.Multiply, { a: logResult, b: labels });
  const negs = a.one(tf.Neg, { x: products });
  a.free(products);
  const costs = a.one(tf.Sum, { x: negs }, { axis: [1], keepDims: false });
  a.free(negs);
  const total = a.one(tf.Sum, { x: costs }, { axis: null, keepDims: false });
  a.free(costs);
  const rows = a.floats([], [n]);
  const lossT = a.one(tf.RealDiv, { a: total, b: rows });
  const loss = heapF32(a.backend)[f32Offset(a.backend, lossT)]!;
  a.free(total, lossT);
  const one = a.floats([], [1]);
  const scale = a.one(tf.RealDiv, { a: one, b: rows });
  a.free(one, rows);
  const softmax = a.one(tf.Exp, { x: logResult });
  a.free(logResult);
  const diff = a.one(tf.Sub, { a: softmax, b: labels });
  a.free(softmax, labels);
  const dLogits = a.one(tf.Multiply, { a: scale, b: diff });
  a.free(scale, diff);
  return { loss, correct, dLogits };
}

/** Rows whose first maximum (ArgMax's rule) is the label: exact, as the tape's float sum of 0s and 1s is. */
function countCorrect(heap: Float32Array, at: number, labels: Int32Array, n: number, classes: number): number {
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const row = at + r * classes;
    let best = heap[row]!;
    let arg = 0;
    for (let c = 1; c < classes; c++) {
      const v = heap[row + c]!;
      if (v > best) {
        best = v;
        arg = c;
      }
    }
    if (arg === labels[r]) correct++;
  }
  return correct;
}
