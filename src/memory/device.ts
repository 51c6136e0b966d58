import type { BackendChoice } from '../backend/resolve.js';
import { formatBytes } from '../report/stats.js';

/**
 * The memory size find-max predicts the largest batch for: --device-memory when given,
 * else --memory-limit, else what the backend says it has (a GPU's usable memory, the
 * wasm heap's 4 GiB cap); null on the cpu backends, whose tensors live in host RAM.
 */
export function deviceForPrediction(o: { deviceMemory: number | null; memoryLimit: number | null; backend: Pick<BackendChoice, 'name' | 'device'> }): { bytes: number; label: string } | null {
  if (o.deviceMemory !== null) return { bytes: o.deviceMemory, label: `--device-memory ${formatBytes(o.deviceMemory)}` };
  if (o.memoryLimit !== null) return { bytes: o.memoryLimit, label: `--memory-limit ${formatBytes(o.memoryLimit)}` };
  if (o.backend.name === 'tensorflow-gpu') {
    const gib = /([\d.]+) GiB usable/.exec(o.backend.device);
    if (gib) return { bytes: Math.round(Number(gib[1]) * 2 ** 30), label: `the detected GPU (${gib[1]} GiB usable)` };
    return null;
  }
  if (o.backend.name === 'wasm') return { bytes: 4 * 2 ** 30, label: 'the wasm heap cap (4 GiB)' };
  return null;
}
