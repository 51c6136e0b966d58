import type { Tf, LayersModel } from '../tf.js';
import type { ModelConfig } from '../config/schema.js';

/**
 * Builds the configured model with seeded initializers, so the same seed gives the
 * same starting weights on every backend. The last layer outputs logits: softmax is
 * fused into the loss (softmaxCrossEntropy), which is the same model as a Dense
 * softmax layer trained with categorical cross-entropy, but numerically safer.
 */
export function buildModel(tf: Tf, cfg: ModelConfig, seed: number): LayersModel {
  let layerSeed = seed;
  const kernel = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  const model = tf.sequential({ name: cfg.kind });
  if (cfg.kind === 'mlp') {
    cfg.hidden.forEach((units, i) =>
      model.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: kernel(), ...(i === 0 ? { inputShape: [784] } : {}) })),
    );
    model.add(tf.layers.dense({ units: 10, kernelInitializer: kernel(), ...(cfg.hidden.length === 0 ? { inputShape: [784] } : {}) }));
    return model;
  }
  cfg.filters.forEach((filters, i) => {
    model.add(tf.layers.conv2d({
      filters, kernelSize: cfg.kernelSize, activation: 'relu', kernelInitializer: kernel(),
      ...(i === 0 ? { inputShape: [28, 28, 1] } : {}),
    }));
    model.add(tf.layers.maxPooling2d({ poolSize: cfg.poolSize, strides: cfg.poolSize }));
  });
  model.add(tf.layers.flatten());
  for (const units of cfg.dense) model.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: kernel() }));
  model.add(tf.layers.dense({ units: 10, kernelInitializer: kernel() }));
  return model;
}

/** One line for reports, e.g. "mlp 784-10-10 (7,960 params)". */
export function describeModel(model: LayersModel, cfg: ModelConfig): string {
  const params = model.countParams().toLocaleString('en-US');
  if (cfg.kind === 'mlp') return `mlp 784-${[...cfg.hidden, 10].join('-')} (${params} params)`;
  const convs = cfg.filters.map((f) => `conv${cfg.kernelSize}x${cfg.kernelSize}@${f}`).join(', ');
  return `cnn ${convs}, pool ${cfg.poolSize}, dense ${[...cfg.dense, 10].join('-')} (${params} params)`;
}

/** Throws a readable error when the CNN's layers shrink the 28x28 input to nothing. */
export function checkModelFits(cfg: ModelConfig): string | null {
  if (cfg.kind !== 'cnn') return null;
  let size = 28;
  for (const [i] of cfg.filters.entries()) {
    size = size - cfg.kernelSize + 1;
    if (size < 1) return `model.kernelSize ${cfg.kernelSize} leaves no pixels after conv layer ${i + 1}`;
    size = Math.floor(size / cfg.poolSize);
    if (size < 1) return `model.poolSize ${cfg.poolSize} leaves no pixels after pooling layer ${i + 1}`;
  }
  return null;
}
