/**
 * How many trials may run at once on this machine, and on which GPU each runs. Pure:
 * the caller passes the cores and memory it measured, so the rules are unit-tested.
 */
import { BstuneError } from '../errors.js';
import { formatBytes } from '../report/stats.js';

export interface SlotRequest {
  /** --parallel; undefined: one per GPU with --gpus, else 1. */
  parallel?: number | undefined;
  /** --gpus 0,1,...: device ids, one trial per device at a time. */
  gpus?: string[] | undefined;
  /** The backend trials use: --gpus steers tensorflow-gpu (CUDA_VISIBLE_DEVICES) and webgpu (the adapter index). */
  backend: string;
  /** usableCores(): cores this process may use (affinity, capped by the cgroup's cpu.max quota). */
  cores: number;
  /** Memory free for new processes (cgroup-aware where Node can tell). */
  availableMemoryBytes: number;
  /** device.memoryLimit: each trial's own limit; a child may use that much tensor memory. */
  memoryLimitBytes: number | null;
}

export interface SlotPlan {
  slots: number;
  /** The device of each slot (a CUDA device id, or a WebGPU adapter index), or null on CPU. */
  gpus: string[] | null;
  /** Why fewer slots than asked for, or why --gpus does not apply: one line each. */
  notes: string[];
}

/** A trial process before any tensor: Node, TensorFlow.js, the data set (an MLP trial peaks near 200 MB RSS). */
export const TRIAL_BASE_BYTES = 384 * 2 ** 20;

export function parseGpus(text: string): string[] {
  const ids = text.split(',').map((s) => s.trim());
  if (text.trim() === '' || ids.some((id) => !/^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-zA-Z/-]+)$/.test(id))) {
    throw new BstuneError('BSTUNE_USAGE', `invalid GPU list "${text}": expected device indices like 0,1,2 (or GPU-/MIG- UUIDs)`, '--gpus');
  }
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw new BstuneError('BSTUNE_USAGE', `GPU ${dup} is listed twice`, '--gpus');
  return ids;
}

/** Backends whose trials --gpus puts on a device each. */
export const GPU_BACKENDS = ['tensorflow-gpu', 'webgpu'];

export function planSlots(r: SlotRequest): SlotPlan {
  const notes: string[] = [];
  if (r.gpus && r.gpus.length > 0 && GPU_BACKENDS.includes(r.backend)) {
    const uuid = r.gpus.find((id) => !/^\d+$/.test(id));
    if (r.backend === 'webgpu' && uuid !== undefined) {
      throw new BstuneError('BSTUNE_USAGE', `--gpus ${uuid}: the webgpu backend takes adapter indices (0, 1, ... in Dawn's order), not CUDA UUIDs`, '--gpus');
    }
    const n = r.parallel ?? r.gpus.length;
    if (n > r.gpus.length) {
      throw new BstuneError('BSTUNE_USAGE', `--parallel ${n} needs ${n} GPUs, but --gpus lists ${r.gpus.length}: each trial gets a device of its own`, '--parallel');
    }
    return { slots: n, gpus: r.gpus.slice(0, n), notes };
  }
  if (r.gpus && r.gpus.length > 0) {
    notes.push(`--gpus applies to the tensorflow-gpu and webgpu backends; trials run on ${r.backend}, on the CPU`);
  }
  const asked = r.parallel ?? 1;
  let slots = asked;
  if (slots > r.cores) {
    slots = r.cores;
    notes.push(`--parallel ${asked} capped to ${slots}: ${r.cores} core${r.cores === 1 ? '' : 's'} available to this process`);
  }
  const perTrial = TRIAL_BASE_BYTES + (r.memoryLimitBytes ?? 0);
  const byMemory = Math.max(1, Math.floor(r.availableMemoryBytes / perTrial));
  if (slots > byMemory) {
    notes.push(`--parallel ${asked} capped to ${byMemory}: ${formatBytes(r.availableMemoryBytes)} free, about ${formatBytes(perTrial)} per trial`);
    slots = byMemory;
  }
  return { slots, gpus: null, notes };
}
