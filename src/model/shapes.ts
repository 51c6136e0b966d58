/**
 * Shape checks between a data set and a model, before any training (pure). Each
 * mismatch is one line naming both shapes and where each came from. The result says
 * how to shape a batch for the model and which loss and accuracy to use.
 */
import { BstuneError } from '../errors.js';

export const lossNames = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy', 'meanSquaredError', 'binaryCrossentropy'] as const;
export type LossName = (typeof lossNames)[number];

export interface DataShape {
  sampleShape: number[];
  labelShape: number[];
  numClasses: number | null;
  /** Named in errors: a file, folder or module. */
  origin: string;
  /** Named in label errors when the labels are in another file. */
  labelOrigin?: string;
}

export interface ModelShape {
  /** Per input, without the batch dimension; null where any size goes. */
  inputs: (number | null)[][];
  outputs: (number | null)[][];
  /** The last layer's activation: 'softmax', 'sigmoid', 'linear', ... */
  lastActivation: string;
  origin: string;
}

/** How labels become the tensor the loss compares with the output. */
export type LabelMode =
  | 'sparse' // class indices, one-hot inside the loss
  | 'oneHot' // class indices, one-hot to the output width
  | 'value' // class index used as a number (one output)
  | 'target'; // float targets, as they are

export interface IoPlan {
  /** A batch of b samples is reshaped to [b, ...xShape]. */
  xShape: number[];
  outputSize: number;
  loss: LossName;
  /** The model outputs logits (no softmax/sigmoid last): the loss applies it, fused. */
  fromLogits: boolean;
  labels: LabelMode;
  /** argmax (classes), threshold (one sigmoid/logit unit), or none (regression). */
  accuracy: 'argmax' | 'threshold' | 'none';
}

const dims = (s: readonly (number | null)[]) => `[${s.map((d) => (d === null ? 'any' : String(d))).join(', ')}]`;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const matches = (model: readonly (number | null)[], data: readonly number[]) =>
  model.length === data.length && model.every((d, i) => d === null || d === data[i]);

function mismatch(message: string, data: DataShape, labels = false): BstuneError {
  return new BstuneError('BSTUNE_DATA_INVALID', message, labels ? (data.labelOrigin ?? data.origin) : data.origin);
}

/** [28, 28] data fits a model taking [28, 28], [28, 28, 1] (a channel added) or [784] (flattened). */
export function inputPlan(modelIn: readonly (number | null)[], sample: readonly number[]): number[] | null {
  if (matches(modelIn, sample)) return [...sample];
  if (matches(modelIn, [...sample, 1])) return [...sample, 1];
  if (modelIn.length === 1 && (modelIn[0] === null || modelIn[0] === size(sample))) return [size(sample)];
  return null;
}

export function planIo(data: DataShape, model: ModelShape, configured?: LossName): IoPlan {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new BstuneError('BSTUNE_MODEL_INVALID', `the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; bstune trains models with one input and one output`, model.origin);
  }
  const modelIn = model.inputs[0]!;
  const xShape = inputPlan(modelIn, data.sampleShape);
  if (xShape === null) {
    throw mismatch(`data samples have shape [${data.sampleShape.join(', ')}] but the model takes ${dims(modelIn)} (${model.origin})`, data);
  }
  const out = model.outputs[0]!;
  if (out.length !== 1 || out[0] === null) {
    throw new BstuneError('BSTUNE_MODEL_INVALID', `the model's output has shape ${dims(out)} per sample; bstune needs one vector per sample, [classes] or [targets]`, model.origin);
  }
  const outputSize = out[0];
  const act = model.lastActivation;
  const classes = data.numClasses;
  // Defaults from the output shape and the labels, as Keras users would pick them.
  const loss: LossName = configured ?? (classes !== null
    ? outputSize >= 2 ? 'sparseCategoricalCrossentropy' : classes <= 2 ? 'binaryCrossentropy' : 'meanSquaredError'
    : outputSize >= 2 && act === 'softmax' ? 'categoricalCrossentropy' : act === 'sigmoid' ? 'binaryCrossentropy' : 'meanSquaredError');
  const labelWidth = size(data.labelShape);
  const lossAt = configured !== undefined ? ` (loss ${loss})` : '';
  let labels: LabelMode;
  if (classes !== null) {
    if (loss === 'sparseCategoricalCrossentropy' || loss === 'categoricalCrossentropy' || (outputSize >= 2 && loss !== 'meanSquaredError')) {
      if (outputSize < 2 && loss !== 'binaryCrossentropy') {
        throw mismatch(`labels are class indices 0..${classes - 1} but the model outputs 1 value per sample (${model.origin})${lossAt}; give it one output per class`, data, true);
      }
      if (classes > outputSize) {
        throw mismatch(`labels are out of range: they go up to ${classes - 1} (${classes} classes) but the model outputs ${outputSize} values per sample (${model.origin})`, data, true);
      }
      labels = loss === 'sparseCategoricalCrossentropy' || loss === 'categoricalCrossentropy' ? 'sparse' : 'oneHot';
    } else if (outputSize === 1) {
      if (loss === 'binaryCrossentropy' && classes > 2) {
        throw mismatch(`binaryCrossentropy needs labels 0 or 1, but they go up to ${classes - 1} (model ${model.origin} outputs 1 value)`, data, true);
      }
      labels = 'value';
    } else {
      if (classes > outputSize) {
        throw mismatch(`labels are out of range: they go up to ${classes - 1} (${classes} classes) but the model outputs ${outputSize} values per sample (${model.origin})`, data, true);
      }
      labels = 'oneHot';
    }
  } else {
    if (loss === 'sparseCategoricalCrossentropy') {
      throw mismatch(`sparseCategoricalCrossentropy needs one class index per sample, but the labels have shape [${data.labelShape.join(', ')}] per sample; use loss: categoricalCrossentropy`, data, true);
    }
    if (labelWidth !== outputSize) {
      throw mismatch(`labels have shape [${data.labelShape.join(', ') || '1'}] per sample but the model outputs ${dims(out)} (${model.origin})`, data, true);
    }
    labels = 'target';
  }
  const categorical = loss === 'categoricalCrossentropy' || loss === 'sparseCategoricalCrossentropy';
  const fromLogits = categorical ? act !== 'softmax' : loss === 'binaryCrossentropy' ? act !== 'sigmoid' : false;
  const accuracy = outputSize >= 2 && (classes !== null || categorical) ? 'argmax' : outputSize === 1 && loss === 'binaryCrossentropy' ? 'threshold' : 'none';
  return { xShape, outputSize, loss, fromLogits, labels, accuracy };
}
