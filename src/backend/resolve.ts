import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem, arch } from 'node:os';
import { BstuneError } from '../errors.js';
import { installCommand } from './install-advice.js';
import type { BackendName } from '../config/schema.js';
import { probeWebgpu, mayHaveVulkanDriver, type AdapterList, type WebgpuProbe } from './webgpu/probe.js';
import { adapterLine, webgpuInstall, WEBGPU_PACKAGES } from './webgpu/adapter.js';

export type ConcreteBackend = Exclude<BackendName, 'auto'>;

export interface BackendChoice {
  name: ConcreteBackend;
  /** What the trials run on, e.g. "NVIDIA A10G, 22.1 GiB" or "2-core x86_64 CPU, 24 GiB RAM". */
  device: string;
  /** Why this backend: for `auto`, what was found. */
  why: string;
  /** What "out of memory" means on it; printed so a CPU answer is never mistaken for a GPU one. */
  memory: string;
  /** Said once before the trials, e.g. that a software WebGPU adapter is not a GPU answer. */
  warning?: string;
  /** webgpu with --gpus: Dawn's adapter list, read by the same probe (null: it could not be read). */
  adapters?: AdapterList | null;
}

const requireHere = createRequire(import.meta.url);
const packages: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

export function isInstalled(pkg: string): boolean {
  try {
    requireHere.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

export function cpuDevice(): string {
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `${cpus().length}-core ${arch()} CPU (${cpus()[0]?.model.trim() ?? 'unknown'}), ${gib} GiB RAM`;
}

const install = {
  'tensorflow-gpu': () => `${installCommand(packages['tensorflow-gpu'])} (it needs Linux x86_64, an NVIDIA driver, CUDA 11.2 and cuDNN 8.1)`,
  tensorflow: () => installCommand(packages.tensorflow),
};

/**
 * Asks TensorFlow itself whether it registers a GPU: loading tfjs-node-gpu on a machine
 * without a working CUDA set-up silently falls back to the CPU, so being installed is
 * not enough. TensorFlow logs each device it creates; a short child process reads that.
 */
export function probeGpu(timeoutMs = 60_000): { ok: true; device: string } | { ok: false; why: string } {
  // Resolved here, not by the probe: the user's working directory may not see our node_modules.
  const url = pathToFileURL(requireHere.resolve(packages['tensorflow-gpu'])).href;
  const script = `import(${JSON.stringify(url)}).then((m) => { const tf = m.default ?? m; tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])).dataSync(); })`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0' },
  });
  const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  if (r.status !== 0) return { ok: false, why: `loading @tensorflow/tfjs-node-gpu failed: ${log.trim().split('\n').pop() ?? r.error?.message}` };
  const created = /Created (?:TensorFlow )?device \S*GPU:(\d+).*?with (\d+) MB memory.*?name: ([^,]+)/.exec(log);
  if (created) return { ok: true, device: `${created[3]!.trim()} (GPU:${created[1]}, ${(Number(created[2]) / 1024).toFixed(1)} GiB usable)` };
  if (/device:GPU:\d/.test(log)) return { ok: true, device: 'NVIDIA GPU (GPU:0)' };
  return { ok: false, why: 'TensorFlow registered no GPU device (check the NVIDIA driver, CUDA 11.2 and cuDNN 8.1; `nvidia-smi` should list the card)' };
}

function webgpuChoice(probe: Extract<WebgpuProbe, { ok: true }>, why: string): BackendChoice {
  const a = probe.adapter;
  const listed = probe.adapters !== undefined ? { adapters: probe.adapters } : {};
  if (a.isFallbackAdapter) {
    return {
      name: 'webgpu', why, device: `WebGPU ${adapterLine(a)}`,
      memory: `WebGPU buffers of a software adapter, in host RAM (${(totalmem() / 2 ** 30).toFixed(0)} GiB); not a GPU answer`,
      warning: `WebGPU adapter "${a.description}" is a software/fallback adapter: its memory and speed are the CPU's, not a GPU answer`,
      ...listed,
    };
  }
  return { name: 'webgpu', why, device: `WebGPU ${adapterLine(a)}`, memory: 'GPU device memory (WebGPU buffers)', ...listed };
}

const defaultWebgpuProbe = (listAdapters: boolean) => probeWebgpu(30_000, process.env, listAdapters);

/**
 * Decides the backend in the parent, once, so every trial runs on the same one.
 * `listAdapters` (--gpus): a webgpu choice carries Dawn's adapter list from the same probe.
 */
export function chooseBackend(
  requested: BackendName, gpuProbe: typeof probeGpu = probeGpu, installed: (pkg: string) => boolean = isInstalled,
  webgpuProbe: (listAdapters: boolean) => WebgpuProbe = defaultWebgpuProbe, listAdapters = false,
): BackendChoice {
  const ram = `host RAM (${(totalmem() / 2 ** 30).toFixed(0)} GiB); not a GPU answer`;
  const cpuChoice = (name: 'wasm' | 'cpu', why: string): BackendChoice => ({
    name, why, device: name === 'wasm' ? `${cpuDevice()}, wasm SIMD` : cpuDevice(),
    memory: name === 'wasm' ? `the wasm heap (4 GiB cap) in ${ram}` : ram,
  });
  if (requested === 'cpu') return cpuChoice('cpu', 'requested');
  if (requested === 'wasm') return cpuChoice('wasm', 'requested');
  if (requested === 'tensorflow-gpu' || requested === 'auto') {
    if (installed(packages['tensorflow-gpu'])) {
      const probe = gpuProbe();
      if (probe.ok) return { name: 'tensorflow-gpu', device: probe.device, why: requested === 'auto' ? 'auto: tfjs-node-gpu found a GPU' : 'requested', memory: 'GPU device memory' };
      if (requested === 'tensorflow-gpu') throw new BstuneError('BSTUNE_BACKEND_UNAVAILABLE', `backend tensorflow-gpu: ${probe.why}`, '--backend');
    } else if (requested === 'tensorflow-gpu') {
      throw new BstuneError('BSTUNE_BACKEND_UNAVAILABLE', `backend tensorflow-gpu is not installed; install it with: ${install['tensorflow-gpu']()}`, '--backend');
    }
  }
  if (requested === 'webgpu') {
    if (!WEBGPU_PACKAGES.every(installed)) {
      throw new BstuneError('BSTUNE_BACKEND_UNAVAILABLE', `backend webgpu is not installed; install it with: ${webgpuInstall()}`, '--backend');
    }
    const probe = webgpuProbe(listAdapters);
    if (!probe.ok) throw new BstuneError('BSTUNE_BACKEND_UNAVAILABLE', `backend webgpu: ${probe.why}`, '--backend');
    return webgpuChoice(probe, 'requested');
  }
  if (requested === 'auto' && WEBGPU_PACKAGES.every(installed) && (webgpuProbe !== defaultWebgpuProbe || mayHaveVulkanDriver())) {
    // Only a hardware adapter: a software one (llvmpipe) is slower than wasm and no GPU answer.
    const probe = webgpuProbe(listAdapters);
    if (probe.ok && !probe.adapter.isFallbackAdapter) return webgpuChoice(probe, `auto: WebGPU found a GPU adapter`);
  }
  if (requested === 'tensorflow' || requested === 'auto') {
    if (installed(packages.tensorflow)) {
      return { name: 'tensorflow', device: `${cpuDevice()}, libtensorflow`, why: requested === 'auto' ? 'auto: @tensorflow/tfjs-node found' : 'requested', memory: ram };
    }
    if (requested === 'tensorflow') {
      throw new BstuneError('BSTUNE_BACKEND_UNAVAILABLE', `backend tensorflow is not installed; install it with: ${install.tensorflow()}`, '--backend');
    }
  }
  return cpuChoice('wasm', 'auto: no TensorFlow binding installed');
}
