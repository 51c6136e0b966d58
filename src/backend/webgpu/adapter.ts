/**
 * WebGPU in Node through the `webgpu` npm package (Dawn): putting `navigator.gpu` in place
 * and describing the adapter. Both `webgpu` and `@tensorflow/tfjs-backend-webgpu` are
 * optional: nothing here is imported unless the webgpu backend is asked for, or `auto`
 * and `bstune doctor` probe for an adapter (in a child process, see probe.ts).
 */
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
 * when it finds `navigator.gpu` at load time.
 */
export async function installNavigatorGpu(): Promise<GpuLike> {
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  const { create, globals } = (await import('webgpu')) as unknown as { create: (flags: string[]) => GpuLike; globals: Record<string, unknown> };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // Node 21+ has a read-only global navigator: define the property rather than assign it.
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
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
