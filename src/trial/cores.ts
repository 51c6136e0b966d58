import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { cgroupCpuLimit } from './threads.js';

/**
 * Cores this process may use: os.availableParallelism() (CPU affinity) capped by the
 * cgroup's CPU quota (a container limited to 2 CPUs on a 64-core host gets 2), which
 * Node 20 does not read itself.
 */
export function usableCores(): number {
  const affinity = availableParallelism();
  let quota: number | null = null;
  try {
    quota = cgroupCpuLimit(readFileSync('/sys/fs/cgroup/cpu.max', 'utf8'));
  } catch {
    try {
      // cgroup v1
      const q = readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', 'utf8').trim();
      const p = readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_period_us', 'utf8').trim();
      quota = cgroupCpuLimit(`${Number(q) < 0 ? 'max' : q} ${p}`);
    } catch {
      quota = null;
    }
  }
  return quota === null ? affinity : Math.min(affinity, quota);
}
