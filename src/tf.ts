/** The TensorFlow.js namespace in use: `@tensorflow/tfjs`, or tfjs-node(-gpu), which re-exports it. */
export type Tf = typeof import('@tensorflow/tfjs');
export type Tensor = import('@tensorflow/tfjs').Tensor;
export type LayersModel = import('@tensorflow/tfjs').LayersModel;
export type Optimizer = import('@tensorflow/tfjs').Optimizer;
