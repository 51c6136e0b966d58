/**
 * Pure: the tensors a training trial creates, and whether each fits the device's buffer
 * limits. On WebGPU a tensor is one buffer, bound whole to a shader; a buffer above
 * maxStorageBufferBindingSize (128 MiB on Mesa's software device, often 128 MiB–4 GiB on
 * GPUs) does not fail loudly: tfjs sets no error scope, so the step computes zeros, stale
 * data or NaN and exits 0. So every trial is checked before it runs, and a batch that
 * cannot be bound is a step-down ("does not fit"), never a silently wrong result.
 *
 * The list covers what the built-in models' training step and validation pass allocate:
 * the batch (the data set itself stays on the host, one batch uploaded per step), each
 * layer's output and its gradient (the same shapes), the im2col/transposed copies of
 * the same size, the weights and optimizer slots. A runtime guard on createBuffer
 * (guard.ts) catches anything this list would miss.
 */
import type { ModelConfig } from '../../config/schema.js';

export interface TensorPlan {
  name: string;
  shape: number[];
  bytes: number;
}

export interface BufferLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

const F32 = 4;
const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const tensor = (name: string, shape: number[]): TensorPlan => ({ name, shape, bytes: elements(shape) * F32 });

/** Every tensor shape a training step at this batch size creates, largest first. */
export function trialTensors(model: ModelConfig, batchSize: number): TensorPlan[] {
  const b = batchSize;
  const out: TensorPlan[] = [tensor('input batch', model.kind === 'mlp' ? [b, 784] : [b, 28, 28, 1]), tensor('one-hot labels', [b, 10])];
  if (model.kind === 'mlp') {
    let inputs = 784;
    model.hidden.forEach((units, i) => {
      out.push(tensor(`dense ${i + 1} weights`, [inputs, units]), tensor(`dense ${i + 1} output`, [b, units]));
      inputs = units;
    });
    out.push(tensor('output weights', [inputs, 10]), tensor('logits', [b, 10]));
  } else {
    let size = 28;
    let channels = 1;
    model.filters.forEach((filters, i) => {
      const conv = size - model.kernelSize + 1;
      out.push(tensor(`conv ${i + 1} filter`, [model.kernelSize, model.kernelSize, channels, filters]));
      out.push(tensor(`conv ${i + 1} output`, [b, conv, conv, filters]));
      size = Math.floor(conv / model.poolSize);
      out.push(tensor(`pool ${i + 1} output`, [b, size, size, filters]));
      channels = filters;
    });
    let inputs = size * size * channels;
    model.dense.forEach((units, i) => {
      out.push(tensor(`dense ${i + 1} weights`, [inputs, units]), tensor(`dense ${i + 1} output`, [b, units]));
      inputs = units;
    });
    out.push(tensor('output weights', [inputs, 10]), tensor('logits', [b, 10]));
  }
  return out.sort((x, y) => y.bytes - x.bytes);
}

const MiB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** The reason a trial cannot run on this device, or null when every tensor fits. */
export function checkTrialFits(model: ModelConfig, batchSize: number, limits: BufferLimits): string | null {
  const largest = trialTensors(model, batchSize)[0]!;
  return bufferTooLarge(largest.bytes, limits, `${largest.name} [${largest.shape.join(',')}]`);
}

/** Shared by the plan check and the createBuffer guard, so both say the same thing. */
export function bufferTooLarge(bytes: number, limits: BufferLimits, what: string, storage = true): string | null {
  if (bytes > limits.maxBufferSize) {
    return `does not fit: exceeds the device's buffer limit (${what} is ${mib(bytes)} > maxBufferSize ${mib(limits.maxBufferSize)})`;
  }
  if (storage && bytes > limits.maxStorageBufferBindingSize) {
    return `does not fit: exceeds the device's binding limit (${what} is ${mib(bytes)} > maxStorageBufferBindingSize ${mib(limits.maxStorageBufferBindingSize)})`;
  }
  return null;
}

/** The largest batch whose tensors all fit (0 when none does): for find-max's notes and doctor. */
export function largestBindableBatch(model: ModelConfig, limits: BufferLimits, upTo = 2 ** 24): number {
  let lo = 0;
  let hi = upTo;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (checkTrialFits(model, mid, limits) === null) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
