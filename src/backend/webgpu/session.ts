/**
 * The webgpu backend inside a trial process: Dawn's adapter and device under tfjs, with
 * the guards that turn WebGPU's silent failures into trial failures.
 *
 * - No adapter: tfjs's setBackend('webgpu') logs a TypeError and returns false; here it
 *   is a clear BSTUNE_BACKEND_UNAVAILABLE error.
 * - A buffer over the binding limit computes garbage with exit 0 (tfjs sets no error
 *   scope): device.createBuffer is wrapped so such a buffer throws before it exists.
 * - Anything else Dawn reports (validation, out-of-memory, device lost) arrives as an
 *   `uncapturederror` event or through `device.lost`; the first one is kept and
 *   throwIfFailed() (called after every step and before reporting) fails the trial.
 * - Memory: tf.memory().numBytesInGPU is the bytes of live tensor buffers; its sibling
 *   numBytesAllocatedInGPU also counts tfjs's pool of freed buffers and is incremented
 *   before createBuffer returns, so a failed allocation still counts. The peak of
 *   numBytesInGPU is tracked at every buffer acquisition.
 */
import { BstuneError } from '../../errors.js';
import { requireTf } from '../tfjs-require.js';
import type { Tf } from '../../tf.js';
import { installNavigatorGpu, adapterIndexFrom, describeAdapter, webgpuInstall, type AdapterFacts, type AdapterLike } from './adapter.js';
import { bufferTooLarge, type BufferLimits } from './limits.js';

export interface WebgpuSession {
  adapter: AdapterFacts;
  limits: BufferLimits;
  /** Throws the first device error seen since the backend started, if any. */
  throwIfFailed(): void;
  /** Peak of tf.memory().numBytesInGPU so far. */
  peakBytesInGPU(): number;
}

interface DeviceLike {
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): unknown;
  addEventListener(type: 'uncapturederror', fn: (e: { error: { constructor: { name: string }; message: string } }) => void): void;
  lost: Promise<{ reason: string; message: string }>;
}
interface BufferManagerLike {
  numBytesUsed: number;
  acquireBuffer(...args: unknown[]): unknown;
}

let current: WebgpuSession | null = null;
export const webgpuSession = (): WebgpuSession | null => current;

export async function setupWebgpu(tf: Tf): Promise<WebgpuSession> {
  let gpu: Awaited<ReturnType<typeof installNavigatorGpu>>;
  try {
    // Under --gpus the local pool names this trial's adapter by its index in Dawn's list.
    gpu = await installNavigatorGpu(adapterIndexFrom());
    requireTf('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    if (/Cannot find (package|module)/.test(String(e))) {
      throw new BstuneError('BSTUNE_BACKEND_UNAVAILABLE', `backend webgpu is not installed; install it with: ${webgpuInstall()}`, '--backend');
    }
    throw e;
  }
  // tfjs asks for the adapter itself; keep the one it got to describe it and read its limits.
  let adapter: AdapterLike | null = null;
  const request = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (o) => (adapter = await request(o));
  const ok = await quietly(() => tf.setBackend('webgpu'));
  if (!ok || !adapter) {
    throw new BstuneError('BSTUNE_BACKEND_UNAVAILABLE', 'backend webgpu: no WebGPU adapter found (no GPU driver Dawn can use; see `bstune doctor`)', '--backend');
  }
  const facts = describeAdapter(adapter);
  const backend = tf.backend() as unknown as { device: DeviceLike; bufferManager: BufferManagerLike };
  const { device, bufferManager } = backend;
  const limits: BufferLimits = { maxStorageBufferBindingSize: facts.maxStorageBufferBindingSize, maxBufferSize: facts.maxBufferSize };

  let failure: Error | null = null;
  const fail = (e: Error) => {
    failure ??= e;
  };
  device.addEventListener('uncapturederror', (ev) => fail(deviceError(ev.error.constructor.name, ev.error.message)));
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') fail(new Error(`WebGPU device lost: ${info.message || info.reason}`));
  });

  const STORAGE = (globalThis as unknown as { GPUBufferUsage: { STORAGE: number } }).GPUBufferUsage.STORAGE;
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (d) => {
    const reason = bufferTooLarge(d.size, limits, 'a tensor buffer', (d.usage & STORAGE) !== 0);
    if (reason) throw new Error(reason);
    return createBuffer(d);
  };

  let peak = 0;
  const acquire = bufferManager.acquireBuffer.bind(bufferManager);
  bufferManager.acquireBuffer = (...args: unknown[]) => {
    const buffer = acquire(...args);
    if (bufferManager.numBytesUsed > peak) peak = bufferManager.numBytesUsed;
    return buffer;
  };

  current = {
    adapter: facts,
    limits,
    throwIfFailed: () => {
      if (failure) throw failure;
    },
    peakBytesInGPU: () => Math.max(peak, (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU ?? 0),
  };
  return current;
}

/**
 * Dawn's errors as trial failures. A binding or buffer-size validation error is a size
 * the device cannot take (a step-down, worded like the plan check); an out-of-memory
 * error is an OOM; any other validation error is a bug and stops the search.
 */
export function deviceError(kind: string, message: string): Error {
  const first = message.split('\n')[0]!.trim();
  if (/maximum storage buffer binding size|max buffer size/i.test(first)) {
    return new Error(`does not fit: exceeds the device's binding limit (Dawn: ${first})`);
  }
  if (kind === 'GPUOutOfMemoryError') return new Error(`WebGPU out of memory (Dawn: ${first})`);
  return new Error(`WebGPU ${kind === 'GPUValidationError' ? 'validation error' : kind}: ${first}`);
}

/** tfjs logs the adapter failure as a warning with a stack; the error thrown after says it better. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}
