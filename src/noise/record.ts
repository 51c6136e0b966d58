import type { NoiseEstimate } from './scale.js';

/** One measurement of the noise scale during a run: epoch 0 is the initial weights. */
export interface NoisePoint {
  epoch: number;
  bSimple: number | null;
  bSimpleStdError: number | null;
  gradSqNorm: number;
  traceSigma: number;
  seconds: number;
}

/** What a run reports as `gradientNoiseScale`. B_simple in samples. */
export interface GradientNoiseScale {
  /** B_simple at the initial weights (null: |G|² estimate not positive, noise swamps the signal). */
  initial: number | null;
  /** B_simple after the last epoch. */
  final: number | null;
  initialStdError: number | null;
  finalStdError: number | null;
  /** Every measurement, initial first (after each epoch where measured). */
  points: NoisePoint[];
  smallBatch: number;
  bigBatch: number;
  /** Big batches per measurement. */
  batches: number;
  /** Seconds spent measuring, kept out of samples/s and seconds per epoch. */
  seconds: number;
}

export function noisePoint(epoch: number, e: NoiseEstimate & { seconds: number }): NoisePoint {
  return { epoch, bSimple: e.bSimple, bSimpleStdError: e.bSimpleStdError, gradSqNorm: e.gradSqNorm, traceSigma: e.traceSigma, seconds: e.seconds };
}

export function noiseRecord(points: NoisePoint[], plan: { smallBatch: number; bigBatch: number; batches: number }): GradientNoiseScale | null {
  if (points.length === 0) return null;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const final = last.epoch > 0 ? last : null;
  return {
    initial: first.epoch === 0 ? first.bSimple : null,
    final: final?.bSimple ?? null,
    initialStdError: first.epoch === 0 ? first.bSimpleStdError : null,
    finalStdError: final?.bSimpleStdError ?? null,
    points, ...plan,
    seconds: points.reduce((a, p) => a + p.seconds, 0),
  };
}
