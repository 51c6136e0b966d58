// A model from code: bstune imports this file in each trial process and calls
// createModel(tf, { inputShape, numClasses, outputs, seed }). Use the `tf` it passes
// (the backend bstune set up), not your own import of @tensorflow/tfjs. Return an
// uncompiled tf.LayersModel; bstune's config decides the optimizer and the loss.
export function createModel(tf, { inputShape, numClasses, seed }) {
  const init = (k) => tf.initializers.heNormal({ seed: seed + k });
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape }));
  model.add(tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(0) }));
  model.add(tf.layers.dropout({ rate: 0.1, seed }));
  model.add(tf.layers.dense({ units: numClasses, kernelInitializer: init(1) })); // logits
  return model;
}
