/**
 * The step-down search for the largest batch size that trains without running
 * out of memory: halve on OOM until something fits, then optionally bisect
 * between the largest fit and the smallest OOM. Trials are injected so the
 * strategy can be tested without TensorFlow.
 */
import { BstuneError } from '../errors.js';
import type { Outcome } from '../backend/oom.js';

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
}

export interface Attempt {
  batchSize: number;
  outcome: Outcome;
  reason: string | null;
  phase: 'step-down' | 'refine';
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
}

export type TryBatch = (batchSize: number) => Promise<{ outcome: Outcome; reason: string | null }>;

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

export async function findMaxBatch(
  opts: SearchOptions,
  tryBatch: TryBatch,
  onAttempt?: (a: Attempt) => void,
): Promise<SearchResult> {
  validateSearchOptions(opts);
  const attempts: Attempt[] = [];
  const notes: string[] = [];
  const attempt = async (batchSize: number, phase: Attempt['phase']): Promise<Attempt> => {
    const { outcome, reason } = await tryBatch(batchSize);
    const a: Attempt = { batchSize, outcome, reason, phase };
    attempts.push(a);
    onAttempt?.(a);
    return a;
  };
  const stopCause = (a: Attempt): StopCause | null =>
    a.outcome === 'error' || a.outcome === 'timeout'
      ? { batchSize: a.batchSize, outcome: a.outcome, reason: a.reason ?? `${a.outcome} with no reason given` }
      : null;

  const first = Math.min(opts.start, opts.maxBatch);
  if (first < opts.start) notes.push(`start ${opts.start} capped at the training-set size ${opts.maxBatch}`);

  // Step down on OOM only: a smaller size "fitting" after a bug or a hang would
  // report a misleading maximum, so any other failure ends the search.
  let largestFit: number | null = null;
  let smallestOom: number | null = null;
  for (let b: number | null = first; b !== null; b = stepDown(b, opts.min)) {
    const a = await attempt(b, 'step-down');
    const stop = stopCause(a);
    if (stop) {
      notes.push(`stopped at ${b} (${stop.outcome}); smaller sizes not tried because the failure is not an OOM`);
      return { maxBatchSize: null, largestFit, smallestOom, attempts, stoppedBy: stop, notes };
    }
    if (a.outcome === 'ok') {
      largestFit = b;
      break;
    }
    smallestOom = b;
  }
  if (largestFit === null) {
    notes.push(`even search.min ${opts.min} ran out of memory`);
    return { maxBatchSize: null, largestFit, smallestOom, attempts, stoppedBy: null, notes };
  }
  if (smallestOom === null) {
    notes.push(
      first === opts.maxBatch
        ? `${first} fits (the whole training set); nothing larger to try`
        : `${first} fits, and it was the first size tried: the maximum may be larger; raise --start (search.start), e.g. --start ${Math.min(first * 2, opts.maxBatch)}`,
    );
  }

  if (opts.refine && smallestOom !== null) {
    let used = 0;
    while (smallestOom - largestFit > 1 && used < opts.refineTrials) {
      const mid = Math.floor((largestFit + smallestOom) / 2);
      used++;
      const a = await attempt(mid, 'refine');
      const stop = stopCause(a);
      if (stop) {
        notes.push(`refinement stopped at ${mid} (${stop.outcome}); ${largestFit} had fitted`);
        return { maxBatchSize: null, largestFit, smallestOom, attempts, stoppedBy: stop, notes };
      }
      if (a.outcome === 'ok') largestFit = mid;
      else smallestOom = mid;
    }
    const exact = smallestOom - largestFit <= 1;
    notes.push(
      exact
        ? `refined to ${largestFit} with ${used} trial${used === 1 ? '' : 's'} (${smallestOom} runs out of memory)`
        : `refined to ${largestFit} with ${used} trial${used === 1 ? '' : 's'}; the true maximum is below ${smallestOom}`,
    );
  }

  if (!opts.refine && smallestOom !== null && smallestOom - largestFit > 1) {
    notes.push(`the maximum lies between ${largestFit} and ${smallestOom - 1}; --refine narrows it`);
  }
  const maxBatchSize = applyMargin(largestFit, opts.margin);
  if (opts.margin > 0) notes.push(`margin ${+(opts.margin * 100).toFixed(2)}%: ${largestFit} → ${maxBatchSize}`);
  return { maxBatchSize, largestFit, smallestOom, attempts, stoppedBy: null, notes };
}
