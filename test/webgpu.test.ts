/**
 * The webgpu backend end to end on Mesa's software Vulkan device (lavapipe), as CI runs it:
 * real Dawn, real tfjs-backend-webgpu, real trial processes. The device is slow (a CNN
 * trains at ~0.2k samples/s), so every run is a few hundred samples and a few steps.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli, tmpDir, writeFiles } from './helpers/cli.js';
import { lavapipeEnv, LAVAPIPE_MISSING } from './helpers/lavapipe.js';
import { probeWebgpu } from '../src/backend/webgpu/probe.js';

const env = lavapipeEnv();
const ci = process.env.CI === 'true';

interface Trial { batchSize: number; outcome: string; reason: string | null; deviceMemoryBytes: number | null; peakMemoryBytes: number | null; history: { trainLoss: number; valLoss: number; valAccuracy: number }[] }
interface Doc { backend: { name: string; device: string; memory: string; warning?: string }; trials: Trial[]; maxBatchSize?: number | null }

const tiny = (model: string) => `
name: tiny
data: { source: embedded, validationSplit: 0.012, trainLimit: 192 }
model: ${model}
optimizer: { name: adam, learningRate: 0.001, baseBatchSize: 32, scaling: linear, warmup: { epochs: 0 } }
training: { epochs: 1, seed: 7 }
device: { backend: auto, memoryLimit: null }
`;
const dir = tmpDir('bstune-webgpu-');
writeFiles(dir, {
  'mlp.yaml': tiny('{ kind: mlp, hidden: [16] }'),
  'cnn.yaml': tiny('{ kind: cnn, filters: [4, 8], kernelSize: 5, poolSize: 2, dense: [] }'),
});

async function json(args: string[], extraEnv: Record<string, string> = {}): Promise<{ doc: Doc | null; code: number | null; stderr: string }> {
  const r = await runCli([...args, '--json'], { env: { ...env, ...extraEnv }, timeoutMs: 300_000 }); // generous: the 2-core machine may be busy
  return { doc: r.stdout ? (JSON.parse(r.stdout) as Doc) : null, code: r.code, stderr: r.stderr };
}

describe.skipIf(env === null && !ci)(`webgpu on lavapipe${env ? '' : ` (${LAVAPIPE_MISSING})`}`, () => {
  it('lavapipe is installed (CI installs it with .ci/install-lavapipe)', () => {
    expect(env, LAVAPIPE_MISSING).not.toBeNull();
  });

  it('one probe process finds the adapter and, for --gpus, lists Dawn\'s adapters', () => {
    const p = probeWebgpu(120_000, { ...process.env, ...env }, true);
    expect(p.ok, p.ok ? '' : p.why).toBe(true);
    expect(p.ok && p.adapter.description).toMatch(/llvmpipe/);
    expect(p.ok && p.adapters?.map((a) => a.name)).toEqual([expect.stringMatching(/^llvmpipe/)]);
  }, 180_000);

  it('trains the MLP and the CNN to the same losses as the cpu backend, and says the software adapter is no GPU answer', async () => {
    const runs = await Promise.all(['mlp', 'cnn'].flatMap((m) => ['webgpu', 'cpu'].map((backend) =>
      json(['train', '-c', join(dir, `${m}.yaml`), '--backend', backend, '-b', '64']))));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const [mlpGpu, mlpCpu, cnnGpu, cnnCpu] = runs.map((r) => r.doc!);
    for (const [gpu, cpu] of [[mlpGpu!, mlpCpu!], [cnnGpu!, cnnCpu!]] as const) {
      expect(gpu.backend.name).toBe('webgpu');
      expect(gpu.backend.device).toMatch(/llvmpipe/);
      expect(gpu.backend.warning).toMatch(/not a GPU answer/);
      const [g, c] = [gpu.trials[0]!, cpu.trials[0]!];
      expect(g.outcome).toBe('ok');
      // Float32 on both; only the summation order differs.
      expect(g.history[0]!.trainLoss).toBeCloseTo(c.history[0]!.trainLoss, 4);
      expect(g.history[0]!.valLoss).toBeCloseTo(c.history[0]!.valLoss, 4);
      expect(g.history[0]!.valAccuracy).toBeCloseTo(c.history[0]!.valAccuracy, 3);
      // numBytesInGPU's peak: the live buffers of a step, from the backend itself.
      expect(g.deviceMemoryBytes).toBeGreaterThan(0);
    }
  }, 400_000);

  it('find-max steps down past a driver crash and a memory limit to a size that trains', async () => {
    // segv:400 dies of SIGSEGV after the first step, as lavapipe does when memory runs out (512 only).
    // Peak tensor memory of this MLP: ~1.3 MiB at 128, ~2.1 MiB at 256.
    const { doc, code, stderr } = await json(
      ['find-max', '-c', join(dir, 'mlp.yaml'), '--backend', 'webgpu', '--train-limit', '600', '--start', '512', '--min', '64', '--steps', '2', '--memory-limit', '1.5MiB'],
      { BSTUNE_TEST_FAULT: 'segv:400' },
    );
    expect(code, stderr).toBe(0);
    const byBatch = Object.fromEntries(doc!.trials.map((t) => [t.batchSize, t]));
    expect(byBatch[512]).toMatchObject({ outcome: 'oom', reason: 'crashed while allocating (SIGSEGV in the GPU driver)' });
    expect(byBatch[256]).toMatchObject({ outcome: 'oom' });
    expect(byBatch[256]!.reason).toMatch(/^exceeds memory limit \(peak .* > 1\.5 MiB\)/);
    expect(byBatch[128]!.outcome).toBe('ok');
    expect(doc!.maxBatchSize).toBe(128);
  }, 400_000);

  it('a batch whose tensors exceed the binding limit is "does not fit", before it computes anything', async () => {
    // conv 1 output [7500,24,24,8] float32 = 131.8 MiB > lavapipe's 128 MiB maxStorageBufferBindingSize.
    const { doc, code } = await json(['find-max', '-c', 'configs/mnist-cnn.yaml', '--backend', 'webgpu', '--start', '7500', '--min', '7500', '--steps', '2']);
    expect(code).toBe(3);
    expect(doc!.trials).toHaveLength(1);
    expect(doc!.trials[0]).toMatchObject({ batchSize: 7500, outcome: 'oom' });
    expect(doc!.trials[0]!.reason).toMatch(/^does not fit: exceeds the device's binding limit \(layer conv2d\w* output \[7500,24,24,8\] is 131\.8 MiB > maxStorageBufferBindingSize 128\.0 MiB\)/);
  }, 300_000);

  it('any other oversized buffer throws instead of computing garbage, and Dawn\'s own errors fail the trial', () => {
    const url = (p: string) => pathToFileURL(join(repoRoot, 'dist', p)).href;
    const script = `
      const { setupBackend } = await import(${JSON.stringify(url('backend/setup.js'))});
      const { webgpuSession } = await import(${JSON.stringify(url('backend/webgpu/session.js'))});
      const tf = await setupBackend('webgpu');
      const out = {};
      try { await tf.sum(tf.fill([40e6], 1)).data(); out.big = 'computed'; } catch (e) { out.big = e.message; }
      const small = tf.add(tf.ones([2048]), 1);
      out.sum = (await tf.sum(small).data())[0];
      // An invalid buffer (no usage) only shows as an uncapturederror event.
      tf.backend().device.createBuffer({ size: 16, usage: 0 });
      await tf.add(small, 1).data();
      await new Promise((r) => setTimeout(r, 50));
      try { webgpuSession().throwIfFailed(); out.validation = 'none'; } catch (e) { out.validation = e.message; }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 200_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { big: string; sum: number; validation: string };
    expect(out.big).toMatch(/^does not fit: exceeds the device's binding limit \(a tensor buffer is 152\.6 MiB > maxStorageBufferBindingSize 128\.0 MiB\)/);
    expect(out.sum).toBe(4096);
    expect(out.validation).toMatch(/^WebGPU validation error: /);
  }, 300_000);

  it('the fused Adam (3 dispatches per variable) updates weights exactly as tf.train.adam does on the same device', () => {
    const url = (p: string) => pathToFileURL(join(repoRoot, 'dist', p)).href;
    // 12 steps of a small MLP with stock and fused Adam from the same weights and batches.
    const script = `
      const { setupBackend } = await import(${JSON.stringify(url('backend/setup.js'))});
      const { WebgpuFusedAdamOptimizer } = await import(${JSON.stringify(url('backend/webgpu/fused-adam.js'))});
      const tf = await setupBackend('webgpu');
      const run = async (opt) => {
        const w = [tf.variable(tf.randomNormal([64, 10], 0, 0.1, 'float32', 3)), tf.variable(tf.zeros([10]))];
        const x = tf.randomNormal([32, 64], 0, 1, 'float32', 5);
        const y = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 10), 'int32'), 10);
        const losses = [];
        for (let s = 0; s < 12; s++) {
          const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.mul(x, 1 + s / 10), w[0]), w[1])), true, w);
          losses.push((await loss.data())[0]); loss.dispose();
        }
        const weights = []; for (const v of w) weights.push(Array.from(await v.data()));
        const acc = [(await opt.accBeta1.data())[0], (await opt.accBeta2.data())[0]];
        opt.dispose(); tf.dispose([...w, x, y]);
        return { losses, weights, acc, name: opt.constructor.name };
      };
      const stock = await run(tf.train.adam(0.01));
      const fused = await run(new WebgpuFusedAdamOptimizer(0.01, 0.9, 0.999));
      console.log(JSON.stringify({ stock, fused }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 200_000 });
    expect(r.status, r.stderr).toBe(0);
    type Run = { losses: number[]; weights: number[][]; acc: number[]; name: string };
    const { stock, fused } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { stock: Run; fused: Run };
    expect([stock.name, fused.name]).toEqual(['AdamOptimizer', 'WebgpuFusedAdamOptimizer']);
    expect(stock.losses[11]!).toBeLessThan(stock.losses[0]!); // it trained
    // Same float32 operations in the same order: equal to the last bit on this device.
    expect(fused.losses).toEqual(stock.losses);
    expect(fused.weights).toEqual(stock.weights);
    expect(fused.acc).toEqual(stock.acc);
  }, 300_000);
});

describe('webgpu without an adapter', () => {
  it('--gpus gives each trial the adapter of that index (lavapipe is adapter 0, the only one) and records it; --gpus 0,1 is one clear line, exit 2, before any trial', async () => {
    const out = join(dir, 'gpus.jsonl');
    const [ok, missing] = await Promise.all([
      json(['sweep', '-c', join(dir, 'mlp.yaml'), '--backend', 'webgpu', '--gpus', '0', '--sizes', '32', '--out', out]),
      json(['sweep', '-c', join(dir, 'mlp.yaml'), '--backend', 'webgpu', '--gpus', '0,1', '--sizes', '16,32', '--out', join(dir, 'gpus-missing.jsonl')]),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const t = ok.doc!.trials[0] as Trial & { adapter?: string; ranOn?: { gpu: string | null } };
    expect(t.outcome).toBe('ok');
    expect(t.ranOn?.gpu).toBe('0');
    expect(t.adapter).toMatch(/^llvmpipe/);
    expect(JSON.parse(readFileSync(out, 'utf8').trim()).adapter).toBe(t.adapter);
    expect(missing.code).toBe(2);
    expect(missing.doc).toBeNull();
    expect(missing.stderr.trim()).toMatch(/^bstune: error: no WebGPU adapter 1: Dawn lists 1 WebGPU adapter: 0 = llvmpipe \(.*\) \(vulkan\) \(--gpus\)$/);
    // Checked with the backend probe's own list, before any trial and before the results file.
    expect(existsSync(join(dir, 'gpus-missing.jsonl'))).toBe(false);
  });

  it('--backend webgpu with no Vulkan driver is one clear error line, exit 2', async () => {
    const r = await runCli(['train', '--backend', 'webgpu', '--json'], { env: { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' }, timeoutMs: 200_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(/^bstune: error: backend webgpu: Dawn found no WebGPU adapter/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 200_000);
});
