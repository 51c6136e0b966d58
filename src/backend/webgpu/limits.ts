/**
 * Pure: the tensors a training trial creates, and whether each fits the device's buffer
 * limits. On WebGPU a tensor is one buffer, bound whole to a shader; a buffer above
 * maxStorageBufferBindingSize (128 MiB on Mesa's software device, often 128 MiB–4 GiB on
 * GPUs) does not fail loudly: tfjs sets no error scope, so the step computes zeros, stale
 * data or NaN and exits 0. So every trial is checked before it runs, and a batch that
 * cannot be bound is a step-down ("does not fit"), never a silently wrong result.
 *
 * The list is read off the model itself (any model: built-in, model.json or a module):
 * the batch (the data set itself stays on the host, one batch uploaded per step), each
 * layer's output and its gradient (the same shapes), the weights and optimizer slots.
 * A runtime guard on createBuffer (session.ts) catches anything this list would miss,
 * such as a kernel's larger scratch buffer.
 */
/** Per-sample shapes (no batch dimension) of a model's input, each layer's output and its weights. */
export interface ModelTensors {
  input: number[];
  layers: { name: string; output: number[] }[];
  weights: { name: string; shape: number[] }[];
}

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

/**
 * Every tensor shape a training step at this batch size creates, largest first: the batch
 * and its labels, each layer's output (its gradient and any same-sized copy have the
 * same shape), the weights (and their gradients and Adam slots, the same shapes).
 */
export function trialTensors(m: ModelTensors, batchSize: number): TensorPlan[] {
  const b = batchSize;
  const outputs = m.layers.length > 0 ? elements(m.layers[m.layers.length - 1]!.output) : 1;
  const out: TensorPlan[] = [tensor('input batch', [b, ...m.input]), tensor('labels', [b, outputs])];
  for (const l of m.layers) out.push(tensor(`layer ${l.name} output`, [b, ...l.output]));
  for (const w of m.weights) out.push(tensor(`weight ${w.name}`, w.shape));
  return out.sort((x, y) => y.bytes - x.bytes);
}

const MiB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** The reason a trial cannot run on this device, or null when every tensor fits. */
export function checkTrialFits(model: ModelTensors, batchSize: number, limits: BufferLimits): string | null {
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
export function largestBindableBatch(model: ModelTensors, limits: BufferLimits, upTo = 2 ** 24): number {
  let lo = 0;
  let hi = upTo;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (checkTrialFits(model, mid, limits) === null) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The per-sample shapes of a tfjs LayersModel (unknown dimensions count as 1). */
export function modelTensors(model: {
  inputs: { shape: (number | null)[] }[];
  layers: { name: string; outputShape: (number | null)[] | (number | null)[][] }[];
  weights: { name: string; shape: (number | null)[] }[];
}): ModelTensors {
  const known = (s: (number | null)[]) => s.map((d) => d ?? 1);
  const perSample = (s: (number | null)[] | (number | null)[][]) => known((Array.isArray(s[0]) ? (s[0] as (number | null)[]) : (s as (number | null)[])).slice(1));
  return {
    input: known(model.inputs[0]!.shape.slice(1)),
    layers: model.layers.map((l) => ({ name: l.name, output: perSample(l.outputShape) })),
    weights: model.weights.map((w) => ({ name: w.name, shape: known(w.shape) })),
  };
}
