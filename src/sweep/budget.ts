/**
 * What every size of a sweep gets the same amount of. Pure.
 *
 * A fixed epoch count gives a large batch fewer optimizer steps than a small one, which
 * penalises it when steps, not samples, limit progress (below the critical batch size).
 * `steps` gives every size the steps the base batch size takes in training.epochs epochs;
 * `time` gives every size the seconds of training steps the first size took. Either way
 * the run is cut into training.epochs rounds, each ending with a validation pass, so the
 * per-"epoch" columns count rounds.
 */
import type { TrialResult } from '../trial/protocol.js';

export type BudgetKind = 'epochs' | 'steps' | 'time';
export type Rounds = { steps: number } | { seconds: number };

export interface BudgetFacts {
  kind: BudgetKind;
  rounds: number;
  stepsPerRound: number | null;
  secondsPerRound: number | null;
  /** One line for the report. */
  meaning: string;
}

export function stepsBudget(trainCount: number, baseBatchSize: number, epochs: number): BudgetFacts {
  const steps = Math.max(1, Math.floor(trainCount / baseBatchSize));
  return {
    kind: 'steps', rounds: epochs, stepsPerRound: steps, secondsPerRound: null,
    meaning: `equal steps: every size trained ${epochs} round${epochs === 1 ? '' : 's'} of ${steps} steps (an epoch at the base batch size ${baseBatchSize}); epoch columns count rounds`,
  };
}

/** Seconds of training steps a finished run took (steady throughput over all its samples). */
export function trainingSeconds(t: TrialResult): number | null {
  if (t.outcome !== 'ok' || t.steps === 0) return null;
  if (t.samplesPerSecond !== null && t.samplesPerSecond > 0) return (t.steps * t.batchSize) / t.samplesPerSecond;
  return t.epochSeconds.length > 0 ? t.epochSeconds.reduce((a, b) => a + b, 0) : null;
}

export function timeBudget(reference: TrialResult, epochs: number): BudgetFacts | null {
  const total = trainingSeconds(reference);
  if (total === null) return null;
  const per = total / epochs;
  return {
    kind: 'time', rounds: epochs, stepsPerRound: null, secondsPerRound: per,
    meaning: `equal time: every size trained ${epochs} round${epochs === 1 ? '' : 's'} of ${per.toFixed(2)} s of training steps (what batch ${reference.batchSize} took per epoch); epoch columns count rounds`,
  };
}

export const epochsBudget = (epochs: number): BudgetFacts => ({
  kind: 'epochs', rounds: epochs, stepsPerRound: null, secondsPerRound: null,
  meaning: `equal epochs: every size trained ${epochs} epoch${epochs === 1 ? '' : 's'} (fewer steps for larger batches)`,
});

export const roundsOf = (b: BudgetFacts): Rounds | undefined =>
  b.stepsPerRound !== null ? { steps: b.stepsPerRound } : b.secondsPerRound !== null ? { seconds: b.secondsPerRound } : undefined;
