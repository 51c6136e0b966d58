/**
 * `bstune recommend`'s decision, pure: measurements in (what fits, the noise scale,
 * short equal-steps runs per batch size, learning-rate probes), answer and evidence out.
 *
 * Batch: the largest power of two that fits, capped near the critical batch B_simple
 * (McCandlish et al. 2018): steps to a given loss scale as S ≈ S_min(1 + B_noise/B) and
 * samples as E ≈ E_min(1 + B/B_noise), so past B_noise a larger batch buys few steps
 * and costs samples. Rate: each scaling rule probed at that batch; the best final
 * validation accuracy wins unless another rule is within one standard deviation
 * (then it is "within noise", no winner is named); a diverged or failed probe is never
 * recommended.
 */
import type { Scaling } from '../train/schedule.js';

export interface ProbeRun {
  seed: number;
  outcome: string;
  valAccuracy: number | null;
  valLoss: number | null;
  /** Why the run counts as diverged (NaN loss, loss rising, accuracy at chance), else null. */
  diverged: string | null;
  reason: string | null;
}

export interface RuleProbe {
  rule: Scaling;
  learningRate: number;
  runs: ProbeRun[];
}

export interface RuleVerdict {
  rule: Scaling;
  learningRate: number;
  /** Mean and sample sd of the final validation accuracy over the runs that trained. */
  meanValAccuracy: number | null;
  sdValAccuracy: number | null;
  meanValLoss: number | null;
  trained: boolean;
  /** Why this rule is out (diverged, failed), else null. */
  excluded: string | null;
}

export interface RateDecision {
  verdicts: RuleVerdict[];
  /** The rule to use; null when no rule trained. */
  chosen: Scaling | null;
  learningRate: number | null;
  /** The rule whose probes trained best by more than one sd; null when the best are within noise. */
  winner: Scaling | null;
  /** Rules within one sd of the best (the best included). */
  withinNoise: Scaling[];
  why: string;
}

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sdOf = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - meanOf(xs)) ** 2, 0) / (xs.length - 1)));

export function decideRate(probes: RuleProbe[], configured: Scaling): RateDecision {
  const verdicts: RuleVerdict[] = probes.map((p) => {
    const bad = p.runs.find((r) => r.outcome !== 'ok' || r.diverged !== null || r.valAccuracy === null);
    const acc = p.runs.map((r) => r.valAccuracy).filter((a): a is number => a !== null && Number.isFinite(a));
    const loss = p.runs.map((r) => r.valLoss).filter((a): a is number => a !== null && Number.isFinite(a));
    const excluded = bad
      ? bad.diverged !== null ? `diverged (seed ${bad.seed}: ${bad.diverged})` : `${bad.outcome} (seed ${bad.seed}: ${bad.reason ?? 'no result'})`
      : null;
    return {
      rule: p.rule, learningRate: p.learningRate,
      meanValAccuracy: acc.length ? meanOf(acc) : null, sdValAccuracy: acc.length ? sdOf(acc) : null,
      meanValLoss: loss.length ? meanOf(loss) : null,
      trained: excluded === null, excluded,
    };
  });
  const ok = verdicts.filter((v) => v.trained).sort((a, b) => b.meanValAccuracy! - a.meanValAccuracy!);
  if (ok.length === 0) {
    return { verdicts, chosen: null, learningRate: null, winner: null, withinNoise: [], why: `no rate trained: ${verdicts.map((v) => `${v.rule} (${fmtRate(v.learningRate)}) ${v.excluded}`).join('; ')}` };
  }
  const best = ok[0]!;
  // Within one sd of the best, by either run's spread: not a difference the probes can tell.
  const near = ok.filter((v) => best.meanValAccuracy! - v.meanValAccuracy! <= Math.max(best.sdValAccuracy!, v.sdValAccuracy!));
  if (near.length === 1) {
    const second = ok[1];
    return {
      verdicts, chosen: best.rule, learningRate: best.learningRate, winner: best.rule, withinNoise: [best.rule],
      why: second
        ? `${best.rule} trained best: ${pct(best.meanValAccuracy)} ± ${pt(best.sdValAccuracy)} val acc vs ${second.rule} ${pct(second.meanValAccuracy)} ± ${pt(second.sdValAccuracy)} (more than one sd apart)`
        : `${best.rule} is the only rule that trained`,
    };
  }
  // No winner: keep the configured rule if it is among them, else the most cautious (smallest) rate.
  const pick = near.find((v) => v.rule === configured) ?? [...near].sort((a, b) => a.learningRate - b.learningRate)[0]!;
  return {
    verdicts, chosen: pick.rule, learningRate: pick.learningRate, winner: null, withinNoise: near.map((v) => v.rule),
    why: `within noise: ${near.map((v) => `${v.rule} ${pct(v.meanValAccuracy)} ± ${pt(v.sdValAccuracy)}`).join(', ')} (within one sd); ` +
      (pick.rule === configured ? `keeping the configured rule ${configured}` : `taking the smallest of their rates (${pick.rule})`),
  };
}

export interface BatchDecision {
  batchSize: number;
  /** Largest power of two that fits (find-max's answer rounded down). */
  largestPowerOfTwoFit: number;
  /** What capped the answer: memory (find-max) or the noise scale. */
  limitedBy: 'memory' | 'noise scale';
  /** The power of two nearest to B_simple (log scale); null when B_simple is unknown. */
  criticalBatch: number | null;
  /** Micro-batches to accumulate to reach the critical batch when it does not fit (1 = none). */
  accumulate: number;
  /** McCandlish's step and sample factors at some batch sizes: S/S_min = 1 + B_noise/B, E/E_min = 1 + B/B_noise. */
  tradeoff: { batchSize: number; stepsFactor: number; samplesFactor: number }[];
  why: string;
}

export const largestPowerOfTwo = (n: number): number => 2 ** Math.floor(Math.log2(Math.max(1, n)));
const nearestPowerOfTwo = (x: number): number => 2 ** Math.max(0, Math.round(Math.log2(Math.max(1, x))));

export function decideBatch(maxFit: number, bSimple: number | null, bSimpleStdError: number | null): BatchDecision {
  const fit = largestPowerOfTwo(maxFit);
  const tradeoff = (bSimple === null ? [] : [fit / 4, fit / 2, fit, nearestPowerOfTwo(bSimple)])
    .filter((b, i, a) => b >= 1 && a.indexOf(b) === i)
    .sort((a, b) => a - b)
    .map((b) => ({ batchSize: b, stepsFactor: 1 + bSimple! / b, samplesFactor: 1 + b / bSimple! }));
  if (bSimple === null) {
    return { batchSize: fit, largestPowerOfTwoFit: fit, limitedBy: 'memory', criticalBatch: null, accumulate: 1, tradeoff, why: `the largest power of two that fits (${fit}); the noise scale could not be estimated (noise swamped the gradient), so it does not cap the batch` };
  }
  const critical = nearestPowerOfTwo(bSimple);
  const noise = `B_simple ≈ ${Math.round(bSimple)}${bSimpleStdError !== null ? ` ± ${Math.round(bSimpleStdError)}` : ''} samples`;
  const f = (b: number) => `at ${b}: ${(1 + bSimple / b).toFixed(2)}× the minimum steps, ${(1 + b / bSimple).toFixed(2)}× the minimum samples`;
  if (critical < fit) {
    return {
      batchSize: critical, largestPowerOfTwoFit: fit, limitedBy: 'noise scale', criticalBatch: critical, accumulate: 1, tradeoff,
      why: `${noise}: beyond it a larger batch buys little step reduction (${f(critical)}; ${f(fit)}), so ${critical}, not the ${fit} that fits`,
    };
  }
  const accumulate = Math.max(1, Math.round(critical / fit));
  return {
    batchSize: fit, largestPowerOfTwoFit: fit, limitedBy: 'memory', criticalBatch: critical, accumulate, tradeoff,
    why: accumulate > 1
      ? `${noise} exceeds what fits (${fit}): ${f(fit)}; accumulating ${accumulate} micro-batches reaches ${fit * accumulate} (${f(fit * accumulate)})`
      : `${noise}; ${fit} fits and is near it (${f(fit)})`,
  };
}

export interface CandidateRun {
  batchSize: number;
  learningRate: number;
  outcome: string;
  reason: string | null;
  peakMemoryBytes: number | null;
  samplesPerSecond: number | null;
  /** Per round: steps taken in the round and the validation accuracy after it. */
  rounds: { steps: number; valAccuracy: number }[];
  noiseFinal: number | null;
  noiseFinalStdError: number | null;
  diverged: string | null;
}

export interface CandidateCost {
  batchSize: number;
  learningRate: number;
  outcome: string;
  peakMemoryBytes: number | null;
  samplesPerSecond: number | null;
  finalValAccuracy: number | null;
  /** Steps until the first round whose validation accuracy reached the target; null = not within the budget. */
  stepsToTarget: number | null;
  /** stepsToTarget × batch / samples/s: training seconds (not validation, not start-up). */
  secondsToTarget: number | null;
  noiseFinal: number | null;
}

export function costs(runs: CandidateRun[], target: number | null): CandidateCost[] {
  return runs.map((r) => {
    let steps = 0;
    let at: number | null = null;
    for (const round of r.rounds) {
      steps += round.steps;
      if (at === null && target !== null && round.valAccuracy >= target) at = steps;
    }
    const ok = r.outcome === 'ok' && r.diverged === null;
    const stepsToTarget = ok ? at : null;
    return {
      batchSize: r.batchSize, learningRate: r.learningRate, outcome: r.diverged !== null ? 'diverged' : r.outcome,
      peakMemoryBytes: r.peakMemoryBytes, samplesPerSecond: r.samplesPerSecond,
      finalValAccuracy: r.rounds.length ? r.rounds[r.rounds.length - 1]!.valAccuracy : null,
      stepsToTarget,
      secondsToTarget: stepsToTarget !== null && r.samplesPerSecond ? (stepsToTarget * r.batchSize) / r.samplesPerSecond : null,
      noiseFinal: r.noiseFinal,
    };
  });
}

/** The target for "seconds to target": configured, else 99% of the best any candidate reached. */
export function costTarget(runs: CandidateRun[], configured: number | null): number | null {
  if (configured !== null) return configured;
  const best = Math.max(...runs.filter((r) => r.outcome === 'ok' && r.diverged === null).flatMap((r) => r.rounds.map((x) => x.valAccuracy)));
  return Number.isFinite(best) ? best * 0.99 : null;
}

/** The noise scale to cap the batch with: from the candidate that trained furthest (highest final accuracy). */
export function noiseForDecision(runs: CandidateRun[]): { bSimple: number | null; stdError: number | null; batchSize: number | null } {
  const ok = runs.filter((r) => r.outcome === 'ok' && r.diverged === null && r.noiseFinal !== null && r.rounds.length > 0);
  if (ok.length === 0) return { bSimple: null, stdError: null, batchSize: null };
  const best = ok.reduce((a, b) => (b.rounds[b.rounds.length - 1]!.valAccuracy > a.rounds[a.rounds.length - 1]!.valAccuracy ? b : a));
  return { bSimple: best.noiseFinal, stdError: best.noiseFinalStdError, batchSize: best.batchSize };
}

/** Candidate batch sizes: powers of two from the base size (at least 8) to the largest fit, at most `most`, ends kept. */
export function candidateSizes(baseBatchSize: number, maxFit: number, most = 4): number[] {
  const top = largestPowerOfTwo(maxFit);
  const low = Math.min(top, Math.max(8, largestPowerOfTwo(baseBatchSize)));
  const all: number[] = [];
  for (let b = low; b <= top; b *= 2) all.push(b);
  if (all.length <= most) return all;
  const picked = new Set<number>();
  for (let i = 0; i < most; i++) picked.add(all[Math.round((i * (all.length - 1)) / (most - 1))]!);
  return [...picked].sort((a, b) => a - b);
}

/** The config lines that train at the recommendation (`bstune train` uses baseBatchSize by default). */
export function configSnippet(o: { batchSize: number; learningRate: number; rule: Scaling; warmup: { epochs?: number; steps?: number }; accumulate: number; accumulateKnown: boolean }): string {
  const warm = o.warmup.steps !== undefined ? `{ steps: ${o.warmup.steps} }` : `{ epochs: ${o.warmup.epochs ?? 0} }`;
  const lines = [
    'optimizer:',
    `  learningRate: ${Number(o.learningRate.toPrecision(4))}   # the rate at batch ${o.batchSize}, from the ${o.rule} rule (see the probes)`,
    `  baseBatchSize: ${o.batchSize}     # bstune train uses this batch size by default`,
    `  scaling: ${o.rule}`,
    `  warmup: ${warm}`,
  ];
  if (o.accumulate > 1) {
    lines.push(o.accumulateKnown ? `training:\n  accumulate: ${o.accumulate}   # effective batch ${o.batchSize * o.accumulate}` : `# accumulate ${o.accumulate} micro-batches (effective batch ${o.batchSize * o.accumulate}) once training.accumulate is available`);
  }
  return `${lines.join('\n')}\n`;
}

const pct = (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(2)}%`);
const pt = (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(2)} pt`);
const fmtRate = (n: number) => String(Number(n.toPrecision(3)));
