import type { Tf, LayersModel } from '../tf.js';
import type { ModelConfig } from '../config/schema.js';
import { BstuneError } from '../errors.js';

export type BuiltinModelConfig = Extract<ModelConfig, { kind: 'mlp' | 'cnn' }>;

/** What the built-in models adapt to: the data's sample shape and its class count (or target width). */
export interface ModelIo {
  sampleShape: number[];
  outputs: number;
}

const MNIST_IO: ModelIo = { sampleShape: [28, 28], outputs: 10 };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The CNN's image shape [h, w, c] for the data's samples, or why there is none. */
export function cnnInputShape(sampleShape: readonly number[]): [number, number, number] | string {
  if (sampleShape.length === 2) return [sampleShape[0]!, sampleShape[1]!, 1];
  if (sampleShape.length === 3) return [sampleShape[0]!, sampleShape[1]!, sampleShape[2]!];
  return `model kind cnn needs image samples [height, width] or [height, width, channels], but the data's samples have shape [${sampleShape.join(', ')}]`;
}

/**
 * Builds the configured model with seeded initializers, so the same seed gives the
 * same starting weights on every backend. The last layer outputs logits: softmax is
 * fused into the loss (softmaxCrossEntropy), which is the same model as a Dense
 * softmax layer trained with categorical cross-entropy, but numerically safer.
 * Input and output sizes follow the data (MNIST's 28x28 and 10 classes by default).
 */
export function buildModel(tf: Tf, cfg: BuiltinModelConfig, seed: number, io: ModelIo = MNIST_IO): LayersModel {
  let layerSeed = seed;
  const kernel = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  const model = tf.sequential({ name: cfg.kind });
  const inputSize = size(io.sampleShape);
  if (cfg.kind === 'mlp') {
    cfg.hidden.forEach((units, i) =>
      model.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: kernel(), ...(i === 0 ? { inputShape: [inputSize] } : {}) })),
    );
    model.add(tf.layers.dense({ units: io.outputs, kernelInitializer: kernel(), ...(cfg.hidden.length === 0 ? { inputShape: [inputSize] } : {}) }));
    return model;
  }
  const shape = cnnInputShape(io.sampleShape);
  if (typeof shape === 'string') throw new BstuneError('BSTUNE_CONFIG_INVALID', shape, 'model.kind');
  const why = checkModelFits(cfg, shape[0], shape[1]);
  if (why !== null) throw new BstuneError('BSTUNE_CONFIG_INVALID', why, 'model');
  cfg.filters.forEach((filters, i) => {
    model.add(tf.layers.conv2d({
      filters, kernelSize: cfg.kernelSize, activation: 'relu', kernelInitializer: kernel(),
      ...(i === 0 ? { inputShape: shape } : {}),
    }));
    model.add(tf.layers.maxPooling2d({ poolSize: cfg.poolSize, strides: cfg.poolSize }));
  });
  model.add(tf.layers.flatten());
  for (const units of cfg.dense) model.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: kernel() }));
  model.add(tf.layers.dense({ units: io.outputs, kernelInitializer: kernel() }));
  return model;
}

/** One line for reports, e.g. "mlp 784-10-10 (7,960 params)". */
export function describeModel(model: LayersModel, cfg: ModelConfig): string {
  const params = model.countParams().toLocaleString('en-US');
  const outputs = model.outputs[0]?.shape[1] ?? 10;
  if (cfg.kind === 'mlp') return `mlp ${[model.inputs[0]?.shape[1] ?? 784, ...cfg.hidden, outputs].join('-')} (${params} params)`;
  if (cfg.kind === 'cnn') {
    const convs = cfg.filters.map((f) => `conv${cfg.kernelSize}x${cfg.kernelSize}@${f}`).join(', ');
    return `cnn ${convs}, pool ${cfg.poolSize}, dense ${[...cfg.dense, outputs].join('-')} (${params} params)`;
  }
  const from = cfg.kind === 'file' ? cfg.path : `createModel() of ${cfg.module}`;
  return `${from}: ${model.layers.length} layers, input [${model.inputs[0]?.shape.slice(1).join(', ')}], output [${model.outputs[0]?.shape.slice(1).join(', ')}] (${params} params)`;
}

/** Why the CNN's layers shrink an h x w input (MNIST's 28x28 by default) to nothing, or null. */
export function checkModelFits(cfg: ModelConfig, height = 28, width = height): string | null {
  if (cfg.kind !== 'cnn') return null;
  let size = Math.min(height, width);
  for (const [i] of cfg.filters.entries()) {
    size = size - cfg.kernelSize + 1;
    if (size < 1) return `model.kernelSize ${cfg.kernelSize} leaves no pixels after conv layer ${i + 1}`;
    size = Math.floor(size / cfg.poolSize);
    if (size < 1) return `model.poolSize ${cfg.poolSize} leaves no pixels after pooling layer ${i + 1}`;
  }
  return null;
}
