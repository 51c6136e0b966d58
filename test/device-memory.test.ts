/** The parent's nvidia-smi sampling of a CUDA trial's device memory, against a fake nvidia-smi on PATH. */
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseComputeApps, sampleDeviceMemory } from '../src/backend/device-memory.js';
import { tmpDir } from './helpers/cli.js';

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('device memory from nvidia-smi', () => {
  it('parses compute apps, summing a process listed on two GPUs', () => {
    const m = parseComputeApps('1234, 500\n1234, 250\n99, 12\n[N/A], [N/A]\n\n');
    expect(m.get(1234)).toBe(750 * MiB);
    expect(m.get(99)).toBe(12 * MiB);
    expect(m.size).toBe(2);
  });

  it('samples a running process and keeps its peak (a fake nvidia-smi whose figure rises, then falls)', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    try {
      const dir = tmpDir('bstune-smi-');
      const counter = join(dir, 'n');
      writeFileSync(counter, '0');
      // Each call reports the next figure for the child, plus another process's larger one.
      writeFileSync(join(dir, 'nvidia-smi'), `#!/bin/sh
n=$(cat ${counter}); echo $((n + 1)) > ${counter}
case $n in 0) mib=300;; 1) mib=900;; *) mib=600;; esac
echo "4242, 20000"
echo "${child.pid}, $mib"
`);
      chmodSync(join(dir, 'nvidia-smi'), 0o755);
      const sampler = sampleDeviceMemory(child.pid!, { intervalMs: 50, env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      const end = Date.now() + 20_000;
      while (sampler.samples < 4 && Date.now() < end) await sleep(50);
      expect(sampler.samples).toBeGreaterThanOrEqual(4);
      expect(sampler.stop()).toBe(900 * MiB);
    } finally {
      child.kill();
    }
  }, 30_000);

  it('without nvidia-smi: no figure, and it stops asking', async () => {
    const sampler = sampleDeviceMemory(process.pid, { intervalMs: 20, env: { ...process.env, PATH: tmpDir('bstune-nosmi-') } });
    await sleep(200);
    expect(sampler.stop()).toBeNull();
    expect(sampler.samples).toBe(0);
  });
});
