/**
 * find-max end to end: the real CLI, the real default backend (wasm), real embedded
 * MNIST scaled down. The memory limit is chosen from peaks measured on this machine,
 * so the expected walk does not depend on any fixed number.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from './helpers/cli.js';

const CNN = ['-c', 'configs/mnist-cnn.yaml', '--train-limit', '1000'];
// find-max keeps a results file under its working directory's .bstune/: run in a scratch folder, not the clone.
const TIMEOUT = { timeoutMs: 90_000, cwd: tmpDir('bstune-find-max-') };

interface Trial {
  batchSize: number;
  learningRate: number | null;
  scaledLearningRate: number;
  outcome: string;
  reason: string | null;
  peakMemoryBytes: number | null;
  memorySource: string | null;
  samplesPerSecond: number | null;
  epochSeconds: number[];
  history: unknown[];
}
interface Doc {
  schemaVersion: number;
  command: string;
  trials: Trial[];
  maxBatchSize: number | null;
  memoryModel?: { fixedBytes: number; bytesPerSample: number; r2: number; points: number; linear: boolean; prediction: { maxBatch: number | null; device: string } | null } | null;
  memoryJump?: { maxBatch: number; tried: number; measuredMaxBatch: number | null } | null;
}

/** stdout must be exactly one JSON document: parse it whole (extra text would throw). */
function parseDoc(stdout: string): Doc {
  expect(stdout.trim().startsWith('{')).toBe(true);
  return JSON.parse(stdout) as Doc;
}

/** Peak tensor memory of a single find-max trial at batch b, with no limit. */
async function peakOf(b: number): Promise<number> {
  const r = await runCli(['find-max', ...CNN, '--start', String(b), '--min', String(b), '--json'], TIMEOUT);
  expect(r.code, r.stderr).toBe(0);
  const doc = parseDoc(r.stdout);
  expect(doc.trials.map((t) => t.batchSize)).toEqual([b]);
  const peak = doc.trials[0]!.peakMemoryBytes;
  expect(peak).toBeGreaterThan(0);
  return peak!;
}

const linearLr = (b: number) => (0.001 * b) / 32;

describe('find-max end to end (CNN, wasm)', () => {
  let p128 = 0;
  let p256 = 0;
  let limit = 0;

  beforeAll(async () => {
    [p128, p256] = await Promise.all([peakOf(128), peakOf(256)]);
    expect(p256).toBeGreaterThan(p128);
    // Not the midpoint: 192 would then sit right on the limit. 40% of the way leaves
    // room for refinement to land strictly between 128 and 256.
    limit = Math.round(p128 + 0.4 * (p256 - p128));
  });

  it('steps down 512 → 256 → 128 under a memory limit between peak(128) and peak(256)', async () => {
    const r = await runCli(['find-max', ...CNN, '--memory-limit', String(limit), '--json'], TIMEOUT);
    expect(r.code, r.stderr).toBe(0);
    const doc = parseDoc(r.stdout);
    expect(doc.schemaVersion).toBe(2);
    expect(doc.command).toBe('find-max');
    expect(doc.maxBatchSize).toBe(128);
    expect(doc.trials.map((t) => t.batchSize)).toEqual([512, 256, 128]);
    expect(doc.trials.map((t) => t.outcome)).toEqual(['oom', 'oom', 'ok']);
    for (const t of doc.trials) {
      expect(t.scaledLearningRate).toBeCloseTo(linearLr(t.batchSize), 12);
      expect(typeof t.peakMemoryBytes).toBe('number');
      expect(t.memorySource).toMatch(/tf\.profile/);
      for (const key of ['reason', 'samplesPerSecond', 'epochSeconds', 'history'] as const) expect(t).toHaveProperty(key);
      expect(Array.isArray(t.epochSeconds)).toBe(true);
      expect(Array.isArray(t.history)).toBe(true);
    }
    const [t512, t256, t128] = doc.trials as [Trial, Trial, Trial];
    expect(t512.reason).toMatch(/exceeds memory limit/);
    expect(t256.reason).toMatch(/exceeds memory limit/);
    expect(t512.peakMemoryBytes!).toBeGreaterThan(limit);
    expect(t256.peakMemoryBytes!).toBeGreaterThan(limit);
    expect(t128.reason).toBeNull();
    expect(t128.peakMemoryBytes!).toBeLessThanOrEqual(limit);
    expect(t128.samplesPerSecond!).toBeGreaterThan(0);
    expect(t128.epochSeconds.length).toBe(1);
    expect(t128.history.length).toBe(1);
  });

  it('--refine jumps on the memory model: two probes, then the largest multiple of 8 that fits, checked one step up', async () => {
    const r = await runCli(['find-max', ...CNN, '--memory-limit', String(limit), '--refine', '--json'], TIMEOUT);
    expect(r.code, r.stderr).toBe(0);
    const doc = parseDoc(r.stdout);
    const m = doc.maxBatchSize!;
    expect(m).toBeGreaterThan(128);
    expect(m).toBeLessThan(256);
    expect(m % 8).toBe(0);
    expect(doc.trials.slice(0, 2).map((t) => t.batchSize)).toEqual([512, 256]);
    // Halving and bisecting took 3 + 4 trials; the jump needs 2 probes + the jump + its check.
    expect(doc.trials.length).toBeLessThanOrEqual(4);
    const next = doc.trials.find((t) => t.batchSize === m + 8);
    expect(next?.outcome).toBe('oom');
    // The answer is the largest size that fitted, and every verdict agrees with its peak.
    const fits = doc.trials.filter((t) => t.outcome === 'ok').map((t) => t.batchSize);
    expect(Math.max(...fits)).toBe(m);
    for (const t of doc.trials) {
      expect(['ok', 'oom']).toContain(t.outcome);
      if (t.outcome === 'ok') expect(t.peakMemoryBytes!).toBeLessThanOrEqual(limit);
      else expect(t.peakMemoryBytes!).toBeGreaterThan(limit);
      expect(t.scaledLearningRate).toBeCloseTo(linearLr(t.batchSize), 12);
    }
    const model = doc.memoryModel!;
    expect(model.points).toBe(doc.trials.length);
    expect(model.r2).toBeGreaterThan(0.98);
    expect(model.bytesPerSample).toBeCloseTo((p256 - p128) / 128, -3);
    expect(model.prediction!.device).toMatch(/--memory-limit/);
    expect(doc.memoryJump!.measuredMaxBatch).toBe(m);
    expect(Math.abs(doc.memoryJump!.maxBatch - m)).toBeLessThan(8 * 2);
  });

  it('exits 3 with maxBatchSize null when even --min does not fit', async () => {
    const r = await runCli(['find-max', ...CNN, '--memory-limit', '1KiB', '--min', '64', '--json'], TIMEOUT);
    expect(r.code, r.stderr).toBe(3);
    const doc = parseDoc(r.stdout);
    expect(doc.maxBatchSize).toBeNull();
    // 512 and 256 put the model's maximum below one sample: it goes straight to --min to confirm.
    expect(doc.trials.map((t) => t.batchSize)).toEqual([512, 256, 64]);
    expect(doc.trials.every((t) => t.outcome === 'oom' && /exceeds memory limit/.test(t.reason ?? ''))).toBe(true);
  });

  it('human mode: a table row per trial and the answer line', async () => {
    const r = await runCli(['find-max', ...CNN, '--memory-limit', String(limit), '-q'], TIMEOUT);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^│\s*\d+\s*│/.test(l));
    expect(rows.map((l) => Number(l.split('│')[1]!.trim()))).toEqual([512, 256, 128]);
    expect(rows.map((l) => l.split('│')[3]!.trim())).toEqual(['oom', 'oom', 'ok']);
    expect(r.stdout).toMatch(/^largest batch that fits: 128\b/m);
    expect(r.stdout).toMatch(/memory: peak tensor memory against --memory-limit/);
    expect(r.stdout).toMatch(/^memory model: M\(b\) = .+ \+ .+ × b \(R² (0\.9\d+|1\.0000) over 3 sizes\); predicted max for --memory-limit .+: \d+ \(\d+ as a multiple of 8, \d+ as a power of two\)/m);
  });

  it.each(['cpu', 'wasm'])('human mode without a limit on %s says the memory is host RAM, not a GPU', async (backend) => {
    const r = await runCli(['find-max', '-c', 'configs/mnist-mlp.yaml', '--train-limit', '300', '--backend', backend, '--start', '32', '--min', '32', '-q'], TIMEOUT);
    expect(r.code, r.stderr).toBe(0);
    // 32 was the first and only size tried: a lower bound, said as such.
    expect(r.stdout).toMatch(/^at least this batch fits: 32\b/m);
    expect(r.stdout).toMatch(/^note: 32 fits, and it was the first size tried: the maximum may be larger; raise --start/m);
    const memoryLine = r.stdout.split('\n').find((l) => l.startsWith('memory:'));
    expect(memoryLine).toBeDefined();
    expect(memoryLine).toMatch(/host RAM/);
    expect(memoryLine).toMatch(/not a GPU answer/);
    expect(memoryLine).toContain(`${backend} on`);
  });
});
