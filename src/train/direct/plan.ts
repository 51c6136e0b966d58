/**
 * Which models train through the direct step (runner.ts) instead of tfjs's tape (pure).
 * The direct step calls, in the tape's place, the kernels the tape would run for the same
 * model (the same names, inputs and attributes: the same bits), without the engine, the
 * tape, the layers' call machinery and a Tensor object per result. That is only known for
 * a short list of layers, so this returns the layers' plan only when every layer is one of
 * them, in an order it knows, and otherwise says why not (the tape then trains the model).
 */
import type { IoPlan } from '../../model/shapes.js';

/** What the shell reads off one layer of a Sequential model. */
export interface LayerFacts {
  className: string;
  /** An instance of tfjs-layers' own class (not a subclass), with no call set on it (bstune's fused conv call aside) and no call hook. */
  stock: boolean;
  trainable: boolean;
  /** Trainable weights, in the layer's order, and the count of non-trainable ones. */
  weights: string[];
  nonTrainable: number;
  /** Conv2D: trains through BstuneConv2DBiasRelu (fuse-conv-layers.ts: channels-last, relu, biased, unpadded, undilated). */
  fusedConv?: boolean;
  strides?: number[];
  poolSize?: number[];
  padding?: string;
  dataFormat?: string;
  /** Dense: its activation's class name and whether it has a bias. */
  activation?: string;
  useBias?: boolean;
  units?: number;
}

export type DirectLayer =
  /** Conv2D + bias + relu (BstuneConv2DBiasRelu); pool: the 2x2 stride-2 MaxPooling2D after it runs with it. */
  | { kind: 'conv'; strides: [number, number]; pool: boolean }
  | { kind: 'flatten' }
  | { kind: 'dense'; activation: 'relu' | 'linear' };

export interface DirectPlan {
  layers: DirectLayer[];
  /** How many trainable weights each planned layer has (2: kernel, bias; 0: flatten). */
  weightCounts: number[];
}

const twos = (v: number[] | undefined): boolean => v != null && v.length === 2 && v[0] === 2 && v[1] === 2;

/**
 * The plan for a Sequential model's layers (input layer excluded) under `io`, or why the
 * tape must train it. `inputRank`: the rank of one sample ([28, 28, 1] is 3).
 */
export function directPlan(layers: LayerFacts[], io: IoPlan, inputRank: number): DirectPlan | string {
  if (io.loss !== 'sparseCategoricalCrossentropy' && io.loss !== 'categoricalCrossentropy') return `loss ${io.loss}`;
  if (!io.fromLogits || io.labels !== 'sparse' || io.accuracy !== 'argmax') return 'only sparse labels, logits and argmax accuracy';
  if (layers.length === 0) return 'no layers';
  const out: DirectLayer[] = [];
  const weightCounts: number[] = [];
  // The rank of the tensor flowing into the next layer, batch included.
  let rank = inputRank + 1;
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    const where = `layer ${i + 1} (${l.className})`;
    if (!l.stock) return `${where} is not tfjs-layers' own`;
    if (!l.trainable || l.nonTrainable !== 0) return `${where} has frozen weights`;
    if (l.className === 'Conv2D') {
      if (l.fusedConv !== true || rank !== 4 || l.strides?.length !== 2 || l.weights.length !== 2) return `${where} is not a fused conv + bias + relu`;
      const next = layers[i + 1];
      const pool = next != null && next.className === 'MaxPooling2D';
      if (pool) {
        if (!next.stock || !twos(next.poolSize) || !twos(next.strides) || next.padding !== 'valid' || next.dataFormat !== 'channelsLast') {
          return `layer ${i + 2} (MaxPooling2D) is not 2x2, stride 2, valid, channels-last`;
        }
        i++;
      }
      out.push({ kind: 'conv', strides: [l.strides[0]!, l.strides[1]!], pool });
      weightCounts.push(2);
    } else if (l.className === 'Flatten') {
      // tfjs-layers' Flatten permutes only for channelsFirst (its dataFormat is often unset).
      if (l.dataFormat === 'channelsFirst' || l.weights.length !== 0) return `${where} is channels-first`;
      out.push({ kind: 'flatten' });
      weightCounts.push(0);
      rank = 2;
    } else if (l.className === 'Dense') {
      if (rank !== 2) return `${where} takes rank-${rank} input`;
      if (l.activation !== 'relu' && l.activation !== 'linear') return `${where} has activation ${l.activation}`;
      if (l.useBias !== true || l.weights.length !== 2) return `${where} has no bias`;
      out.push({ kind: 'dense', activation: l.activation });
      weightCounts.push(2);
    } else {
      return `${where} is not one the direct step knows`;
    }
  }
  const last = out[out.length - 1]!;
  const lastFacts = layers[layers.length - 1]!;
  if (last.kind !== 'dense' || last.activation !== 'linear' || lastFacts.units !== io.outputSize) return 'the last layer is not a linear Dense giving the logits';
  return { layers: out, weightCounts };
}
