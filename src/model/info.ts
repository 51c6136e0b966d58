import type { LayersModel } from '../tf.js';
import type { Dataset } from '../data/types.js';
import type { DataShape, ModelShape } from './shapes.js';

/** The last layer's activation: a Dense/Conv `activation`, an Activation layer, or a Softmax layer. */
export function lastActivation(model: LayersModel): string {
  const last = model.layers[model.layers.length - 1];
  if (!last) return 'linear';
  if (last.getClassName() === 'Softmax') return 'softmax';
  const act = (last.getConfig() as { activation?: unknown }).activation;
  return typeof act === 'string' ? act : 'linear';
}

export function modelShape(model: LayersModel, origin: string): ModelShape {
  return {
    inputs: model.inputs.map((t) => t.shape.slice(1) as (number | null)[]),
    outputs: model.outputs.map((t) => t.shape.slice(1) as (number | null)[]),
    lastActivation: lastActivation(model),
    origin,
  };
}

export function dataShape(data: Dataset): DataShape {
  return { sampleShape: data.sampleShape, labelShape: data.labelShape, numClasses: data.numClasses, origin: data.origin, ...(data.labelOrigin ? { labelOrigin: data.labelOrigin } : {}) };
}

/**
 * The regularizers a model's layers declare ("dense_1 kernel"), which bstune does not apply:
 * it trains the configured data loss only (tfjs-layers' fit() and Keras add their penalties).
 */
export function unappliedRegularizers(model: LayersModel): string[] {
  const found: string[] = [];
  for (const layer of model.layers) {
    const config = layer.getConfig() as Record<string, unknown>;
    for (const [key, value] of Object.entries(config)) {
      if (key.endsWith('Regularizer') && value !== null && value !== undefined) found.push(`${layer.name} ${key.slice(0, -'Regularizer'.length)}`);
    }
  }
  return found;
}
