// Writes configs/examples/cnn-model/: a tiny CNN as a TensorFlow.js Layers model.json plus one
// weight shard, laid out the way tensorflowjs_converter writes a converted Keras model
// (modelTopology.model_config, weightsManifest with group1-shard1of1.bin).
// Honest provenance: Python TensorFlow cannot run here, so the topology and weights come
// from tfjs-layers' own model.save (Keras-compatible JSON), not from Keras itself.
// Run: npm run build && node scripts/make-example-model.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'configs', 'examples', 'cnn-model');
await tf.setBackend('cpu');
let seed = 1;
const init = () => tf.initializers.glorotUniform({ seed: seed++ });
const model = tf.sequential({ name: 'tiny_cnn' });
model.add(tf.layers.conv2d({ name: 'conv2d', inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init() }));
model.add(tf.layers.maxPooling2d({ name: 'max_pooling2d', poolSize: 2 }));
model.add(tf.layers.conv2d({ name: 'conv2d_1', filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init() }));
model.add(tf.layers.maxPooling2d({ name: 'max_pooling2d_1', poolSize: 2 }));
model.add(tf.layers.flatten({ name: 'flatten' }));
model.add(tf.layers.dense({ name: 'dense', units: 10, activation: 'softmax', kernelInitializer: init() }));

await model.save(tf.io.withSaveHandler(async (a) => {
  mkdirSync(out, { recursive: true });
  const shard = 'group1-shard1of1.bin';
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers} (scripts/make-example-model.mjs)`,
    convertedBy: null,
    modelTopology: { keras_version: a.modelTopology.keras_version, backend: a.modelTopology.backend, model_config: { class_name: a.modelTopology.class_name, config: a.modelTopology.config } },
    weightsManifest: [{ paths: [shard], weights: a.weightSpecs }],
  };
  writeFileSync(join(out, 'model.json'), `${JSON.stringify(json, null, 1)}\n`);
  writeFileSync(join(out, shard), Buffer.from(a.weightData));
  return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
}));
console.log(`wrote ${out}: ${model.countParams()} params`);
