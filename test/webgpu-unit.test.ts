/** The pure parts of the webgpu backend: tensor plan vs limits, probe parsing, error wording, choice. */
import { describe, expect, it } from 'vitest';
import { checkTrialFits, largestBindableBatch, trialTensors, bufferTooLarge, modelTensors, type ModelTensors } from '../src/backend/webgpu/limits.js';
import { setupBackend } from '../src/backend/setup.js';
import { buildModel } from '../src/model/build.js';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProbeOutput, mayHaveVulkanDriver, type WebgpuProbe } from '../src/backend/webgpu/probe.js';
import { deviceError } from '../src/backend/webgpu/session.js';
import { adapterIndexFrom, checkWebgpuAdapters, parseAdapterList, pickAdapter } from '../src/backend/webgpu/adapter.js';
import { classifyFailure } from '../src/backend/oom.js';
import { chooseBackend, type probeGpu } from '../src/backend/resolve.js';
import { bstuneErrorFrom } from './helpers/thrown.js';
import type { AdapterFacts } from '../src/backend/webgpu/adapter.js';

const MiB = 2 ** 20;
const lavapipe = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 2 ** 32 - 1 };
// As modelTensors() reads them off the built-in CNN (8@5x5, pool 2, 16@5x5, pool 2) and MLP (784-10-10) on MNIST.
const cnn: ModelTensors = {
  input: [28, 28, 1],
  layers: [
    { name: 'conv2d_Conv2D1', output: [24, 24, 8] }, { name: 'max_pooling2d_MaxPooling2D1', output: [12, 12, 8] },
    { name: 'conv2d_Conv2D2', output: [8, 8, 16] }, { name: 'max_pooling2d_MaxPooling2D2', output: [4, 4, 16] },
    { name: 'flatten_Flatten1', output: [256] }, { name: 'dense_Dense1', output: [10] },
  ],
  weights: [{ name: 'conv2d_Conv2D1/kernel', shape: [5, 5, 1, 8] }, { name: 'dense_Dense1/kernel', shape: [256, 10] }],
};
const mlp: ModelTensors = { input: [784], layers: [{ name: 'dense_Dense1', output: [10] }, { name: 'dense_Dense2', output: [10] }], weights: [{ name: 'dense_Dense1/kernel', shape: [784, 10] }] };

describe('the tensors a trial creates, against the device limits', () => {
  it('lists the largest first: the first conv output for the CNN, the input batch for the MLP', () => {
    expect(trialTensors(cnn, 100)[0]).toEqual({ name: 'layer conv2d_Conv2D1 output', shape: [100, 24, 24, 8], bytes: 100 * 24 * 24 * 8 * 4 });
    expect(trialTensors(mlp, 100)[0]).toEqual({ name: 'input batch', shape: [100, 784], bytes: 100 * 784 * 4 });
    expect(trialTensors(cnn, 1).map((t) => t.name)).toEqual(expect.arrayContaining(['labels', 'weight dense_Dense1/kernel', 'layer flatten_Flatten1 output']));
  });

  it('reads the shapes off a real model', async () => {
    const tf = await setupBackend('cpu');
    const model = buildModel(tf, { kind: 'cnn', filters: [8, 16], kernelSize: 5, poolSize: 2, dense: [] }, 1);
    const m = modelTensors(model as unknown as Parameters<typeof modelTensors>[0]);
    expect(m.input).toEqual([28, 28, 1]);
    expect(m.layers.map((l) => l.output)).toEqual(cnn.layers.map((l) => l.output));
    expect(m.weights.map((w) => w.shape)).toEqual(expect.arrayContaining([[5, 5, 1, 8], [256, 10]]));
  });

  it('the CNN binds up to 7281 samples on a 128 MiB binding limit, not one more', () => {
    // 7281 * 24*24*8 * 4 = 134,209,152 bytes <= 134,217,728 < 7282 * 18,432.
    expect(checkTrialFits(cnn, 7281, lavapipe)).toBeNull();
    expect(checkTrialFits(cnn, 7282, lavapipe)).toBe("does not fit: exceeds the device's binding limit (layer conv2d_Conv2D1 output [7282,24,24,8] is 128.0 MiB > maxStorageBufferBindingSize 128.0 MiB)");
    expect(largestBindableBatch(cnn, lavapipe)).toBe(7281);
    expect(largestBindableBatch(mlp, lavapipe)).toBe(Math.floor((128 * MiB) / (784 * 4)));
  });

  it('a buffer over maxBufferSize is named as such; non-storage buffers only meet maxBufferSize', () => {
    const small = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB };
    expect(bufferTooLarge(300 * MiB, small, 'x')).toMatch(/^does not fit: exceeds the device's buffer limit \(x is 300\.0 MiB > maxBufferSize 256\.0 MiB\)$/);
    expect(bufferTooLarge(200 * MiB, small, 'a staging buffer', false)).toBeNull();
    expect(bufferTooLarge(200 * MiB, small, 'x', true)).toMatch(/binding limit/);
  });
});

describe('Dawn errors as trial failures', () => {
  it.each([
    ['GPUValidationError', 'Binding size (209715200) of [Buffer] is larger than the maximum storage buffer binding size (134217728).\n - While validating', /^does not fit: exceeds the device's binding limit \(Dawn: Binding size/, 'oom'],
    ['GPUValidationError', 'Buffer size (4294967300) exceeds the max buffer size limit (4294967295).', /^does not fit: exceeds the device's binding limit/, 'oom'],
    ['GPUOutOfMemoryError', 'Allocation failed', /^WebGPU out of memory \(Dawn: Allocation failed\)$/, 'oom'],
    ['GPUValidationError', 'Invalid BindGroupLayout', /^WebGPU validation error: Invalid BindGroupLayout$/, 'error'],
  ] as const)('%s "%s"', (kind, message, wording, outcome) => {
    const e = deviceError(kind, message);
    expect(e.message).toMatch(wording);
    expect(classifyFailure({ message: e.message, name: 'Error' }).outcome).toBe(outcome);
  });

  it('a SIGSEGV is "crashed while allocating" on webgpu only; elsewhere it is a bug', () => {
    expect(classifyFailure({ signal: 'SIGSEGV', backend: 'webgpu' })).toEqual({ outcome: 'oom', reason: 'crashed while allocating (SIGSEGV in the GPU driver)' });
    expect(classifyFailure({ signal: 'SIGSEGV', backend: 'wasm' }).outcome).toBe('error');
  });
});

describe('the adapter probe', () => {
  const line = (x: unknown) => `BSTUNE_ADAPTER ${JSON.stringify(x)}\n`;
  it('reads the adapter the child printed; a software one is a fallback adapter', () => {
    const p = parseProbeOutput(line({
      info: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7', isFallbackAdapter: false },
      limits: { maxStorageBufferBindingSize: 134217728, maxBufferSize: 4294967295 },
    }), '', 0, null);
    expect(p).toEqual({ ok: true, adapter: { description: 'llvmpipe: Mesa 25.0.7', vendor: 'mesa', architecture: 'software', device: 'llvmpipe', isFallbackAdapter: true, maxStorageBufferBindingSize: 134217728, maxBufferSize: 4294967295 } });
  });
  it('with --gpus the same child also prints Dawn\'s adapter list, read beside the adapter', () => {
    const found = line({ info: { description: 'llvmpipe', architecture: 'software' }, limits: { maxStorageBufferBindingSize: 1, maxBufferSize: 1 } });
    const listing = "no suitable backends found\nAvailable adapters:\n * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'";
    const p = parseProbeOutput(`${found}BSTUNE_ADAPTERS ${JSON.stringify(listing)}\n`, '', 0, null);
    expect(p.ok && p.adapters).toEqual([{ backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' }]);
    // Not asked for: no list; asked for but unreadable: null (each trial then checks its own index).
    const plain = parseProbeOutput(found, '', 0, null);
    expect(plain.ok && 'adapters' in plain).toBe(false);
    const garbled = parseProbeOutput(`${found}BSTUNE_ADAPTERS "Dawn said something else"\n`, '', 0, null);
    expect(garbled.ok && garbled.adapters).toBeNull();
  });
  it.each([
    [line(null), 'Warning: vkCreateInstance: Found no drivers!', 0, null, /^Dawn found no WebGPU adapter \(Vulkan: no driver found/],
    [line(null), 'Vulkan shaderUniformBufferArrayDynamicIndexing required', 0, null, /Debian 12's Mesa 22/],
    ['', '', null, 'SIGSEGV', /crashed \(SIGSEGV\) inside the GPU driver/],
    ['', "Error: Cannot find module 'dawn.node'\n    at x", 1, null, /^loading webgpu failed \(exit 1\): Error: Cannot find module/],
  ] as const)('no adapter: %#', (stdout, stderr, status, signal, why) => {
    const p = parseProbeOutput(stdout, stderr, status, signal);
    expect(p.ok).toBe(false);
    expect(!p.ok && p.why).toMatch(why);
  });
});

describe('chooseBackend with webgpu', () => {
  const noGpu: typeof probeGpu = () => ({ ok: false, why: 'no CUDA' });
  const adapter = (fallback: boolean): AdapterFacts => ({
    description: fallback ? 'llvmpipe' : 'NVIDIA GeForce RTX 3060', vendor: fallback ? 'mesa' : 'nvidia', architecture: fallback ? 'software' : 'ampere',
    device: '', isFallbackAdapter: fallback, maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 2 ** 32 - 1,
  });
  const found = (fallback: boolean) => (): WebgpuProbe => ({ ok: true, adapter: adapter(fallback) });
  const none = (): WebgpuProbe => ({ ok: false, why: 'Dawn found no WebGPU adapter' });
  const installed = (...pkgs: string[]) => (p: string) => pkgs.includes(p);
  const WEBGPU = ['webgpu', '@tensorflow/tfjs-backend-webgpu'];

  it('auto takes a hardware adapter, never a software one', () => {
    expect(chooseBackend('auto', noGpu, installed(...WEBGPU), found(false))).toMatchObject({ name: 'webgpu', why: 'auto: WebGPU found a GPU adapter', memory: 'GPU device memory (WebGPU buffers)' });
    expect(chooseBackend('auto', noGpu, installed(...WEBGPU), found(true)).name).toBe('wasm');
    expect(chooseBackend('auto', noGpu, installed(...WEBGPU), none).name).toBe('wasm');
  });
  it('auto does not even probe when the packages are missing', () => {
    const probe = () => { throw new Error('probed'); };
    expect(chooseBackend('auto', noGpu, installed(), probe).name).toBe('wasm');
  });
  it('asked for on a software adapter: runs, and warns it is not a GPU answer', () => {
    const c = chooseBackend('webgpu', noGpu, installed(...WEBGPU), found(true));
    expect(c.name).toBe('webgpu');
    expect(c.warning).toMatch(/software\/fallback adapter.*not a GPU answer/);
    expect(c.memory).toMatch(/not a GPU answer/);
  });
  it('with --gpus one probe both picks the adapter and lists them all: the choice carries the list for the pool', () => {
    const asked: boolean[] = [];
    const list = [{ backend: 'vulkan', name: 'llvmpipe' }];
    const probe = (listAdapters: boolean): WebgpuProbe => {
      asked.push(listAdapters);
      return { ok: true, adapter: adapter(true), ...(listAdapters ? { adapters: list } : {}) };
    };
    expect(chooseBackend('webgpu', noGpu, installed(...WEBGPU), probe, true).adapters).toEqual(list);
    expect(chooseBackend('webgpu', noGpu, installed(...WEBGPU), probe).adapters).toBeUndefined();
    expect(asked).toEqual([true, false]);
  });
  it('asked for but missing or without an adapter: a clear usage error with the fix', () => {
    const missing = bstuneErrorFrom(() => chooseBackend('webgpu', noGpu, installed('webgpu'), none));
    expect(missing.code).toBe('BSTUNE_BACKEND_UNAVAILABLE');
    expect(missing.message).toMatch(/^backend webgpu is not installed; install it with: cd \S+ && npm i --save-optional webgpu@\^0\.6\.2 @tensorflow\/tfjs-backend-webgpu@\^4\.22\.0   # /);
    expect(bstuneErrorFrom(() => chooseBackend('webgpu', noGpu, installed(...WEBGPU), none)).message).toBe('backend webgpu: Dawn found no WebGPU adapter');
  });
});

describe('mayHaveVulkanDriver: whether auto probes for an adapter at all', () => {
  it('only on Linux without any ICD file or ICD variable does it skip the probe', () => {
    const empty = { XDG_DATA_DIRS: '/nonexistent' };
    expect(mayHaveVulkanDriver({ ...empty, VK_ICD_FILENAMES: '/x/icd.json' }, 'linux')).toBe(true);
    expect(mayHaveVulkanDriver(empty, 'darwin')).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'icd-'));
    mkdirSync(join(dir, 'vulkan', 'icd.d'), { recursive: true });
    const withDir = { XDG_DATA_DIRS: dir };
    const systemHasOne = mayHaveVulkanDriver({ XDG_DATA_DIRS: '/nonexistent' }, 'linux'); // /etc/vulkan/icd.d
    expect(mayHaveVulkanDriver(withDir, 'linux')).toBe(systemHasOne);
    writeFileSync(join(dir, 'vulkan', 'icd.d', 'nvidia_icd.json'), '{}');
    expect(mayHaveVulkanDriver(withDir, 'linux')).toBe(true);
  });
});

describe('choosing a WebGPU adapter by index (--gpus)', () => {
  // Dawn's rejection of an adapter name no device has, as dawn.node 0.6.2 words it.
  const listing = (...names: string[]) => `no suitable backends found\nAvailable adapters:${names.map((n) => `\n * backend: 'vulkan', name: '${n}'`).join('')}`;

  it('reads Dawn\'s list of adapters in its order', () => {
    expect(parseAdapterList(listing('llvmpipe (LLVM 15.0.6, 256 bits)'))).toEqual([{ backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' }]);
    expect(parseAdapterList(listing('NVIDIA GeForce RTX 4090', 'AMD Radeon (it\'s quoted)')).map((a) => a.name)).toEqual(['NVIDIA GeForce RTX 4090', 'AMD Radeon (it\'s quoted)']);
    expect(parseAdapterList('no adapter with backend \'vulkan\' found\nAvailable adapters:')).toEqual([]);
  });

  it('picks adapter i by its name when that name selects it and no earlier one', () => {
    const list = parseAdapterList(listing('NVIDIA GeForce RTX 3090 Ti', 'NVIDIA GeForce RTX 3090', 'llvmpipe'));
    expect(pickAdapter(list, 0)).toEqual({ name: 'NVIDIA GeForce RTX 3090 Ti' });
    expect(pickAdapter(list, 2)).toEqual({ name: 'llvmpipe' });
    // Dawn selects the first adapter whose name contains the one asked for: "... 3090" would get the Ti.
    expect(pickAdapter(list, 1)).toEqual({ error: expect.stringMatching(/^WebGPU adapter 1 \(NVIDIA GeForce RTX 3090\) cannot be chosen apart from adapter 0 \(NVIDIA GeForce RTX 3090 Ti\): Dawn's node binding selects adapters by name only/) });
  });

  it('says which adapters there are when the index is past them', () => {
    expect(pickAdapter(parseAdapterList(listing('llvmpipe (LLVM 15.0.6, 256 bits)')), 1)).toEqual({ error: 'no WebGPU adapter 1: Dawn lists 1 WebGPU adapter: 0 = llvmpipe (LLVM 15.0.6, 256 bits) (vulkan)' });
    expect(pickAdapter([], 0)).toEqual({ error: 'no WebGPU adapter 0: Dawn lists no WebGPU adapter here' });
  });

  it('the local pool checks every index before any trial (and leaves it to the trials when Dawn could not be asked)', () => {
    const list = parseAdapterList(listing('llvmpipe (LLVM 15.0.6, 256 bits)'));
    expect(() => checkWebgpuAdapters(['0'], list)).not.toThrow();
    expect(() => checkWebgpuAdapters(['0', '1'], list)).toThrow(/^no WebGPU adapter 1: Dawn lists 1 WebGPU adapter/);
    expect(() => checkWebgpuAdapters(['0', '1'], null)).not.toThrow();
  });

  it('reads the index the local pool gives a trial, and refuses a CUDA UUID', () => {
    expect(adapterIndexFrom({})).toBeNull();
    expect(adapterIndexFrom({ BSTUNE_WEBGPU_ADAPTER: '3' })).toBe(3);
    expect(() => adapterIndexFrom({ BSTUNE_WEBGPU_ADAPTER: 'GPU-8f6e' })).toThrow(/takes adapter indices/);
  });
});
