/**
 * How many training threads (data-parallel replicas, see src/train/parallel) a trial
 * uses. Pure: the caller passes the cores it measured, so the rules are unit-tested.
 */

export interface ThreadRequest {
  /** training.threads / --threads; null: the default. */
  configured: number | null;
  /** The backend the trial trains on: only wasm runs replicas in worker threads. */
  backend: string;
  /** Cores this process may use (affinity and cgroup cpu.max; see cores.ts). */
  cores: number;
  /** Trials running at once on this host (--parallel): they share the cores. */
  slots: number;
  /** The default splits a batch only where each shard has enough work: samples per step and multiply-adds per sample (see modelMacs). */
  work?: { batch: number; macsPerSample: number };
  /** What the user set, as the note names it: `--threads` or the config key (default). */
  setting?: string;
}

/**
 * Multiply-adds a shard must have (forward pass) for a thread to pay for itself: the
 * per-step cost of the barrier, the summed gradients and the worker's wake-up is about
 * 0.3–2 ms, measured on 2 cores (README, Training threads). The built-in CNN (~0.33 M per
 * sample) gets 2 threads from batch 92 on (measured with bench/one.js, 3 epochs a run, with
 * the SIMD kernels of 09:00 UTC 2026-12-02, load 2–3: +10% at 96, +23% at 128; at 64 a loss,
 * 9.6k vs 11.6k samples/s); the seed's MLP (7,960 per sample) only from batch 3,769
 * (it loses or ties on 2 threads up to 512; at 4096 2 threads won 239k vs 210k samples/s).
 */
export const MIN_SHARD_MACS = 15e6;

/** Forward multiply-adds per sample, estimated from each layer's weights × its output positions (exact for dense and conv layers). */
export function modelMacs(layers: { params: number; outputShape: (number | null)[] }[]): number {
  return layers.reduce((sum, l) => {
    // [batch, ...positions, channels]: a dense layer has no positions, a conv layer H × W.
    const positions = l.outputShape.slice(1, -1).reduce<number>((a, d) => a * (d ?? 1), 1);
    return sum + l.params * positions;
  }, 0);
}

export interface ThreadPlan {
  threads: number;
  /** Why fewer threads than asked for: one line, or null. */
  note: string | null;
}

export function planThreads(r: ThreadRequest): ThreadPlan {
  const setting = r.setting ?? 'training.threads';
  if (r.backend !== 'wasm') {
    // tfjs-node runs its own thread pool; the pure-JS cpu and the webgpu backends are one thread here.
    return { threads: 1, note: r.configured !== null && r.configured > 1 ? `${setting} ${r.configured} applies to the wasm backend; ${r.backend} trains on one thread` : null };
  }
  if (r.configured !== null) {
    if (r.configured > r.cores) return { threads: Math.max(1, r.cores), note: `${setting} ${r.configured} capped to ${r.cores}: ${r.cores} core${r.cores === 1 ? '' : 's'} available to this process` };
    return { threads: r.configured, note: null };
  }
  const share = Math.max(1, Math.floor(r.cores / Math.max(1, r.slots)));
  if (!r.work) return { threads: share, note: null };
  const byWork = Math.max(1, Math.floor((r.work.batch * r.work.macsPerSample) / MIN_SHARD_MACS));
  return { threads: Math.min(share, byWork), note: null };
}

/**
 * The cores a cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max PERIOD" for no limit) allows,
 * rounded down (at least 1); null when unlimited or unreadable.
 */
export function cgroupCpuLimit(cpuMax: string): number | null {
  const m = /^\s*(\d+|max)\s+(\d+)\s*$/.exec(cpuMax);
  if (!m || m[1] === 'max' || Number(m[2]) <= 0) return null;
  return Math.max(1, Math.floor(Number(m[1]) / Number(m[2])));
}
