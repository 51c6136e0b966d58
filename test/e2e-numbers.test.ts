/**
 * The numbers a practitioner reads, end to end through the real CLI (wasm, embedded
 * MNIST scaled down): one definition of samples/s in train and find-max, s/epoch that
 * agrees with it, and the warm-up reported on its own.
 */
import { describe, expect, it } from 'vitest';
import { runCli, tmpDir, writeFiles } from './helpers/cli.js';

const TIMEOUT = { timeoutMs: 120_000 };

interface Trial {
  batchSize: number;
  learningRate: number | null;
  scaledLearningRate: number;
  outcome: string;
  steps: number;
  samplesPerSecond: number | null;
  secondsPerEpoch: number | null;
  warmupSteps: number | null;
  warmupSeconds: number | null;
  steadySteps: number | null;
  epochSeconds: number[];
  history: { steps: number }[];
}
interface Doc {
  schemaVersion: number;
  trials: Trial[];
  warnings?: string[];
  [k: string]: unknown;
}

async function json(args: string[]): Promise<Doc> {
  const r = await runCli([...args, '--json'], TIMEOUT);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Doc;
}

describe('samples/s: one definition', () => {
  it('train: s/epoch × samples/s = one epoch of samples; warm-up steps and seconds apart', async () => {
    const doc = await json(['train', '--train-limit', '640', '--epochs', '2', '-b', '32']);
    const t = doc.trials[0]!;
    expect(t.outcome).toBe('ok');
    const stepsPerEpoch = 640 / 32;
    expect(t.secondsPerEpoch! * t.samplesPerSecond!).toBeCloseTo(stepsPerEpoch * 32, 6);
    expect(t.warmupSteps!).toBeGreaterThanOrEqual(2);
    expect(t.warmupSteps! + t.steadySteps!).toBe(t.steps);
    expect(t.warmupSeconds!).toBeGreaterThan(0);
    // The wall seconds of each epoch are still there, as measured (validation included).
    expect(t.epochSeconds).toHaveLength(2);
  });

  it('find-max: a trial keeps stepping past search.stepsPerTrial until its samples/s is measured', async () => {
    const doc = await json(['find-max', '--train-limit', '500', '--start', '32', '--steps', '3']);
    const t = doc.trials[0]!;
    expect(t.outcome).toBe('ok');
    // Before: 3 steps, of which 1 timed (all warm-up). Now at least 20 steady steps or the time cap.
    expect(t.steps).toBeGreaterThan(3);
    expect(t.steadySteps!).toBeGreaterThanOrEqual(Math.min(20, t.steps - t.warmupSteps!));
    expect(t.warmupSteps! + t.steadySteps!).toBe(t.steps);
    expect(t.samplesPerSecond!).toBeGreaterThan(0);
    expect(t.secondsPerEpoch! * t.samplesPerSecond!).toBeCloseTo(Math.floor(500 / 32) * 32, 6);
  });
});

describe('learning rates: the rate a run reached, never an untested one as advice', () => {
  // 640 samples at batch 64 = 10 steps an epoch; 6 epochs = 60 steps; warmup 100 steps.
  const dir = writeFiles(tmpDir(), {
    'bstune.yaml': 'optimizer:\n  learningRate: 0.001\n  baseBatchSize: 32\n  warmup: { steps: 100 }\n  decay: cosine\ntraining: { epochs: 6 }\ndata: { trainLimit: 640 }\n',
  });

  it('train: warmup longer than the run → learningRate is the peak reached, the scaled rate apart, and a warning', async () => {
    const r = await runCli(['train', '-b', '64', '--json'], { cwd: dir, ...TIMEOUT });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.schemaVersion).toBe(2);
    const t = doc.trials[0]!;
    expect(t.scaledLearningRate).toBeCloseTo(0.002, 12);
    // Step 59 of a 100-step ramp from 0.001 to 0.002.
    expect(t.learningRate!).toBeCloseTo(0.001 + 0.001 * (59 / 100), 12);
    expect(doc.warnings).toEqual(['warmup (100 steps) is longer than the run at batch 64 (60 steps): the rate peaks at 0.00159, never reaching the scaled 0.002, and the cosine decay never starts']);
  });

  it('train in human mode: the lr shown is the one reached, and says the scaled one was not', async () => {
    const r = await runCli(['train', '-b', '64', '--epochs', '1'], { cwd: dir, ...TIMEOUT });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/lr 0\.00109 at its peak \(warmup outlasted the run: the scaled 0\.002 was never reached\)/);
    expect(r.stderr).toContain('bstune: warning: warmup (100 steps) is longer than the run at batch 64 (10 steps)');
  });

  it('find-max: "scaled learning rate", untested, never "use learning rate"; JSON scaledLearningRate', async () => {
    const human = await runCli(['find-max', '--start', '64', '--steps', '2'], { cwd: dir, ...TIMEOUT });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toMatch(/use learning rate/);
    expect(human.stdout).toMatch(/scaled learning rate for 64: 0\.002 \(linear from 0\.001 at batch 32\); untested/);
    // The trial ran too few steps to finish warmup: its lr is starred and explained.
    expect(human.stdout).toMatch(/│ 64 +│ 0\.00101\* +│/);
    expect(human.stdout).toContain('* lr: the peak rate the run reached');
    const doc = await json(['find-max', '--start', '64', '--steps', '2', '-c', `${dir}/bstune.yaml`]);
    expect(doc.scaledLearningRate).toBeCloseTo(0.002, 12);
    expect(doc).not.toHaveProperty('learningRate');
  });
});

describe('divergence is visible', () => {
  // SGD with momentum at rate 50: the loss explodes within a few steps.
  const dir = writeFiles(tmpDir(), {
    'bstune.yaml': 'optimizer:\n  name: sgd\n  learningRate: 50\n  baseBatchSize: 32\n  momentum: 0.9\ndata: { trainLimit: 640 }\ntraining: { epochs: 2 }\n',
  });

  it('train: outcome diverged with the reason, exit 1, the document still printed', async () => {
    const r = await runCli(['train', '-b', '64', '--json'], { cwd: dir, ...TIMEOUT });
    expect(r.code, r.stderr).toBe(1);
    const t = (JSON.parse(r.stdout) as Doc).trials[0]! as Trial & { outcome: string; reason: string; initialLoss: number; finalLoss: number };
    expect(t.outcome).toBe('diverged');
    expect(t.reason).toMatch(/^loss (rose from|became)/);
    expect(r.stderr).toMatch(/bstune: error: training at batch 64 ended with diverged: loss/);
  });

  it('find-max: a diverged trial still fits in memory (exit 0), and the note says its rate does not train', async () => {
    const r = await runCli(['find-max', '--start', '128', '--min', '128'], { cwd: dir, ...TIMEOUT });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/│ 128 +│ 200 +│ diverged │ loss/);
    expect(r.stdout).toMatch(/note: batch 128 fits in memory, but its trial diverged \(loss .*\) at learning rate 200: that rate does not train at this batch/);
  });
});
