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
  /** Why this rule got fewer runs than the others (see skipRepeats); absent when it got them all. */
  notRepeated?: string;
}

export interface RuleVerdict {
  rule: Scaling;
  learningRate: number;
  /** Mean and sample sd of the final validation accuracy over the runs that trained. */
  meanValAccuracy: number | null;
  sdValAccuracy: number | null;
  meanValLoss: number | null;
  /** Runs behind the mean (a single run has no spread). */
  runs: number;
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
      runs: p.runs.length,
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
        ? best.runs < 2 && second.runs < 2
          ? `${best.rule} trained best: ${pct(best.meanValAccuracy)} val acc vs ${second.rule} ${pct(second.meanValAccuracy)} (one run each: no spread measured, so this may be noise)`
          : `${best.rule} trained best: ${acc(best)} val acc vs ${second.rule} ${acc(second)} (more than one sd apart)`
        : `${best.rule} is the only rule that trained`,
    };
  }
  // No winner: keep the configured rule if it is among them, else the most cautious (smallest) rate.
  const pick = near.find((v) => v.rule === configured) ?? [...near].sort((a, b) => a.learningRate - b.learningRate)[0]!;
  return {
    verdicts, chosen: pick.rule, learningRate: pick.learningRate, winner: null, withinNoise: near.map((v) => v.rule),
    why: `within noise: ${near.map((v) => `${v.rule} ${acc(v)}`).join(', ')} (within one sd); ` +
      (pick.rule === configured ? `keeping the configured rule ${configured}` : `taking the smallest of their rates (${pick.rule})`),
  };
}

/** A repeat makes a difference only this close: more than this many seed spreads behind, one run is enough. */
export const CLEAR_GAP_SPREADS = 3;

const runOk = (r: ProbeRun) => r.outcome === 'ok' && r.diverged === null && r.valAccuracy !== null && Number.isFinite(r.valAccuracy);

/** After every rule's first run: the rules whose repeats run first, the two that trained best. */
export function rulesToRepeatFirst(probes: RuleProbe[]): Scaling[] {
  return probes.filter((p) => p.runs.length > 0 && runOk(p.runs[0]!))
    .sort((a, b) => b.runs[0]!.valAccuracy! - a.runs[0]!.valAccuracy!)
    .slice(0, 2).map((p) => p.rule);
}

/**
 * Whether a rule with one run can skip its repeats, given the rules already repeated: yes
 * when its run failed or diverged (such a rule is never recommended, whatever its other
 * seeds do), or when it trails the best repeated rule by more than CLEAR_GAP_SPREADS times
 * their largest seed spread. Returns why, or null when the repeats are needed.
 */
export function skipRepeats(probe: RuleProbe, repeated: RuleProbe[]): string | null {
  const first = probe.runs[0];
  if (!first) return null;
  if (!runOk(first)) return `not repeated: its first run ${first.diverged !== null ? 'diverged' : `failed (${first.outcome})`}, and a rule with such a run is never recommended`;
  const stats = repeated.filter((p) => p.runs.length > 1 && p.runs.every(runOk)).map((p) => {
    const acc = p.runs.map((r) => r.valAccuracy!);
    return { rule: p.rule, mean: meanOf(acc), sd: sdOf(acc) };
  });
  if (stats.length === 0) return null;
  const best = stats.reduce((a, b) => (b.mean > a.mean ? b : a));
  const spread = Math.max(...stats.map((x) => x.sd));
  const gap = best.mean - first.valAccuracy!;
  if (spread <= 0 || gap <= CLEAR_GAP_SPREADS * spread) return null;
  return `not repeated: its one run is ${pt(gap)} below ${best.rule}'s mean, more than ${CLEAR_GAP_SPREADS}× the largest seed spread of the repeated rules (${pt(spread)})`;
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
  const se = bSimpleStdError ?? 0;
  // B_simple is an estimate: the cap and the reach use the ends of its one-standard-error range, so
  // a batch within one error of the critical batch is never cut (or stretched) on noise.
  const capAt = nearestPowerOfTwo(bSimple + se);
  const reach = nearestPowerOfTwo(Math.max(1, bSimple - se));
  const noise = `B_simple ≈ ${Math.round(bSimple)}${bSimpleStdError !== null ? ` ± ${Math.round(bSimpleStdError)}` : ''} samples`;
  const f = (b: number) => `at ${b}: ${(1 + bSimple / b).toFixed(2)}× the minimum steps, ${(1 + b / bSimple).toFixed(2)}× the minimum samples`;
  if (capAt < fit) {
    const within = capAt !== critical ? ` (the largest power of two within one standard error of it; ${critical} is nearest)` : '';
    return {
      batchSize: capAt, largestPowerOfTwoFit: fit, limitedBy: 'noise scale', criticalBatch: critical, accumulate: 1, tradeoff,
      why: `${noise}: beyond ${capAt}${within} a larger batch buys little step reduction (${f(capAt)}; ${f(fit)}), so ${capAt}, not the ${fit} that fits`,
    };
  }
  const accumulate = reach > fit && critical > fit ? Math.round(critical / fit) : 1;
  const withinNoise = critical !== fit && accumulate === 1 && se > 0;
  return {
    batchSize: fit, largestPowerOfTwoFit: fit, limitedBy: 'memory', criticalBatch: critical, accumulate, tradeoff,
    // Only the reach is said here: whether to accumulate is the accumulation probe's to back (accumulationVerdict).
    why: accumulate > 1
      ? `${noise} exceeds what fits (${fit}): ${f(fit)}; ${accumulate} micro-batches of ${fit} would reach ${fit * accumulate} (${f(fit * accumulate)})`
      : withinNoise
        ? `${noise}; ${fit} fits and is within one standard error of it (${critical} is nearest), so the noise scale neither caps it nor asks for more (${f(fit)})`
        : `${noise}; ${fit} fits and is near it (${f(fit)})`,
  };
}

export interface CandidateRun {
  batchSize: number;
  /** Micro-batches per optimizer step (1 = none): the run trained at batchSize × accumulate. */
  accumulate?: number;
  learningRate: number;
  outcome: string;
  reason: string | null;
  peakMemoryBytes: number | null;
  samplesPerSecond: number | null;
  /** Training threads the run used (its samples/s depends on them); null/absent: not recorded. */
  threads?: number | null;
  /** Per round: steps taken in the round and the validation accuracy after it. */
  rounds: { steps: number; valAccuracy: number }[];
  noiseFinal: number | null;
  noiseFinalStdError: number | null;
  diverged: string | null;
}

export interface CandidateCost {
  batchSize: number;
  accumulate: number;
  threads: number | null;
  learningRate: number;
  outcome: string;
  peakMemoryBytes: number | null;
  samplesPerSecond: number | null;
  finalValAccuracy: number | null;
  /** Steps until the first round whose validation accuracy reached the target; null = not within the budget. */
  stepsToTarget: number | null;
  /** stepsToTarget × batch (× accumulate) / samples/s: training seconds (not validation, not start-up). */
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
    const accumulate = r.accumulate ?? 1;
    return {
      batchSize: r.batchSize, accumulate, threads: r.threads ?? null, learningRate: r.learningRate, outcome: r.diverged !== null ? 'diverged' : r.outcome,
      peakMemoryBytes: r.peakMemoryBytes, samplesPerSecond: r.samplesPerSecond,
      finalValAccuracy: r.rounds.length ? r.rounds[r.rounds.length - 1]!.valAccuracy : null,
      stepsToTarget,
      secondsToTarget: stepsToTarget !== null && r.samplesPerSecond ? (stepsToTarget * r.batchSize * accumulate) / r.samplesPerSecond : null,
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

/** The noise scale to cap the batch with: from the candidate that trained furthest (highest final accuracy; on a tie the larger batch). */
export function noiseForDecision(runs: CandidateRun[]): { bSimple: number | null; stdError: number | null; batchSize: number | null } {
  const ok = runs.filter((r) => r.outcome === 'ok' && r.diverged === null && r.noiseFinal !== null && r.rounds.length > 0);
  if (ok.length === 0) return { bSimple: null, stdError: null, batchSize: null };
  // On a tie the larger batch: at equal steps it saw more samples, so it is further along
  // (B_noise grows as training goes on).
  const acc = (r: CandidateRun) => r.rounds[r.rounds.length - 1]!.valAccuracy;
  const best = ok.reduce((a, b) => (acc(b) > acc(a) || (acc(b) === acc(a) && b.batchSize * (b.accumulate ?? 1) > a.batchSize * (a.accumulate ?? 1)) ? b : a));
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
export function configSnippet(o: { batchSize: number; learningRate: number; rule: Scaling; warmup: { epochs?: number; steps?: number }; accumulate: number; effectiveLearningRate?: number | null }): string {
  const warm = o.warmup.steps !== undefined ? `{ steps: ${o.warmup.steps} }` : `{ epochs: ${o.warmup.epochs ?? 0} }`;
  // [setting, comment]: the comments start in one column, whatever the numbers' widths.
  const lines: [string, string?][] = [
    ['optimizer:'],
    [`  learningRate: ${Number(o.learningRate.toPrecision(4))}`, `the rate at batch ${o.batchSize}, from the ${o.rule} rule (see the probes)`],
    [`  baseBatchSize: ${o.batchSize}`, 'bstune train uses this batch size by default'],
    [`  scaling: ${o.rule}`],
    [`  warmup: ${warm}`],
  ];
  if (o.accumulate > 1) {
    const lr = o.effectiveLearningRate ? `; the ${o.rule} rule takes the rate to ${Number(o.effectiveLearningRate.toPrecision(4))}, as in the accumulation probe` : '';
    lines.push(['training:'], [`  accumulate: ${o.accumulate}`, `effective batch ${o.batchSize * o.accumulate}${lr}`]);
  }
  const column = Math.max(...lines.filter(([, c]) => c !== undefined).map(([t]) => t.length)) + 3;
  return `${lines.map(([t, c]) => (c === undefined ? t : `${t.padEnd(column)}# ${c}`)).join('\n')}\n`;
}

export interface AccumulationVerdict {
  microBatch: number;
  accumulate: number;
  effectiveBatchSize: number;
  /** True only when the probe at micro-batch × accumulate trained and did no worse than the micro-batch alone. */
  backed: boolean;
  learningRate: number | null;
  valAccuracy: number | null;
  samplesPerSecond: number | null;
  peakMemoryBytes: number | null;
  steps: number | null;
  /** The micro-batch's own candidate run after the same steps, for comparison. */
  microBatchValAccuracy: number | null;
  why: string;
}

/**
 * Whether to advise accumulation, from its probe: the chosen rule at micro-batch × N under
 * the same equal-steps budget. Advised only when that run trained and ended no worse (beyond
 * `sd`, the rate probes' seed spread) than the micro-batch alone; no probe, no advice.
 */
export function accumulationVerdict(b: Pick<BatchDecision, 'batchSize' | 'accumulate'>, acc: CandidateRun | null, micro: CandidateRun | null, chosen: Scaling | null, sd: number | null = null): AccumulationVerdict {
  const effective = b.batchSize * b.accumulate;
  const last = (r: CandidateRun | null) => (r && r.rounds.length ? r.rounds[r.rounds.length - 1]!.valAccuracy : null);
  const base = {
    microBatch: b.batchSize, accumulate: b.accumulate, effectiveBatchSize: effective,
    learningRate: acc?.learningRate ?? null, valAccuracy: last(acc), samplesPerSecond: acc?.samplesPerSecond ?? null,
    peakMemoryBytes: acc?.peakMemoryBytes ?? null, steps: acc ? acc.rounds.reduce((a, r) => a + r.steps, 0) : null,
    microBatchValAccuracy: last(micro),
  };
  const name = `${b.batchSize} × ${b.accumulate} = ${effective}`;
  if (chosen === null || acc === null) return { ...base, backed: false, why: `accumulation (${name}) not probed: no rate trained, so it is not advised` };
  if (acc.outcome !== 'ok' || acc.diverged !== null) {
    return { ...base, backed: false, why: `accumulation not advised: its probe at ${name} ${acc.diverged !== null ? `diverged (${acc.diverged})` : `failed: ${acc.outcome}${acc.reason ? ` (${acc.reason})` : ''}`}` };
  }
  const numbers = `probe at ${name} (lr ${fmtRate(acc.learningRate)}, ${base.steps} steps): val acc ${pct(base.valAccuracy)} vs ${pct(base.microBatchValAccuracy)} at ${b.batchSize} alone after the same steps`;
  if (base.valAccuracy !== null && base.microBatchValAccuracy !== null && base.valAccuracy < base.microBatchValAccuracy - (sd ?? 0)) {
    return { ...base, backed: false, why: `accumulation not advised: ${numbers}${sd ? ` (lower by more than the seed spread ${pt(sd)})` : ''}` };
  }
  return { ...base, backed: true, why: `accumulate ${b.accumulate} micro-batches: ${numbers}` };
}

/** Says what the cost columns are: single runs, with the seed spread the rate probes measured as a yardstick. */
export function costNote(o: { seed: number; sd: number | null; runs: number; batchSize: number }): string {
  const single = `each cost row is a single run (seed ${o.seed}): its samples/s and seconds are one timing each`;
  if (o.sd !== null && o.runs > 1 && o.sd > 0) {
    return `${single}; for scale, the chosen rule's ${o.runs} seeds at batch ${o.batchSize} spread ± ${pt(o.sd)} in val acc, so end accuracies closer than that are within noise`;
  }
  return o.runs > 1
    ? `${single}; the chosen rule's ${o.runs} seeds at batch ${o.batchSize} ended at the same val acc, so no spread was measured: treat small differences as noise`
    : `${single}, and no repeat measured their spread (--probe-repeats 1): treat small differences as noise`;
}

const acc = (v: RuleVerdict) => (v.runs < 2 ? `${pct(v.meanValAccuracy)} (one run)` : `${pct(v.meanValAccuracy)} ± ${pt(v.sdValAccuracy)}`);
const pct = (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(2)}%`);
const pt = (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(2)} pt`);
const fmtRate = (n: number) => String(Number(n.toPrecision(3)));
