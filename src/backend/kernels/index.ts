// Training kernels for the tfjs wasm backend. Usage:
//   await initWasmBackend();            // or:
//   await tf.setBackend('wasm'); registerWasmTrainingKernels();
// Registration works before or after the backend is created: tfjs looks
// kernels up by name on every op, and ours need no per-backend setup.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { batchMatMulConfig, setStockBatchMatMul } from './batch-mat-mul.js';
import { addConfig, setStockBiasKernels, sumConfig } from './bias.js';
import { conv2DConfig, setStockConv2D } from './conv2d.js';
import { convBiasReluKernelConfig, installConvBiasReluGradients, maxPoolReluGradKernelConfig, reluGradBiasKernelConfig } from './conv-bias-relu.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwise-conv2d-backprop-input.js';
import { setupWasmBackend } from './init-wasm.js';
import { maxPoolConfig, setStockMaxPool } from './max-pool.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { installReluGradient, reluGradKernelConfig } from './relu-grad.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

export { wasmBinaryDir } from './init-wasm.js';
export { fuseConvBiasRelu } from './fuse-conv-layers.js';

export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2DConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  reluGradKernelConfig,
  convBiasReluKernelConfig,
  reluGradBiasKernelConfig,
  maxPoolReluGradKernelConfig,
  batchMatMulConfig,
  addConfig,
  sumConfig,
];

/** Idempotent; replaces stock wasm kernels where ours are faster. */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing === config) continue;
    // Ours delegates the cases it doesn't speed up to the stock kernel.
    if (config === batchMatMulConfig) setStockBatchMatMul(existing);
    if (config === conv2DConfig) setStockConv2D(existing);
    if (config === maxPoolConfig) setStockMaxPool(existing);
    if (config === addConfig) setStockBiasKernels(existing, undefined);
    if (config === sumConfig) setStockBiasKernels(undefined, existing);
    // Unregister first so replacing a stock kernel doesn't log a warning.
    if (existing != null) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  installReluGradient();
  installConvBiasReluGradients();
}

/** Loads @tensorflow/tfjs-backend-wasm, selects it and registers our kernels. */
export function initWasmBackend(): Promise<void> {
  return setupWasmBackend(registerWasmTrainingKernels);
}
