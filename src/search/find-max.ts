/**
 * The step-down search for the largest batch size that trains without running
 * out of memory: halve on OOM until something fits, then optionally bisect
 * between the largest fit and the smallest OOM. Trials are injected so the
 * strategy can be tested without TensorFlow.
 */
import { BstuneError } from '../errors.js';
import type { Outcome } from '../backend/oom.js';
import { fitMemory, LINEAR_R2, predictBytes, predictMaxBatch, roundDownToMultiple, type MemoryModel } from '../memory/model.js';

export interface SearchOptions {
  start: number;
  min: number;
  refine: boolean;
  /** Most extra trials spent bisecting, e.g. 4. */
  refineTrials: number;
  /** Safety fraction in [0, 1) taken off the largest fit. */
  margin: number;
  /** Training-set size: a batch larger than the data cannot be tried. */
  maxBatch: number;
  /**
   * Bytes a trial may use (--memory-limit). With it, and trials that report their peak
   * memory, the search fits M(b) = M0 + b·m after two measured sizes and jumps to the
   * predicted maximum instead of halving its way there.
   */
  memoryBudget?: number | null;
}

export interface Attempt {
  batchSize: number;
  outcome: Outcome;
  reason: string | null;
  phase: 'step-down' | 'refine' | 'jump';
  /** Measured peak memory, when the trial reported it. */
  peakMemoryBytes: number | null;
  /** What the memory model fitted on the earlier trials predicted for this size (null without a model). */
  predictedBytes: number | null;
}

/** The first jump: what the model fitted on the probes predicted, and what was tried. */
export interface JumpPrediction {
  /** Trials the model was fitted on. */
  fromTrials: number;
  /** Largest batch predicted to fit under the budget. */
  maxBatch: number;
  /** That prediction rounded onto the search grid: the size tried first. */
  tried: number;
}

export interface StopCause {
  batchSize: number;
  outcome: 'error' | 'timeout';
  reason: string;
}

export interface SearchResult {
  /** After the margin; null if nothing fits or the search stopped on an error/timeout. */
  maxBatchSize: number | null;
  /** Largest size that trained; kept even when refinement stopped. */
  largestFit: number | null;
  /** Smallest size that ran out of memory, if any. */
  smallestOom: number | null;
  attempts: Attempt[];
  stoppedBy: StopCause | null;
  notes: string[];
  /** M(b) = M0 + b·m fitted over every trial that measured its peak; null with fewer than two sizes. */
  memoryModel: MemoryModel | null;
  /** Set when the search jumped on the model's prediction. */
  jump: JumpPrediction | null;
}

export interface TrialOutcome {
  outcome: Outcome;
  reason: string | null;
  /** Measured peak memory; an over-the-limit trial measures it too. */
  peakMemoryBytes?: number | null;
}

export type TryBatch = (batchSize: number) => Promise<TrialOutcome>;

/** Memory-wise a diverged trial fitted: its rate is the problem, not its size. */
const fits = (a: { outcome: Outcome }): boolean => a.outcome === 'ok' || a.outcome === 'diverged';

function usage(message: string, where: string): BstuneError {
  return new BstuneError('BSTUNE_USAGE', message, where);
}

export function validateSearchOptions(opts: SearchOptions): void {
  const int = (v: number, key: string, lo: number) => {
    if (!Number.isInteger(v) || v < lo) throw usage(`${key} must be an integer ≥ ${lo}, got ${v}`, key);
  };
  int(opts.min, 'search.min', 1);
  int(opts.start, 'search.start', 1);
  if (opts.start < opts.min) {
    throw usage(`search.start (${opts.start}) is below search.min (${opts.min})`, 'search.start');
  }
  int(opts.refineTrials, 'search.refineTrials', 0);
  if (!Number.isFinite(opts.margin) || opts.margin < 0 || opts.margin >= 1) {
    throw usage(`search.margin must be a fraction in [0, 1), got ${opts.margin}`, 'search.margin');
  }
  if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) {
    throw usage(`the training set must have at least 1 sample, got ${opts.maxBatch}`, 'data');
  }
  if (opts.maxBatch < opts.min) {
    throw usage(
      `the training set has ${opts.maxBatch} samples, fewer than search.min (${opts.min})`,
      'search.min',
    );
  }
}

/** Next size after an OOM at b, or null when min itself ran out of memory. */
function stepDown(b: number, min: number): number | null {
  if (b <= min) return null;
  // Halving past min would skip it; min is still worth one try.
  return Math.max(Math.floor(b / 2), min);
}

/** The sizes the step-down phase would try from `first`, in order (all of them if everything OOMs). */
export function stepDownSequence(first: number, min: number): number[] {
  const seq: number[] = [];
  for (let b: number | null = first; b !== null; b = stepDown(b, min)) seq.push(b);
  return seq;
}

export function applyMargin(largestFit: number, margin: number): number {
  // The epsilon keeps float noise (e.g. 100·0.57 = 56.99999…) from losing a whole sample.
  return Math.max(1, Math.floor(largestFit * (1 - margin) + 1e-9));
}

/** The sizes a jump may land on: the halving sequence without --refine, multiples of 8 with it. */
interface Grid {
  /** Largest grid size ≤ b (0 when none). */
  floor(b: number): number;
  /** Smallest grid size > b (Infinity when none). */
  above(b: number): number;
  describe: string;
}

function halvingGrid(seq: number[]): Grid {
  return {
    floor: (b) => seq.find((x) => x <= b) ?? 0,
    above: (b) => [...seq].reverse().find((x) => x > b) ?? Infinity,
    describe: 'sizes of the halving sequence',
  };
}

const EIGHT: Grid = {
  floor: (b) => roundDownToMultiple(b, 8),
  above: (b) => roundDownToMultiple(b, 8) + 8,
  describe: 'multiples of 8',
};

const JUMPS_WITHOUT_REFINE = 4;

export async function findMaxBatch(
  opts: SearchOptions,
  tryBatch: TryBatch,
  onAttempt?: (a: Attempt) => void,
): Promise<SearchResult> {
  validateSearchOptions(opts);
  const attempts: Attempt[] = [];
  const notes: string[] = [];
  const measured = () => attempts.flatMap((a) =>
    a.peakMemoryBytes !== null && (fits(a) || a.outcome === 'oom') ? [{ batchSize: a.batchSize, bytes: a.peakMemoryBytes }] : []);
  const attempt = async (batchSize: number, phase: Attempt['phase']): Promise<Attempt> => {
    const before = fitMemory(measured());
    const { outcome, reason, peakMemoryBytes } = await tryBatch(batchSize);
    const a: Attempt = {
      batchSize, outcome, reason, phase,
      peakMemoryBytes: typeof peakMemoryBytes === 'number' && peakMemoryBytes > 0 ? peakMemoryBytes : null,
      predictedBytes: before ? predictBytes(before, batchSize) : null,
    };
    attempts.push(a);
    onAttempt?.(a);
    return a;
  };
  const stopCause = (a: Attempt): StopCause | null =>
    a.outcome === 'error' || a.outcome === 'timeout'
      ? { batchSize: a.batchSize, outcome: a.outcome, reason: a.reason ?? `${a.outcome} with no reason given` }
      : null;
  let jump: JumpPrediction | null = null;
  const result = (r: Omit<SearchResult, 'attempts' | 'notes' | 'memoryModel' | 'jump'>): SearchResult =>
    ({ ...r, attempts, notes, memoryModel: fitMemory(measured()), jump });

  const first = Math.min(opts.start, opts.maxBatch);
  if (first < opts.start) notes.push(`start ${opts.start} capped at the training-set size ${opts.maxBatch}`);
  const budget = opts.memoryBudget ?? null;
  const jumpTrials = opts.refine ? opts.refineTrials : JUMPS_WITHOUT_REFINE;
  const canJump = budget !== null && budget > 0 && jumpTrials > 0;
  const halving = stepDownSequence(first, opts.min);
  const grid = opts.refine ? EIGHT : halvingGrid(halving);
  /** A model good enough to jump on, or the reason there is none (null: just not enough trials yet). */
  const usableModel = (): MemoryModel | string | null => {
    const m = fitMemory(measured());
    if (m === null) return null;
    if (m.points >= 3 && m.r2 < LINEAR_R2) {
      return `peak memory is not linear in the batch (R² ${m.r2.toFixed(3)} < ${LINEAR_R2} over ${m.points} sizes)`;
    }
    if (!(m.bytesPerSample > 0)) return 'peak memory does not grow with the batch in these trials';
    return m;
  };

  // Step down on OOM only: a smaller size "fitting" after a bug or a hang would
  // report a misleading maximum, so any other failure ends the search.
  let largestFit: number | null = null;
  let smallestOom: number | null = null;
  const tried = new Set<number>();
  const stepDownFrom = async (from: number | null, mayJump: boolean): Promise<StopCause | null | 'jump'> => {
    for (let b: number | null = from; b !== null; b = stepDown(b, opts.min)) {
      if (tried.has(b)) continue;
      tried.add(b);
      const a = await attempt(b, 'step-down');
      const stop = stopCause(a);
      if (stop) {
        notes.push(`stopped at ${b} (${stop.outcome}); smaller sizes not tried because the failure is not an OOM`);
        return stop;
      }
      if (fits(a)) {
        largestFit = b;
        return null;
      }
      smallestOom = b;
      // Two sizes measured over the budget already tell where the budget is crossed.
      if (mayJump && typeof usableModel() === 'object' && usableModel() !== null && b > opts.min) return 'jump';
    }
    return null;
  };

  let phase = await stepDownFrom(first, canJump);
  if (phase !== null && phase !== 'jump') return result({ maxBatchSize: null, largestFit, smallestOom, stoppedBy: phase });

  // Jump: fit M(b) on what ran, go straight to the largest grid size predicted to fit,
  // then verify by one grid step either way; refit after every trial.
  let jumped = false;
  let converged = false;
  if (canJump && smallestOom !== null) {
    let used = 0;
    while (used < jumpTrials) {
      const lo: number | null = largestFit;
      const hi: number = smallestOom;
      if (lo !== null && grid.above(lo) >= hi) {
        converged = true;
        break;
      }
      const m = usableModel();
      if (m === null) break;
      if (typeof m === 'string') {
        notes.push(`${m}: no jump on the memory model; ${opts.refine ? 'bisecting' : 'stepping down'} instead`);
        break;
      }
      const predicted = predictMaxBatch(m, budget!);
      let c = predicted === null ? opts.min : grid.floor(predicted);
      if (c >= hi) c = grid.floor(hi - 1);
      if (lo !== null && c <= lo) c = grid.above(lo); // the model says lo is the max: check one step up
      if (c < opts.min) c = opts.min;
      if (c >= hi || (lo !== null && c <= lo) || tried.has(c)) break;
      if (jump === null) jump = { fromTrials: attempts.length, maxBatch: predicted ?? 0, tried: c };
      tried.add(c);
      used++;
      jumped = true;
      const a = await attempt(c, 'jump');
      const stop = stopCause(a);
      if (stop) {
        notes.push(`stopped at ${c} (${stop.outcome}) while checking the memory model's prediction${largestFit !== null ? `; ${largestFit} had fitted` : ''}`);
        return result({ maxBatchSize: null, largestFit, smallestOom, stoppedBy: stop });
      }
      if (fits(a)) largestFit = c;
      else smallestOom = c;
    }
    if (!converged && largestFit !== null && grid.above(largestFit) >= smallestOom) converged = true;
    if (jumped) {
      const j = jump!;
      notes.push(converged
        ? `memory model: jumped to ${j.tried} (predicted maximum ${j.maxBatch}) after ${j.fromTrials} trial${j.fromTrials === 1 ? '' : 's'}; ${largestFit} fits and ${smallestOom} does not (${grid.describe})`
        : `memory model: jumped to ${j.tried} (predicted maximum ${j.maxBatch}); the prediction did not settle within ${jumpTrials} trials, so the search went on by ${opts.refine ? 'bisection' : 'halving'}`);
    }
  }
  // Nothing fitted yet (no jump, or the jumps all ran out of memory): keep halving.
  if (largestFit === null && smallestOom !== null) {
    phase = await stepDownFrom(stepDown(smallestOom, opts.min), false);
    if (phase !== null && phase !== 'jump') return result({ maxBatchSize: null, largestFit, smallestOom, stoppedBy: phase });
  }
  if (largestFit === null) {
    notes.push(`even search.min ${opts.min} ran out of memory`);
    return result({ maxBatchSize: null, largestFit, smallestOom, stoppedBy: null });
  }
  const fit: number = largestFit;
  if (smallestOom === null) {
    notes.push(
      first === opts.maxBatch
        ? `${first} fits (the whole training set); nothing larger to try`
        : `${first} fits, and it was the first size tried: the maximum may be larger; raise --start (search.start), e.g. --start ${Math.min(first * 2, opts.maxBatch)}`,
    );
  }
  largestFit = fit;

  if (opts.refine && smallestOom !== null && !converged) {
    let lo: number = fit;
    let hi: number = smallestOom;
    let used = attempts.filter((a) => a.phase === 'jump').length;
    const before = used;
    while (hi - lo > 1 && used < opts.refineTrials) {
      const mid = Math.floor((lo + hi) / 2);
      used++;
      const a = await attempt(mid, 'refine');
      const stop = stopCause(a);
      if (stop) {
        notes.push(`refinement stopped at ${mid} (${stop.outcome}); ${lo} had fitted`);
        return result({ maxBatchSize: null, largestFit: lo, smallestOom: hi, stoppedBy: stop });
      }
      if (fits(a)) lo = mid;
      else hi = mid;
    }
    largestFit = lo;
    smallestOom = hi;
    const n = used - before;
    const exact = hi - lo <= 1;
    notes.push(
      exact
        ? `refined to ${lo} with ${n} trial${n === 1 ? '' : 's'} (${hi} runs out of memory)`
        : `refined to ${lo} with ${n} trial${n === 1 ? '' : 's'}; the true maximum is below ${hi}`,
    );
  }

  const lf: number = largestFit;
  if (!opts.refine && smallestOom !== null && smallestOom - lf > 1) {
    notes.push(`the maximum lies between ${lf} and ${smallestOom - 1}; --refine narrows it`);
  }
  const maxBatchSize = applyMargin(lf, opts.margin);
  if (opts.margin > 0) notes.push(`margin ${+(opts.margin * 100).toFixed(2)}%: ${lf} → ${maxBatchSize}`);
  return result({ maxBatchSize, largestFit: lf, smallestOom, stoppedBy: null });
}
