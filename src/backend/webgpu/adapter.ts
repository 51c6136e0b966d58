/**
 * WebGPU in Node through the `webgpu` npm package (Dawn): putting `navigator.gpu` in place
 * and describing the adapter. Both `webgpu` and `@tensorflow/tfjs-backend-webgpu` are
 * optional: nothing here is imported unless the webgpu backend is asked for, or `auto`
 * and `bstune doctor` probe for an adapter (in a child process, see probe.ts).
 */
import { BstuneError } from '../../errors.js';
import { installCommand } from '../install-advice.js';

/** What bstune needs to know about an adapter: who made it and the limits a trial must respect. */
export interface AdapterFacts {
  /** e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" or "NVIDIA GeForce RTX 3060". */
  description: string;
  vendor: string;
  architecture: string;
  device: string;
  /** A software or otherwise degraded adapter (Mesa's llvmpipe, SwiftShader, WARP). */
  isFallbackAdapter: boolean;
  /** Largest buffer a shader can bind: any tensor above it computes garbage silently. */
  maxStorageBufferBindingSize: number;
  /** Largest buffer the device can create at all. */
  maxBufferSize: number;
}

export const WEBGPU_PACKAGES = ['webgpu', '@tensorflow/tfjs-backend-webgpu'] as const;
/** How to install both packages for this copy of bstune (see install-advice.ts). */
export const webgpuInstall = (): string => installCommand(...WEBGPU_PACKAGES);

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
export interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
}

/**
 * Sets `navigator.gpu` and the WebGPU globals (GPUBufferUsage, ...). It must run before
 * `@tensorflow/tfjs-backend-webgpu` is imported: that module registers its backend only
 * when it finds `navigator.gpu` at load time. With `adapterIndex` (a trial under
 * `--gpus`), every requestAdapter answers with that adapter of Dawn's list (chooseAdapter).
 */
export async function installNavigatorGpu(adapterIndex: number | null = null): Promise<GpuLike> {
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  const { create, globals } = (await import('webgpu')) as unknown as { create: (flags: string[]) => GpuLike; globals: Record<string, unknown> };
  Object.assign(globalThis, globals);
  const gpu = create(adapterIndex === null ? [] : [`adapter=${await chooseAdapter(create, adapterIndex)}`]);
  // Node 21+ has a read-only global navigator: define the property rather than assign it.
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

/** The adapter options tfjs-backend-webgpu asks with; the list must be in the order it sees. */
export const TFJS_ADAPTER_OPTIONS = { powerPreference: 'high-performance' };
/** No device name contains it: Dawn then rejects with its list of adapters. */
export const NO_SUCH_ADAPTER = 'bstune: list the adapters';

/**
 * Dawn's node binding picks an adapter by name only (`create(['adapter=NAME'])`: the first
 * adapter whose device name contains NAME); it has no index. Its list comes with the
 * rejection of a name no device has, in the order requestAdapter chooses from, so adapter
 * i of that list is selected by its name, when that name picks it and no earlier one.
 */
async function chooseAdapter(create: (flags: string[]) => GpuLike, index: number): Promise<string> {
  let listing = '';
  try {
    await create([`adapter=${NO_SUCH_ADAPTER}`]).requestAdapter(TFJS_ADAPTER_OPTIONS);
  } catch (e) {
    listing = String((e as { message?: unknown })?.message ?? e);
  }
  const picked = pickAdapter(parseAdapterList(listing), index);
  if ('error' in picked) throw new BstuneError('BSTUNE_USAGE', picked.error, '--gpus');
  return picked.name;
}

/** Pure: Dawn's "Available adapters:" lines → their names, in Dawn's order. */
export function parseAdapterList(message: string): { backend: string; name: string }[] {
  return [...message.matchAll(/^ \* backend: '([^']*)', name: '(.*)'$/gm)].map((m) => ({ backend: m[1]!, name: m[2]! }));
}

/** Pure: which name selects adapter `index` of the list, or why none can. */
export function pickAdapter(list: { backend: string; name: string }[], index: number): { name: string } | { error: string } {
  const all = list.map((a, i) => `${i} = ${a.name} (${a.backend})`).join(', ');
  if (index >= list.length) {
    const has = list.length === 0 ? 'Dawn lists no WebGPU adapter here' : `Dawn lists ${list.length} WebGPU adapter${list.length === 1 ? '' : 's'}: ${all}`;
    return { error: `no WebGPU adapter ${index}: ${has}` };
  }
  const name = list[index]!.name;
  const first = list.findIndex((a) => a.name.includes(name));
  if (first !== index) {
    return { error: `WebGPU adapter ${index} (${name}) cannot be chosen apart from adapter ${first} (${list[first]!.name}): Dawn's node binding selects adapters by name only (${all})` };
  }
  return { name };
}

/** BSTUNE_WEBGPU_ADAPTER, set by the local pool for a trial under --gpus: the adapter's index. */
export function adapterIndexFrom(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env.BSTUNE_WEBGPU_ADAPTER;
  if (v === undefined || v === '') return null;
  if (!/^\d+$/.test(v)) throw new BstuneError('BSTUNE_USAGE', `--gpus ${v}: the webgpu backend takes adapter indices (0, 1, ... in Dawn's order)`, '--gpus');
  return Number(v);
}

export function describeAdapter(a: AdapterLike): AdapterFacts {
  const info = a.info ?? {};
  const architecture = info.architecture ?? '';
  return {
    description: (info.description || info.device || 'unknown adapter').trim(),
    vendor: info.vendor ?? '',
    architecture,
    device: info.device ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? a.isFallbackAdapter) || architecture === 'software',
    maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
    maxBufferSize: a.limits.maxBufferSize,
  };
}

/** One line for the backend banner, e.g. "llvmpipe: Mesa 25.0.7 (mesa, software; fallback adapter)". */
export function adapterLine(f: AdapterFacts): string {
  const tags = [f.vendor, f.architecture].filter((s) => s !== '').join(', ');
  return `${f.description}${tags ? ` (${tags}${f.isFallbackAdapter ? '; fallback adapter' : ''})` : f.isFallbackAdapter ? ' (fallback adapter)' : ''}`;
}

/** Trials and the probe request the same adapter tfjs does (high-performance). */
export async function requestAdapterFacts(): Promise<AdapterFacts | null> {
  const gpu = await installNavigatorGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? describeAdapter(adapter) : null;
}

/**
 * Before any trial (prepare.ts, with the backend probe's list): every --gpus index names an adapter
 * Dawn can select (each trial process checks its own too, e.g. on a queue worker). Without a list
 * (it could not be read) the trials say why.
 */
export function checkWebgpuAdapters(ids: string[], list: { backend: string; name: string }[] | null): void {
  if (list === null) return;
  for (const id of ids) {
    const picked = pickAdapter(list, Number(id));
    if ('error' in picked) throw new BstuneError('BSTUNE_USAGE', picked.error, '--gpus');
  }
}
