/**
 * `bstune doctor`'s facts: which backends are installed and load, which GPUs exist
 * (nvidia-smi, WebGPU adapters), whether tfjs-node-gpu's CUDA 11.x / cuDNN 8.x libraries
 * can be loaded, and the commands that fix what is missing. Gathered here, printed by
 * src/cli/commands/doctor.ts. Every outside program is found through the given PATH, so
 * tests put fakes first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isInstalled, probeGpu } from './resolve.js';
import { findCudaLibraries, cudaFixes, STANDARD_CUDA_DIRS, type CudaLibrary } from './cuda-libs.js';
import { probeWebgpu, type WebgpuProbe } from './webgpu/probe.js';
import { webgpuInstall, WEBGPU_PACKAGES, type AdapterFacts } from './webgpu/adapter.js';
import { installCommand } from './install-advice.js';
import type { ConcreteBackend } from './resolve.js';

export interface BackendFact {
  name: ConcreteBackend;
  installed: boolean;
  /** null: not tried (not installed). */
  loads: boolean | null;
  detail: string;
  fix: string | null;
}
export interface NvidiaGpu { index: number; name: string; memoryTotalBytes: number; driverVersion: string }
export interface DoctorFacts {
  platform: string;
  node: string;
  backends: BackendFact[];
  nvidiaSmi: { found: boolean; gpus: NvidiaGpu[]; detail: string; fix: string | null };
  webgpu: { installed: boolean; adapter: AdapterFacts | null; detail: string; fix: string | null };
  cuda: { libraries: CudaLibrary[]; ok: boolean; fixes: string[] };
  /** Every fix above, in order, once. */
  fixes: string[];
}

export interface DoctorOptions {
  env?: NodeJS.ProcessEnv;
  installed?: (pkg: string) => boolean;
  gpuProbe?: typeof probeGpu;
  webgpuProbe?: (env: NodeJS.ProcessEnv) => WebgpuProbe;
  /** Checks that cpu and wasm load in this process (tests of other checks skip it). */
  loadOffline?: () => Promise<{ cpu: string | null; wasm: string | null }>;
  standardCudaDirs?: readonly string[];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): { ok: boolean; missing: boolean; out: string; err: string; status: number | null } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 20_000 });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { ok: r.status === 0, missing, out: r.stdout ?? '', err: r.stderr ?? '', status: r.status };
}

/** `nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader,nounits`. */
export function parseNvidiaSmiGpus(out: string): NvidiaGpu[] {
  return out.split('\n').flatMap((line) => {
    const cols = line.split(',').map((s) => s.trim());
    if (cols.length < 4 || !/^\d+$/.test(cols[0]!)) return [];
    return [{ index: Number(cols[0]), name: cols[1]!, memoryTotalBytes: Number(cols[2]) * 2 ** 20, driverVersion: cols[3]! }];
  });
}

const NVIDIA_DRIVER_FIX = 'install the NVIDIA driver for your card (Debian: apt-get install nvidia-driver from non-free; Ubuntu: sudo ubuntu-drivers install), then check that `nvidia-smi` lists it';

function nvidiaFacts(env: NodeJS.ProcessEnv): DoctorFacts['nvidiaSmi'] {
  const r = run('nvidia-smi', ['--query-gpu=index,name,memory.total,driver_version', '--format=csv,noheader,nounits'], env);
  if (r.missing) return { found: false, gpus: [], detail: 'not found (no NVIDIA driver installed, or not on PATH)', fix: NVIDIA_DRIVER_FIX };
  if (!r.ok) {
    const why = (r.out + r.err).trim().split('\n')[0] ?? '';
    return { found: true, gpus: [], detail: `nvidia-smi failed (exit ${r.status}): ${why.slice(0, 200)}`, fix: 'the NVIDIA driver is installed but not working: reboot after installing it, or reinstall the driver matching your kernel' };
  }
  const gpus = parseNvidiaSmiGpus(r.out);
  return { found: true, gpus, detail: gpus.length > 0 ? `${gpus.length} NVIDIA GPU${gpus.length > 1 ? 's' : ''}` : 'nvidia-smi lists no GPU', fix: null };
}

async function loadOfflineBackends(): Promise<{ cpu: string | null; wasm: string | null }> {
  const { setupBackend } = await import('./setup.js');
  const attempt = async (name: 'cpu' | 'wasm') => {
    try {
      await setupBackend(name);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  return { wasm: await attempt('wasm'), cpu: await attempt('cpu') };
}

export async function gatherDoctorFacts(o: DoctorOptions = {}): Promise<DoctorFacts> {
  const env = o.env ?? process.env;
  const installed = o.installed ?? isInstalled;
  const offline = await (o.loadOffline ?? loadOfflineBackends)();
  const backends: BackendFact[] = [
    { name: 'cpu', installed: true, loads: offline.cpu === null, detail: offline.cpu ?? 'pure JavaScript, always available', fix: null },
    { name: 'wasm', installed: true, loads: offline.wasm === null, detail: offline.wasm ?? 'WebAssembly SIMD with bstune\'s training kernels', fix: null },
  ];

  const tfNode = installed('@tensorflow/tfjs-node');
  backends.push({ name: 'tensorflow', installed: tfNode, loads: null, detail: tfNode ? 'installed (libtensorflow on the CPU)' : 'not installed', fix: tfNode ? null : installCommand('@tensorflow/tfjs-node') });

  const tfGpu = installed('@tensorflow/tfjs-node-gpu');
  if (tfGpu) {
    const probe = (o.gpuProbe ?? probeGpu)();
    backends.push({ name: 'tensorflow-gpu', installed: true, loads: probe.ok, detail: probe.ok ? probe.device : probe.why, fix: probe.ok ? null : 'see the NVIDIA driver and CUDA/cuDNN checks below' });
  } else {
    backends.push({ name: 'tensorflow-gpu', installed: false, loads: null, detail: 'not installed', fix: `${installCommand('@tensorflow/tfjs-node-gpu')} (Linux x86_64 with an NVIDIA driver, CUDA 11.2 and cuDNN 8.1)` });
  }

  let webgpu: DoctorFacts['webgpu'];
  const wgInstalled = WEBGPU_PACKAGES.every(installed);
  if (!wgInstalled) {
    webgpu = { installed: false, adapter: null, detail: 'not installed', fix: webgpuInstall() };
  } else {
    const probe = (o.webgpuProbe ?? ((e) => probeWebgpu(30_000, e)))(env);
    webgpu = probe.ok
      ? { installed: true, adapter: probe.adapter, detail: probe.adapter.isFallbackAdapter ? 'a software/fallback adapter only: runs, but not a GPU answer' : 'a hardware adapter', fix: null }
      : { installed: true, adapter: null, detail: probe.why, fix: 'install your GPU\'s Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: apt-get install mesa-vulkan-drivers, but Dawn rejects Debian 12\'s Mesa 22.3: take it from bookworm-backports, Mesa 25 works); check with vulkaninfo --summary. No GPU: Mesa\'s software device from a clone\'s .ci/install-lavapipe and three variables (README: "No GPU: try the WebGPU path on the CPU")' };
  }
  backends.push({ name: 'webgpu', installed: wgInstalled, loads: wgInstalled ? webgpu.adapter !== null : null, detail: webgpu.adapter ? `${webgpu.adapter.description}${webgpu.adapter.isFallbackAdapter ? ' (software: not a GPU answer)' : ''}` : webgpu.detail, fix: webgpu.fix });

  const nvidiaSmi = nvidiaFacts(env);

  const ld = run('ldconfig', ['-p'], env);
  const ldconfig = ld.ok ? ld.out : run('/sbin/ldconfig', ['-p'], env).out;
  const libraries = findCudaLibraries({ ldconfig, ldLibraryPath: env.LD_LIBRARY_PATH, standardDirs: o.standardCudaDirs ?? STANDARD_CUDA_DIRS, exists: existsSync });
  const cudaFixList = cudaFixes(libraries);
  const cuda = { libraries, ok: libraries.every((l) => l.path !== null), fixes: cudaFixList };

  const fixes = [...new Set([...backends.flatMap((b) => (b.fix && !b.fix.startsWith('see ') ? [b.fix] : [])), ...(nvidiaSmi.fix ? [nvidiaSmi.fix] : []), ...cudaFixList])];
  return { platform: `${process.platform}-${process.arch}`, node: process.version, backends, nvidiaSmi, webgpu, cuda, fixes };
}
