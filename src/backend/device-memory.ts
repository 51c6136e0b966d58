/**
 * Real device memory of a CUDA trial: the parent asks nvidia-smi, a few times a second,
 * how much GPU memory the trial process holds, and keeps the peak. TensorFlow's figure
 * (tensor bytes) leaves out the CUDA context, cuDNN workspaces and the allocator's pool;
 * this is what the card really gave the process. Sampling misses spikes shorter than the
 * interval, so it is a lower bound on the true peak.
 */
import { execFile } from 'node:child_process';

/** `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits` → pid → bytes. */
export function parseComputeApps(out: string): Map<number, number> {
  const used = new Map<number, number>();
  for (const line of out.split('\n')) {
    const [pid, mib] = line.split(',').map((s) => s.trim());
    if (!pid || !/^\d+$/.test(pid) || !mib || !/^\d+(\.\d+)?$/.test(mib)) continue;
    // A process on two GPUs is listed once per GPU.
    used.set(Number(pid), (used.get(Number(pid)) ?? 0) + Number(mib) * 2 ** 20);
  }
  return used;
}

export interface DeviceMemorySampler {
  /** Stops sampling; the peak seen for the process, or null when nvidia-smi never listed it. */
  stop(): number | null;
  /** Samples taken so far (for tests and the source line). */
  readonly samples: number;
}

export function sampleDeviceMemory(pid: number, o: { intervalMs?: number; env?: NodeJS.ProcessEnv } = {}): DeviceMemorySampler {
  let peak: number | null = null;
  let samples = 0;
  let busy = false;
  let stopped = false;
  const once = () => {
    if (busy || stopped) return;
    busy = true;
    execFile('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { env: o.env ?? process.env, timeout: 5_000, encoding: 'utf8' }, (err, stdout) => {
      busy = false;
      if (err) {
        // No nvidia-smi at all: nothing to sample, stop asking.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') clearInterval(timer);
        return;
      }
      samples++;
      const bytes = parseComputeApps(stdout).get(pid);
      if (bytes !== undefined && (peak === null || bytes > peak)) peak = bytes;
    });
  };
  const timer = setInterval(once, o.intervalMs ?? 250);
  timer.unref();
  once();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
      return peak;
    },
    get samples() {
      return samples;
    },
  };
}
