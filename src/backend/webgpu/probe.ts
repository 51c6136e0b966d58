import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeAdapter, parseAdapterList, NO_SUCH_ADAPTER, TFJS_ADAPTER_OPTIONS, type AdapterFacts, type AdapterLike } from './adapter.js';

const requireHere = createRequire(import.meta.url);

export type WebgpuProbe = { ok: true; adapter: AdapterFacts } | { ok: false; why: string };

const MARK = 'BSTUNE_ADAPTER ';

/**
 * Asks Dawn for an adapter in a short child process: loading a GPU driver can crash or
 * hang (a broken Vulkan install), and the parent must outlive that. Takes 0.1–1 s.
 * The child inherits the environment, so VK_ICD_FILENAMES and friends apply.
 */
export function probeWebgpu(timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): WebgpuProbe {
  let url: string;
  try {
    url = pathToFileURL(requireHere.resolve('webgpu')).href;
  } catch {
    return { ok: false, why: 'the webgpu package is not installed' };
  }
  const script = `
    const { create, globals } = await import(${JSON.stringify(url)});
    Object.assign(globalThis, globals);
    const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
    const info = a ? { vendor: a.info?.vendor, architecture: a.info?.architecture, device: a.info?.device, description: a.info?.description, isFallbackAdapter: a.info?.isFallbackAdapter } : null;
    const limits = a ? { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize } : null;
    process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify(a ? { info, isFallbackAdapter: a.isFallbackAdapter, limits } : null) + '\\n', () => process.exit(0));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs, env });
  return parseProbeOutput(r.stdout ?? '', r.stderr ?? '', r.status, r.signal, r.error);
}

const LIST_MARK = 'BSTUNE_ADAPTERS ';

/**
 * Dawn's list of adapters, in the order a trial under --gpus indexes it (see chooseAdapter in
 * adapter.ts), from a short child process like probeWebgpu's; null when it cannot be read
 * (then each trial process checks its own index).
 */
export function listWebgpuAdapters(timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): { backend: string; name: string }[] | null {
  let url: string;
  try {
    url = pathToFileURL(requireHere.resolve('webgpu')).href;
  } catch {
    return null;
  }
  const script = `
    const { create, globals } = await import(${JSON.stringify(url)});
    Object.assign(globalThis, globals);
    let listing = '';
    try { await create([${JSON.stringify(`adapter=${NO_SUCH_ADAPTER}`)}]).requestAdapter(${JSON.stringify(TFJS_ADAPTER_OPTIONS)}); }
    catch (e) { listing = String(e?.message ?? e); }
    process.stdout.write(${JSON.stringify(LIST_MARK)} + JSON.stringify(listing) + '\n', () => process.exit(0));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs, env });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(LIST_MARK));
  return line ? parseAdapterList(JSON.parse(line.slice(LIST_MARK.length)) as string) : null;
}

/**
 * On Linux, Dawn's adapters come from Vulkan drivers, each announced by an ICD file; with
 * none, there is no adapter and `auto` need not pay for a probe (a second Node start).
 */
export function mayHaveVulkanDriver(env: NodeJS.ProcessEnv = process.env, platform = process.platform): boolean {
  if (platform !== 'linux') return true;
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES) return true;
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const dirs = ['/etc/vulkan/icd.d', ...dataDirs.map((d) => join(d, 'vulkan', 'icd.d'))];
  return dirs.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
}

/** Pure: what the probe child printed → an adapter or why there is none. */
export function parseProbeOutput(stdout: string, stderr: string, status: number | null, signal: string | null, error?: Error): WebgpuProbe {
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  if (line) {
    const parsed = JSON.parse(line.slice(MARK.length)) as AdapterLike | null;
    if (parsed) return { ok: true, adapter: describeAdapter(parsed) };
    return { ok: false, why: `Dawn found no WebGPU adapter${vulkanHint(stderr)}` };
  }
  if (error && /ETIMEDOUT/.test(error.message)) return { ok: false, why: 'the adapter probe timed out (a hung GPU driver?)' };
  if (signal) return { ok: false, why: `the adapter probe crashed (${signal}) inside the GPU driver` };
  const last = stderr.trim().split('\n').filter((l) => !/^\s+at /.test(l)).pop() ?? '';
  return { ok: false, why: `loading webgpu failed (exit ${status}): ${last.slice(0, 200)}` };
}

/** Dawn's Vulkan loader warnings say why: no driver at all, or one it rejects. */
function vulkanHint(stderr: string): string {
  if (/Found no drivers|VK_ERROR_INCOMPATIBLE_DRIVER/.test(stderr)) return ' (Vulkan: no driver found; install your GPU\'s Vulkan driver, or Mesa\'s lavapipe for a software device)';
  if (/ArrayDynamicIndexing required/.test(stderr)) return ' (Vulkan: the driver lacks features Dawn requires, e.g. Debian 12\'s Mesa 22; Mesa 25 works)';
  if (/libvulkan/.test(stderr)) return ' (the Vulkan loader libvulkan.so.1 is missing: apt-get install libvulkan1)';
  return '';
}
