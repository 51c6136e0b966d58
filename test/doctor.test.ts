/**
 * bstune doctor: each check against fakes put first on PATH (nvidia-smi, ldconfig) and
 * fake library folders, then the command end to end (with lavapipe where it is installed).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatherDoctorFacts, parseNvidiaSmiGpus, type DoctorOptions } from '../src/backend/doctor.js';
import { CUDA_LIBRARIES, parseLdconfig } from '../src/backend/cuda-libs.js';
import { renderDoctor } from '../src/cli/commands/doctor.js';
import { runCli, tmpDir } from './helpers/cli.js';
import { lavapipeEnv } from './helpers/lavapipe.js';
import type { WebgpuProbe } from '../src/backend/webgpu/probe.js';

const MiB = 2 ** 20;
/** A folder holding executable shell scripts: { name: body }. */
function fakeBin(scripts: Record<string, string>): string {
  const dir = tmpDir('bstune-fakebin-');
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}
function libDir(sonames: string[]): string {
  const dir = tmpDir('bstune-fakelib-');
  for (const s of sonames) writeFileSync(join(dir, s), '');
  return dir;
}
const EMPTY_LDCONFIG = 'echo "0 libs found in cache"';
const TWO_GPUS = `case "$*" in *--query-gpu*) printf '0, NVIDIA A10G, 23028, 535.104.05\\n1, NVIDIA GeForce RTX 3060, 12288, 535.104.05\\n';; *) exit 2;; esac`;
const software: WebgpuProbe = { ok: true, adapter: { description: 'llvmpipe: Mesa 25.0.7', vendor: 'mesa', architecture: 'software', device: 'llvmpipe', isFallbackAdapter: true, maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 2 ** 32 - 1 } };

const base = (env: NodeJS.ProcessEnv, extra: Partial<DoctorOptions> = {}): DoctorOptions => ({
  env, installed: () => false, loadOffline: async () => ({ cpu: null, wasm: null }), standardCudaDirs: [], webgpuProbe: () => software, ...extra,
});

describe('doctor: NVIDIA GPUs through nvidia-smi', () => {
  it('parses the GPUs nvidia-smi lists', () => {
    expect(parseNvidiaSmiGpus('0, NVIDIA A10G, 23028, 535.104.05\n\n')).toEqual([{ index: 0, name: 'NVIDIA A10G', memoryTotalBytes: 23028 * MiB, driverVersion: '535.104.05' }]);
  });
  it('no nvidia-smi on PATH: no driver, and the fix says to install one', async () => {
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }) }));
    expect(f.nvidiaSmi).toMatchObject({ found: false, gpus: [] });
    expect(f.nvidiaSmi.fix).toMatch(/install the NVIDIA driver/);
    expect(f.fixes).toContain(f.nvidiaSmi.fix);
  });
  it('a fake nvidia-smi with two cards: both listed, nothing to fix there', async () => {
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ 'nvidia-smi': TWO_GPUS, ldconfig: EMPTY_LDCONFIG }) }));
    expect(f.nvidiaSmi.gpus.map((g) => g.name)).toEqual(['NVIDIA A10G', 'NVIDIA GeForce RTX 3060']);
    expect(f.nvidiaSmi.fix).toBeNull();
    expect(renderDoctor(f)).toMatch(/GPU 1: NVIDIA GeForce RTX 3060, 12 GiB, driver 535\.104\.05/);
  });
  it('an nvidia-smi that cannot reach the driver: says so', async () => {
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ 'nvidia-smi': 'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."; exit 9', ldconfig: EMPTY_LDCONFIG }) }));
    expect(f.nvidiaSmi.found).toBe(true);
    expect(f.nvidiaSmi.detail).toMatch(/^nvidia-smi failed \(exit 9\): NVIDIA-SMI has failed because it couldn't communicate/);
    expect(f.nvidiaSmi.fix).toMatch(/not working/);
  });
});

describe('doctor: CUDA 11.x / cuDNN 8.x libraries for tfjs-node-gpu', () => {
  const all = CUDA_LIBRARIES.map((l) => l.soname);
  it('all found through LD_LIBRARY_PATH: nothing to fix', async () => {
    const dir = libDir(all);
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }), LD_LIBRARY_PATH: `/nonexistent:${dir}` }));
    expect(f.cuda.ok).toBe(true);
    expect(f.cuda.libraries.every((l) => l.path === join(dir, l.soname))).toBe(true);
    expect(f.cuda.fixes).toEqual([]);
  });
  it('CUDA from the loader cache (ldconfig -p), cuDNN missing: only the cuDNN command', async () => {
    const cache = CUDA_LIBRARIES.filter((l) => l.group === 'cuda').map((l) => `\t${l.soname} (libc6,x86-64) => /usr/local/cuda-11.2/lib64/${l.soname}`).join('\\n');
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: `printf '${cache}\\n'` }) }));
    expect(f.cuda.libraries.find((l) => l.soname === 'libcudart.so.11.0')!.path).toBe('/usr/local/cuda-11.2/lib64/libcudart.so.11.0');
    expect(f.cuda.libraries.find((l) => l.soname === 'libcudnn.so.8')!.path).toBeNull();
    expect(f.cuda.fixes).toEqual(['sudo apt-get install libcudnn8=8.1.1.33-1+cuda11.2   # cuDNN 8.1 for CUDA 11.2, from the same repository']);
  });
  it('installed in a standard folder the loader does not search: the fix is LD_LIBRARY_PATH', async () => {
    const dir = libDir(all);
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }) }, { standardCudaDirs: ['/nonexistent', dir] }));
    expect(f.cuda.ok).toBe(false);
    expect(f.cuda.fixes).toEqual([`export LD_LIBRARY_PATH=${dir}:$LD_LIBRARY_PATH   # the libraries are there, but the loader does not search that folder`]);
    expect(renderDoctor(f)).toContain(`${join(dir, 'libcudnn.so.8')} (not on the loader's path)`);
  });
  it('nothing anywhere: the CUDA and the cuDNN commands', async () => {
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }) }));
    expect(f.cuda.fixes).toHaveLength(2);
    expect(f.cuda.fixes[0]).toMatch(/^sudo apt-get install cuda-libraries-11-2 /);
  });
  it('reads ldconfig -p, skipping 32-bit entries', () => {
    expect(parseLdconfig('\tlibcudnn.so.8 (libc6) => /usr/lib/i386-linux-gnu/libcudnn.so.8\n\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8', 'x64').get('libcudnn.so.8')).toBe('/usr/lib/x86_64-linux-gnu/libcudnn.so.8');
  });
});

describe('doctor: backends', () => {
  it('not installed: the npm command for each; a software WebGPU adapter is flagged as no GPU answer', async () => {
    const env = { PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }) };
    const none = await gatherDoctorFacts(base(env));
    expect(none.backends.map((b) => [b.name, b.installed, b.loads])).toEqual([
      ['cpu', true, true], ['wasm', true, true], ['tensorflow', false, null], ['tensorflow-gpu', false, null], ['webgpu', false, null],
    ]);
    // Run from this clone: the commands that really install an optional peer here (see install-advice.ts).
    expect(none.fixes).toEqual(expect.arrayContaining([
      expect.stringMatching(/npm i --save-optional @tensorflow\/tfjs-node@\^4\.22\.0 /),
      expect.stringMatching(/npm i --save-optional webgpu@\^0\.6\.2 @tensorflow\/tfjs-backend-webgpu@\^4\.22\.0 /),
    ]));
    const withWebgpu = await gatherDoctorFacts(base(env, { installed: (p) => p === 'webgpu' || p === '@tensorflow/tfjs-backend-webgpu' }));
    expect(withWebgpu.backends.find((b) => b.name === 'webgpu')).toMatchObject({ installed: true, loads: true, detail: 'llvmpipe: Mesa 25.0.7 (software: not a GPU answer)' });
    expect(renderDoctor(withWebgpu)).toMatch(/⚠ webgpu +loads: llvmpipe/);
    expect(renderDoctor(withWebgpu)).toMatch(/maxStorageBufferBindingSize 128 MiB \(largest tensor\), maxBufferSize 4 GiB/);
  });
  it('tfjs-node-gpu installed but TensorFlow registers no GPU: does not load, with why', async () => {
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }) }, {
      installed: (p) => p === '@tensorflow/tfjs-node-gpu', gpuProbe: () => ({ ok: false, why: 'TensorFlow registered no GPU device' }),
    }));
    expect(f.backends.find((b) => b.name === 'tensorflow-gpu')).toMatchObject({ installed: true, loads: false, detail: 'TensorFlow registered no GPU device' });
  });
  it('webgpu installed but no adapter: the fix says which Mesa Dawn rejects and the software device for a machine without a GPU', async () => {
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }) }, {
      installed: (p) => p === 'webgpu' || p === '@tensorflow/tfjs-backend-webgpu',
      webgpuProbe: () => ({ ok: false, why: 'Dawn found no WebGPU adapter (Vulkan: no driver found)' }),
    }));
    const fix = f.backends.find((b) => b.name === 'webgpu')!.fix!;
    expect(fix).toMatch(/Dawn rejects Debian 12's Mesa 22\.3/);
    expect(fix).toMatch(/\.ci\/install-lavapipe .*README: "No GPU: try the WebGPU path on the CPU"/);
    expect(f.fixes).toContain(fix);
  });
  it('a wasm backend that fails to load is reported, not thrown', async () => {
    const f = await gatherDoctorFacts(base({ PATH: fakeBin({ ldconfig: EMPTY_LDCONFIG }) }, { loadOffline: async () => ({ cpu: null, wasm: 'WebAssembly.instantiate(): out of memory' }) }));
    expect(f.backends.find((b) => b.name === 'wasm')).toMatchObject({ loads: false, detail: 'WebAssembly.instantiate(): out of memory' });
  });
});

describe('bstune doctor end to end', () => {
  const lvp = lavapipeEnv();
  it(`--json: one document with every check${lvp ? ', the lavapipe adapter included' : ' (lavapipe not installed: adapter part not checked)'}`, async () => {
    const bin = fakeBin({ 'nvidia-smi': TWO_GPUS, ldconfig: EMPTY_LDCONFIG });
    const r = await runCli(['doctor', '--json'], { env: { PATH: `${bin}:${process.env.PATH}`, ...(lvp ?? {}) }, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { command: string; backends: { name: string; loads: boolean | null }[]; nvidiaSmi: { gpus: unknown[] }; webgpu: { adapter: { isFallbackAdapter: boolean; maxStorageBufferBindingSize: number } | null }; cuda: { ok: boolean } };
    expect(d.command).toBe('doctor');
    expect(d.backends.find((b) => b.name === 'wasm')!.loads).toBe(true);
    expect(d.nvidiaSmi.gpus).toHaveLength(2);
    expect(d.cuda.ok).toBe(false);
    if (lvp) expect(d.webgpu.adapter).toMatchObject({ isFallbackAdapter: true, maxStorageBufferBindingSize: 128 * MiB });
    const human = await runCli(['doctor'], { env: { PATH: `${bin}:${process.env.PATH}`, ...(lvp ?? {}) }, timeoutMs: 120_000 });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Backends$/m);
    expect(human.stdout).toMatch(/^CUDA 11\.x and cuDNN 8\.x libraries for tfjs-node-gpu$/m);
    expect(human.stdout).toMatch(/^To fix/m);
  }, 240_000);
});
