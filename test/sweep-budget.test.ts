/**
 * sweep --budget: equal steps or equal time instead of a fixed epoch count, so a large
 * batch is not judged on a fraction of the small batch's steps. Pure rules, then one
 * scaled-down real sweep.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epochsBudget, roundsOf, stepsBudget, timeBudget, trainingSeconds } from '../src/sweep/budget.js';
import { runCli } from './helpers/cli.js';
import type { TrialResult } from '../src/trial/protocol.js';

const trial = (over: Partial<TrialResult>): TrialResult => ({
  batchSize: 32, learningRate: 0.001, seed: 42, outcome: 'ok', reason: null, peakMemoryBytes: 1, memoryBaselineBytes: 1, memorySource: null,
  processPeakRssBytes: null, deviceMemoryBytes: null, samplesPerSecond: 1000, epochSeconds: [2, 2], valAccuracy: 0.9, valLoss: 0.3,
  history: [], steps: 100, seconds: 5, overheadSeconds: 1, gradientNoiseScale: null, ...over,
});

describe('budget rules', () => {
  it('steps: the steps the base batch size takes per epoch, for every size', () => {
    const b = stepsBudget(8000, 32, 3);
    expect(b).toMatchObject({ kind: 'steps', rounds: 3, stepsPerRound: 250, secondsPerRound: null });
    expect(roundsOf(b)).toEqual({ steps: 250 });
    expect(stepsBudget(10, 32, 1).stepsPerRound).toBe(1);
  });
  it('time: the training seconds of the reference run, split into rounds', () => {
    // 100 steps × 32 samples at 1000 samples/s = 3.2 s of training steps.
    expect(trainingSeconds(trial({}))).toBeCloseTo(3.2, 12);
    expect(roundsOf(timeBudget(trial({}), 2)!)).toEqual({ seconds: 1.6 });
    expect(trainingSeconds(trial({ samplesPerSecond: null }))).toBe(4);
    expect(timeBudget(trial({ outcome: 'oom' }), 2)).toBeNull();
  });
  it('epochs: no rounds, today\'s behaviour', () => {
    expect(roundsOf(epochsBudget(5))).toBeUndefined();
  });
});

describe('sweep --budget steps (real runs)', () => {
  it('every size takes the same number of steps, in training.epochs rounds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bstune-budget-'));
    const r = await runCli(['sweep', '--json', '--backend', 'wasm', '--sizes', '16,64', '--epochs', '2', '--train-limit', '320', '--budget', 'steps', '--out', join(dir, 'a.jsonl')], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { budget: { kind: string; stepsPerRound: number }; trials: { batchSize: number; steps: number; history: { steps: number }[] }[] };
    expect(d.budget).toMatchObject({ kind: 'steps', stepsPerRound: 10 }); // 320 / baseBatchSize 32
    for (const t of d.trials) {
      expect(t.steps).toBe(20);
      expect(t.history.map((h) => h.steps)).toEqual([10, 10]);
    }
    // Under the epoch budget the larger batch would have taken a quarter of the steps.
    const e = await runCli(['sweep', '--json', '--backend', 'wasm', '--sizes', '64', '--epochs', '2', '--train-limit', '320', '--out', join(dir, 'b.jsonl')], { timeoutMs: 120_000 });
    expect((JSON.parse(e.stdout) as { trials: { steps: number }[] }).trials[0]!.steps).toBe(10);
  }, 240_000);
});
