import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeAdapter, parseAdapterList, NO_SUCH_ADAPTER, TFJS_ADAPTER_OPTIONS, type AdapterFacts, type AdapterLike } from './adapter.js';

const requireHere = createRequire(import.meta.url);

/** Dawn's adapters, in the order a trial under --gpus indexes them (see chooseAdapter in adapter.ts). */
export type AdapterList = { backend: string; name: string }[];

/** `adapters`: Dawn's list when the probe was asked for it (null when it could not be read). */
export type WebgpuProbe = { ok: true; adapter: AdapterFacts; adapters?: AdapterList | null } | { ok: false; why: string };

const MARK = 'BSTUNE_ADAPTER ';
const LIST_MARK = 'BSTUNE_ADAPTERS ';

/**
 * Asks Dawn for an adapter in a short child process: loading a GPU driver can crash or
 * hang (a broken Vulkan install), and the parent must outlive that. Takes 0.1–1 s.
 * The child inherits the environment, so VK_ICD_FILENAMES and friends apply.
 * With `listAdapters` (--gpus) the same child also reads Dawn's adapter list, so the
 * indices are checked without a second Node start.
 */
export function probeWebgpu(timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env, listAdapters = false): WebgpuProbe {
  let url: string;
  try {
    url = pathToFileURL(requireHere.resolve('webgpu')).href;
  } catch {
    return { ok: false, why: 'the webgpu package is not installed' };
  }
  // The list comes with Dawn's rejection of an adapter name no device has.
  const list = listAdapters ? `
    let listing = '';
    try { await create([${JSON.stringify(`adapter=${NO_SUCH_ADAPTER}`)}]).requestAdapter(${JSON.stringify(TFJS_ADAPTER_OPTIONS)}); }
    catch (e) { listing = String(e?.message ?? e); }
    out += ${JSON.stringify(LIST_MARK)} + JSON.stringify(listing) + '\\n';` : '';
  const script = `
    const { create, globals } = await import(${JSON.stringify(url)});
    Object.assign(globalThis, globals);
    const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
    const info = a ? { vendor: a.info?.vendor, architecture: a.info?.architecture, device: a.info?.device, description: a.info?.description, isFallbackAdapter: a.info?.isFallbackAdapter } : null;
    const limits = a ? { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize } : null;
    let out = ${JSON.stringify(MARK)} + JSON.stringify(a ? { info, isFallbackAdapter: a.isFallbackAdapter, limits } : null) + '\\n';${list}
    process.stdout.write(out, () => process.exit(0));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs, env });
  return parseProbeOutput(r.stdout ?? '', r.stderr ?? '', r.status, r.signal, r.error);
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
  const lines = stdout.split('\n');
  const line = lines.find((l) => l.startsWith(MARK));
  if (line) {
    const parsed = JSON.parse(line.slice(MARK.length)) as AdapterLike | null;
    if (parsed) {
      const listed = lines.find((l) => l.startsWith(LIST_MARK));
      if (listed === undefined) return { ok: true, adapter: describeAdapter(parsed) };
      const adapters = parseAdapterList(JSON.parse(listed.slice(LIST_MARK.length)) as string);
      // A list that names nothing while an adapter was found is a message we cannot read: the trials check their own index.
      return { ok: true, adapter: describeAdapter(parsed), adapters: adapters.length > 0 ? adapters : null };
    }
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
