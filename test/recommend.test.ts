/**
 * bstune recommend: the pure decision (batch capped near the noise scale, rates probed,
 * noise never named a winner, diverged never recommended, accumulation, costs, the
 * snippet) and two scaled-down real runs (an answer; "no rate trained").
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  accumulationVerdict, candidateSizes, configSnippet, costNote, costTarget, costs, decideBatch, decideRate, noiseForDecision, rulesToRepeatFirst, skipRepeats,
  type CandidateRun, type ProbeRun, type RuleProbe,
} from '../src/recommend/decide.js';
import { Eta } from '../src/recommend/eta.js';
import { renderRecommendation } from '../src/report/recommend-text.js';
import { divergedReason } from '../src/recommend/diverged.js';
import { optimizerSchema } from '../src/config/schema.js';
import { runCli } from './helpers/cli.js';

const run = (seed: number, valAccuracy: number, diverged: string | null = null, outcome = 'ok'): ProbeRun => ({ seed, outcome, valAccuracy, valLoss: 1 - valAccuracy, diverged, reason: null });
const probe = (rule: 'linear' | 'sqrt' | 'none', learningRate: number, runs: ProbeRun[]): RuleProbe => ({ rule, learningRate, runs });

describe('the batch size', () => {
  it('is capped near B_simple when more fits, and says so with the step and sample factors', () => {
    const d = decideBatch(512, 100, 20);
    expect(d).toMatchObject({ batchSize: 128, largestPowerOfTwoFit: 512, limitedBy: 'noise scale', criticalBatch: 128, accumulate: 1 });
    expect(d.why).toMatch(/B_simple ≈ 100 ± 20 samples/);
    expect(d.why).toMatch(/at 512: 1\.20× the minimum steps, 6\.12× the minimum samples/);
    expect(d.tradeoff.find((t) => t.batchSize === 128)!.stepsFactor).toBeCloseTo(1 + 100 / 128, 12);
  });
  it('is the largest power of two that fits when B_simple is near or above it, with accumulation to reach it', () => {
    expect(decideBatch(600, 391, 150)).toMatchObject({ batchSize: 512, limitedBy: 'memory', accumulate: 1 });
    const acc = decideBatch(64, 1000, null);
    expect(acc).toMatchObject({ batchSize: 64, accumulate: 16, criticalBatch: 1024 });
    // The reach only: advice to accumulate waits for its probe (accumulationVerdict).
    expect(acc.why).toMatch(/16 micro-batches of 64 would reach 1024/);
    expect(decideBatch(300, null, null)).toMatchObject({ batchSize: 256, accumulate: 1, criticalBatch: null });
  });
  it('never caps or stretches within one standard error of B_simple (the answer must not flip on noise)', () => {
    // Seen: the CNN's B_simple 358 ± 178 capped at 256 though 512 fits and is within one error.
    const d = decideBatch(512, 358, 178);
    expect(d).toMatchObject({ batchSize: 512, limitedBy: 'memory', criticalBatch: 256, accumulate: 1 });
    expect(d.why).toMatch(/512 fits and is within one standard error of it \(256 is nearest\)/);
    // A tight estimate still caps, at the largest power of two its range reaches.
    expect(decideBatch(512, 300, 20)).toMatchObject({ batchSize: 256, limitedBy: 'noise scale' });
    expect(decideBatch(1024, 200, 150)).toMatchObject({ batchSize: 256, limitedBy: 'noise scale', criticalBatch: 256 });
    expect(decideBatch(1024, 150, 150).why).toMatch(/beyond 256 \(the largest power of two within one standard error of it; 128 is nearest\)/);
    // Accumulation (to the power of two nearest B_simple) only when even the low end of its range exceeds what fits.
    expect(decideBatch(64, 300, 250)).toMatchObject({ batchSize: 64, accumulate: 1 });
    expect(decideBatch(64, 1000, 200)).toMatchObject({ batchSize: 64, accumulate: 16 });
    expect(decideBatch(8, 47, 2)).toMatchObject({ batchSize: 8, accumulate: 8 });
  });
  it('candidates are powers of two from the base size to the largest fit, at most four, ends kept', () => {
    expect(candidateSizes(32, 512)).toEqual([32, 64, 256, 512]);
    expect(candidateSizes(32, 100)).toEqual([32, 64]);
    expect(candidateSizes(32, 20)).toEqual([16]);
    expect(candidateSizes(4, 2048)).toEqual([8, 64, 256, 2048]);
  });
});

describe('the learning rate', () => {
  it('names a winner only when it is more than one sd ahead', () => {
    const d = decideRate([probe('linear', 0.016, [run(1, 0.91), run(2, 0.912)]), probe('sqrt', 0.004, [run(1, 0.88), run(2, 0.881)]), probe('none', 0.001, [run(1, 0.85), run(2, 0.86)])], 'sqrt');
    expect(d.winner).toBe('linear');
    expect(d.chosen).toBe('linear');
    expect(d.learningRate).toBe(0.016);
  });
  it('within one sd: no winner; the configured rule if among them, else the smallest rate', () => {
    const probes = [probe('linear', 0.016, [run(1, 0.91), run(2, 0.90)]), probe('sqrt', 0.004, [run(1, 0.905), run(2, 0.9)]), probe('none', 0.001, [run(1, 0.7), run(2, 0.71)])];
    const kept = decideRate(probes, 'linear');
    expect(kept).toMatchObject({ winner: null, chosen: 'linear', withinNoise: ['linear', 'sqrt'] });
    expect(kept.why).toMatch(/^within noise/);
    expect(decideRate(probes, 'none')).toMatchObject({ winner: null, chosen: 'sqrt', learningRate: 0.004 });
  });
  it('never recommends a diverged or failed rule, however good its numbers', () => {
    const d = decideRate([probe('linear', 0.1, [run(1, 0.99, 'loss is NaN'), run(2, 0.99)]), probe('sqrt', 0.01, [run(1, 0.8), run(2, 0.8)]), probe('none', 0.001, [run(1, 0.95, null, 'oom')])], 'linear');
    expect(d.chosen).toBe('sqrt');
    expect(d.verdicts.find((v) => v.rule === 'linear')!.excluded).toMatch(/diverged \(seed 1: loss is NaN\)/);
    expect(d.verdicts.find((v) => v.rule === 'none')!.excluded).toMatch(/^oom/);
  });
  it('no rule trained: no choice, and the reason names each rule', () => {
    const d = decideRate([probe('linear', 10, [run(1, 0.1, 'at chance')]), probe('sqrt', 5, [run(1, 0.1, 'at chance')]), probe('none', 1, [run(1, 0.1, 'at chance')])], 'linear');
    expect(d.chosen).toBeNull();
    expect(d.why).toMatch(/^no rate trained: linear \(10\) diverged .*sqrt \(5\).*none \(1\)/);
  });
});

describe('costs and the noise scale used', () => {
  const cand = (batchSize: number, sps: number, accs: number[], noiseFinal: number | null, diverged: string | null = null): CandidateRun => ({
    batchSize, learningRate: 0.001, outcome: 'ok', reason: null, peakMemoryBytes: batchSize * 1000, samplesPerSecond: sps,
    rounds: accs.map((a) => ({ steps: 10, valAccuracy: a })), noiseFinal, noiseFinalStdError: 5, diverged,
  });
  it('steps and seconds to the target, from the first round that reached it', () => {
    const runs = [cand(32, 1000, [0.5, 0.8, 0.9], 50), cand(128, 4000, [0.85, 0.95, 0.96], 80), cand(256, 1, [0.99, 0.99, 0.99], 90, 'rose')];
    const target = costTarget(runs, null)!;
    expect(target).toBeCloseTo(0.96 * 0.99, 12); // the diverged run does not set it
    const [a, b, c] = costs(runs, 0.9);
    expect(a).toMatchObject({ stepsToTarget: 30, secondsToTarget: (30 * 32) / 1000 });
    expect(b).toMatchObject({ stepsToTarget: 20, secondsToTarget: (20 * 128) / 4000, finalValAccuracy: 0.96 });
    expect(c).toMatchObject({ outcome: 'diverged', stepsToTarget: null, secondsToTarget: null });
    expect(noiseForDecision(runs)).toEqual({ bSimple: 80, stdError: 5, batchSize: 128 });
    // A tie in accuracy: the larger batch, which saw more samples in the same steps.
    expect(noiseForDecision([cand(256, 1, [0.9, 0.972], 358), cand(512, 1, [0.9, 0.972], 550), cand(64, 1, [0.9, 0.972], 300)])).toMatchObject({ bSimple: 550, batchSize: 512 });
  });
  it('an accumulated run is priced at its effective batch', () => {
    const [a] = costs([{ ...cand(16, 2000, [0.5, 0.92], null), accumulate: 4 }], 0.9);
    expect(a).toMatchObject({ batchSize: 16, accumulate: 4, stepsToTarget: 20, secondsToTarget: (20 * 16 * 4) / 2000 });
  });
  it('the cost note says the rows are single runs, with the seed spread when there is one', () => {
    expect(costNote({ seed: 42, sd: 0.0035, runs: 2, batchSize: 512 })).toMatch(/single run \(seed 42\).*2 seeds at batch 512 spread ± 0\.35 pt/);
    expect(costNote({ seed: 7, sd: 0, runs: 1, batchSize: 64 })).toMatch(/no repeat measured their spread/);
    expect(costNote({ seed: 7, sd: 0, runs: 2, batchSize: 64 })).toMatch(/ended at the same val acc, so no spread was measured/);
  });
});

describe('which probes are repeated', () => {
  it('the two rules that trained best at the first seed are repeated first', () => {
    expect(rulesToRepeatFirst([probe('linear', 0.016, [run(42, 0.9)]), probe('sqrt', 0.004, [run(42, 0.95)]), probe('none', 0.001, [run(42, 0.99, 'loss is NaN')])])).toEqual(['sqrt', 'linear']);
  });
  it('a third rule skips its repeats only when a repeat could not change the answer', () => {
    const repeated = [probe('linear', 0.016, [run(42, 0.912), run(43, 0.908)]), probe('sqrt', 0.004, [run(42, 0.91), run(43, 0.905)])];
    // 3.4 pt behind, spreads ≤ 0.35 pt: out by far more than 3 spreads.
    expect(skipRepeats(probe('none', 0.001, [run(42, 0.876)]), repeated)).toMatch(/not repeated: its one run is 3\.40 pt below linear's mean, more than 3× .*\(0\.35 pt\)/);
    // 0.5 pt behind: within 3 spreads, so it is repeated.
    expect(skipRepeats(probe('none', 0.001, [run(42, 0.905)]), repeated)).toBeNull();
    expect(skipRepeats(probe('none', 0.001, [run(42, 0.5, 'loss rose')]), repeated)).toMatch(/first run diverged/);
    // No spread measured (identical repeats): no basis to skip.
    expect(skipRepeats(probe('none', 0.001, [run(42, 0.5)]), [probe('linear', 0.016, [run(42, 0.9), run(43, 0.9)])])).toBeNull();
  });
});

describe('accumulation is advised only when its probe backs it', () => {
  const r = (accs: number[], extra: Partial<CandidateRun> = {}): CandidateRun => ({
    batchSize: 8, learningRate: 0.004, outcome: 'ok', reason: null, peakMemoryBytes: 1e6, samplesPerSecond: 4000,
    rounds: accs.map((a) => ({ steps: 10, valAccuracy: a })), noiseFinal: null, noiseFinalStdError: null, diverged: null, ...extra,
  });
  const b = { batchSize: 8, accumulate: 8 };
  it('backed: the probe trained and ended no worse than the micro-batch alone, with its numbers', () => {
    const v = accumulationVerdict(b, r([0.6, 0.86], { accumulate: 8 }), r([0.3, 0.41]), 'none', 0.003);
    expect(v).toMatchObject({ backed: true, effectiveBatchSize: 64, valAccuracy: 0.86, microBatchValAccuracy: 0.41, steps: 20, samplesPerSecond: 4000 });
    expect(v.why).toMatch(/^accumulate 8 micro-batches: probe at 8 × 8 = 64 \(lr 0\.004, 20 steps\): val acc 86\.00% vs 41\.00% at 8 alone/);
  });
  it('not advised when the probe diverged, failed, ended worse, or never ran', () => {
    expect(accumulationVerdict(b, r([0.1], { diverged: 'loss became NaN' }), r([0.4]), 'linear')).toMatchObject({ backed: false, why: expect.stringMatching(/^accumulation not advised: .*diverged \(loss became NaN\)/) });
    expect(accumulationVerdict(b, r([], { outcome: 'oom', reason: 'exceeds memory limit' }), r([0.4]), 'linear').backed).toBe(false);
    expect(accumulationVerdict(b, r([0.35]), r([0.4]), 'linear', 0.01).why).toMatch(/^accumulation not advised: .*lower by more than the seed spread/);
    expect(accumulationVerdict(b, null, r([0.4]), null)).toMatchObject({ backed: false, why: expect.stringMatching(/not probed/) });
  });
});

describe('the printed answer never gives advice no run backed', () => {
  const micro: CandidateRun = {
    batchSize: 8, learningRate: 0.001, outcome: 'ok', reason: null, peakMemoryBytes: 1.5 * 2 ** 20, samplesPerSecond: 2300,
    rounds: [{ steps: 20, valAccuracy: 0.3 }, { steps: 20, valAccuracy: 0.41 }], noiseFinal: 47, noiseFinalStdError: 2, diverged: null,
  };
  const view = (acc: CandidateRun) => {
    const batch = decideBatch(8, 47, 2);
    const rate = decideRate([probe('none', 0.004, [run(42, 0.72)]), probe('sqrt', 0.002, [run(42, 0.68)])], 'linear');
    const accumulation = accumulationVerdict(batch, acc, micro, rate.chosen);
    const accumulate = accumulation.backed ? batch.accumulate : 1;
    const recommendation = {
      batchSize: 8, learningRate: 0.004, scaling: 'none', accumulate, effectiveBatchSize: 8 * accumulate, ...(accumulate > 1 ? { effectiveLearningRate: 0.004 } : {}),
      snippet: configSnippet({ batchSize: 8, learningRate: 0.004, rule: 'none', warmup: { steps: 4 }, accumulate, effectiveLearningRate: 0.004 }),
    };
    return renderRecommendation({
      name: 'cnn', backend: { name: 'wasm', device: 'cpu' }, data: 'mnist', recommendation, batch, rate, accumulation,
      costNote: costNote({ seed: 42, sd: null, runs: 1, batchSize: 8 }), parallel: { probes: 2, meaning: '' },
      noiseScale: { bSimple: 47, stdError: 2, fromCandidateBatch: 8 }, maxBatchSize: 8, budget: { meaning: 'equal steps' }, targetAccuracy: 0.4,
      costs: costs([micro, acc], 0.4), probes: [probe('none', 0.004, [run(42, 0.72)]), probe('sqrt', 0.002, [run(42, 0.68)])], seconds: 10,
      stream: { isTTY: false } as NodeJS.WriteStream,
    });
  };
  it('backed: the micro-batch × N answer, the numbers of the probe, its cost row and the snippet key', () => {
    const text = view({ ...micro, accumulate: 8, learningRate: 0.004, samplesPerSecond: 4139, rounds: [{ steps: 20, valAccuracy: 0.7 }, { steps: 20, valAccuracy: 0.86 }], noiseFinal: null });
    expect(text).toMatch(/batch size {5}8 × 8 accumulated = 64/);
    expect(text).toMatch(/accumulate 8 micro-batches: probe at 8 × 8 = 64 \(lr 0\.004, 40 steps\): val acc 86\.00% vs 41\.00% at 8 alone after the same steps; 4,139 samples\/s/);
    expect(text).toMatch(/│ 8 × 8 ← /);
    expect(text).toMatch(/accumulate: 8 +# effective batch 64/);
    expect(text).toMatch(/each cost row is a single run \(seed 42\)/);
  });
  it('not backed (the probe diverged): no accumulation in the answer or the snippet, and the reason instead', () => {
    const text = view({ ...micro, accumulate: 8, learningRate: 0.004, diverged: 'loss became NaN', rounds: [{ steps: 20, valAccuracy: 0.1 }] });
    expect(text).toMatch(/batch size {5}8\n/);
    expect(text).toMatch(/accumulation not advised: its probe at 8 × 8 = 64 diverged \(loss became NaN\)/);
    expect(text).not.toMatch(/accumulate:|accumulated =|accumulate 8 micro-batches/);
  });
});

describe('the ETA', () => {
  it('prices the runs left with the seconds per sample and per-run overhead measured so far', () => {
    const eta = new Eta();
    expect(eta.seconds([1000], [0, 0, 1])).toBeNull();
    eta.record({ seconds: 3, overheadSeconds: 1 }, 1000); // 2 s for 1,000 samples, 1 s overhead
    expect(eta.seconds([1000, 2000], [0, 0, 1])).toBeCloseTo(1 + 2 + 1 + 4, 12);
    // 3 runs of 500 samples, 2 at a time: two waves of 2 s each.
    expect(eta.seconds([], [500, 3, 2])).toBeCloseTo(2 * (1 + 1), 12);
    expect(eta.text([], [500, 3, 2])).toBe(' · ETA 4 s');
  });
});

describe('the config snippet', () => {
  it('is valid YAML whose optimizer section passes the schema and trains at the answer', () => {
    const text = configSnippet({ batchSize: 256, learningRate: 0.008, rule: 'linear', warmup: { epochs: 1 }, accumulate: 1 });
    const o = optimizerSchema.parse((parse(text) as { optimizer: unknown }).optimizer);
    expect(o).toMatchObject({ learningRate: 0.008, baseBatchSize: 256, scaling: 'linear', warmup: { epochs: 1 } });
    const acc = configSnippet({ batchSize: 64, learningRate: 0.002, rule: 'sqrt', warmup: { steps: 10 }, accumulate: 4, effectiveLearningRate: 0.004 });
    expect(acc).toMatch(/training:\n {2}accumulate: 4 +# effective batch 256; the sqrt rule takes the rate to 0\.004/);
    expect((parse(acc) as { training: { accumulate: number } }).training.accumulate).toBe(4);
  });

  it('its comments start in one column, whatever the widths of the numbers (they were one apart: rate 0.016, batch 512)', () => {
    const cases = [
      { batchSize: 512, learningRate: 0.016, accumulate: 1 },
      { batchSize: 8, learningRate: 0.000125, accumulate: 1 },
      { batchSize: 64, learningRate: 0.002, accumulate: 16, effectiveLearningRate: 0.032 },
    ];
    for (const c of cases) {
      const text = configSnippet({ ...c, rule: 'linear', warmup: { epochs: 1 } });
      const commented = text.split('\n').filter((l) => l.includes('#'));
      expect(commented).toHaveLength(c.accumulate > 1 ? 3 : 2);
      expect(new Set(commented.map((l) => l.indexOf('#'))).size, text).toBe(1);
      // At least two spaces between a value and its comment.
      for (const l of commented) expect(l, text).toMatch(/\S {2,}# /);
    }
  });
});

describe('divergence', () => {
  const h = (trainLoss: number, valLoss: number, valAccuracy: number, epoch = 1) => ({ epoch, trainLoss, trainAccuracy: 0, trainEvalLoss: null, trainEvalAccuracy: null, valLoss, valAccuracy, learningRate: 0.1, seconds: 1, steps: 1 });
  it('a diverged trial keeps its reason; a probe at chance did not train; a run that learns is advisable', () => {
    expect(divergedReason({ outcome: 'diverged', reason: 'loss became NaN', history: [h(NaN, NaN, 0.1)] }, 10)).toBe('loss became NaN');
    expect(divergedReason({ outcome: 'ok', reason: null, history: [h(2.3, 2.3, 0.11)] }, 10)).toMatch(/did not train.*chance/);
    expect(divergedReason({ outcome: 'ok', reason: null, history: [h(2.3, 2.3, 0.16)] }, 10)).toBeNull();
    expect(divergedReason({ outcome: 'oom', reason: 'exceeds', history: [] }, 10)).toBeNull();
    expect(divergedReason({ outcome: 'ok', reason: null, history: [h(1, 1, 0.5), h(0.5, 0.6, 0.8, 2)] }, 10)).toBeNull();
  });
});

describe('bstune recommend (real, scaled-down runs)', () => {
  const args = ['--backend', 'wasm', '--train-limit', '320', '--start', '64', '--probe-steps', '8', '--probe-repeats', '1', '--json'];
  it('prints one answer with its evidence: batch, rate, costs, the snippet', async () => {
    const html = join(mkdtempSync(join(tmpdir(), 'bstune-rec-')), 'rec.html');
    const r = await runCli(['recommend', ...args, '--html', html], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as {
      command: string; recommendation: { batchSize: number; learningRate: number; scaling: string; snippet: string };
      costs: { batchSize: number; peakMemoryBytes: number; samplesPerSecond: number | null }[]; probes: { rule: string; runs: unknown[] }[];
      budget: { kind: string; steps: number }; evidence: { findMax: unknown[]; candidates: { gradientNoiseScale: { initial: number | null } | null }[] };
    };
    expect(d.command).toBe('recommend');
    expect([32, 64]).toContain(d.recommendation.batchSize);
    expect(d.recommendation.learningRate).toBeGreaterThan(0);
    expect(d.recommendation.snippet).toContain(`baseBatchSize: ${d.recommendation.batchSize}`);
    expect(d.costs.map((c) => c.batchSize)).toEqual([32, 64]);
    for (const c of d.costs) expect(c.peakMemoryBytes).toBeGreaterThan(0);
    expect(d.probes.map((p) => p.rule)).toEqual(['linear', 'sqrt', 'none']);
    expect(d.budget).toMatchObject({ kind: 'steps', steps: 8 });
    expect(d.evidence.findMax.length).toBeGreaterThan(0);
    // Every candidate starts from the same weights: their noise scale is measured once, by the first run
    // (find-max's fitting trial at 64, which is also the batch-64 candidate run).
    expect(d.evidence.candidates.filter((c) => c.gradientNoiseScale?.initial != null)).toHaveLength(1);
    expect((d as unknown as { noiseScale: { initial: number } }).noiseScale.initial).toBeGreaterThan(0);
    expect(d.evidence.findMax).toContainEqual(d.evidence.candidates.find((c) => (c as unknown as { batchSize: number }).batchSize === 64));
    // --html: the report page with the candidates' charts and the recommendation (the browser test covers rendering).
    expect((d as unknown as { htmlReport: string }).htmlReport).toBe(html);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain(`Batch size <strong>${d.recommendation.batchSize}</strong>`);
    for (const id of ['memory', 'accuracy', 'noise']) expect(page).toContain(`data-chart="${id}"`);
  }, 300_000);

  it('a model that cannot train at any tried rate: "no rate trained", exit 1, the evidence in JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bstune-rec-'));
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad-lr\noptimizer:\n  name: sgd\n  learningRate: 50\n');
    const r = await runCli(['recommend', '-c', join(dir, 'bad.yaml'), ...args], { timeoutMs: 240_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bstune: error: no rate trained: linear \(100\) diverged/);
    const d = JSON.parse(r.stdout) as { recommendation: null; rate: { verdicts: { excluded: string | null }[] } };
    expect(d.recommendation).toBeNull();
    for (const v of d.rate.verdicts) expect(v.excluded).toMatch(/^diverged/);
  }, 300_000);

  it('when the critical batch exceeds what fits, a probe at micro-batch × N backs the accumulation it advises', async () => {
    // A CNN under a 1.5 MiB limit fits batch 8 (~1.1 MB; 16 peaks near 2.0 MB with the fused conv + bias +
    // relu on wasm, 2.7 MB without); its B_simple (~50) is well above 8.
    const dir = mkdtempSync(join(tmpdir(), 'bstune-rec-'));
    writeFileSync(join(dir, 'cnn.yaml'), [
      'name: cnn-accumulate', 'model:', '  kind: cnn', '  filters: [8, 16]', '  kernelSize: 5', '  poolSize: 2', '  dense: []',
      'optimizer:', '  name: adam', '  learningRate: 0.004', '  baseBatchSize: 32', '  scaling: linear', '',
    ].join('\n'));
    const r = await runCli(['recommend', '-c', join(dir, 'cnn.yaml'), '--backend', 'wasm', '--train-limit', '512', '--start', '16', '--memory-limit', '1.5MiB', '--probe-steps', '40', '--probe-repeats', '1', '--json'], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as {
      recommendation: { batchSize: number; accumulate: number; effectiveBatchSize: number; effectiveLearningRate: number; snippet: string };
      batch: { accumulate: number; criticalBatch: number; largestPowerOfTwoFit: number };
      accumulation: { backed: boolean; accumulate: number; valAccuracy: number; microBatchValAccuracy: number; samplesPerSecond: number; why: string };
      costs: { batchSize: number; accumulate: number; samplesPerSecond: number | null }[];
      evidence: { accumulation: { batchSize: number; accumulate: number; effectiveBatchSize: number; outcome: string; scaledLearningRate: number; steps: number } };
    };
    const n = d.batch.accumulate;
    expect(d.batch.largestPowerOfTwoFit).toBe(8);
    expect(n).toBeGreaterThan(1);
    expect(d.batch.criticalBatch).toBe(8 * n);
    // The run that backs it: micro-batch 8 × n, the same 40 optimizer steps, and it trained.
    expect(d.evidence.accumulation).toMatchObject({ batchSize: 8, accumulate: n, effectiveBatchSize: 8 * n, outcome: 'ok', steps: 40 });
    expect(d.accumulation.backed).toBe(true);
    expect(d.accumulation.valAccuracy).toBeGreaterThanOrEqual(d.accumulation.microBatchValAccuracy);
    expect(d.accumulation.samplesPerSecond).toBeGreaterThan(0);
    expect(d.recommendation).toMatchObject({ batchSize: 8, accumulate: n, effectiveBatchSize: 8 * n, effectiveLearningRate: d.evidence.accumulation.scaledLearningRate });
    expect(d.recommendation.snippet).toContain(`accumulate: ${n}`);
    expect(d.costs.find((c) => c.accumulate === n)).toMatchObject({ batchSize: 8 });
  }, 300_000);
});
