/**
 * The numbers a practitioner reads, end to end through the real CLI (wasm, embedded
 * MNIST scaled down): one definition of samples/s in train and find-max, s/epoch that
 * agrees with it, and the warm-up reported on its own.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const TIMEOUT = { timeoutMs: 120_000 };

interface Trial {
  batchSize: number;
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
  trials: Trial[];
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
