/**
 * Why recommend must not advise a run. Pure.
 *
 * Divergence itself has one rule for every command (src/train/divergence.ts): the trial
 * already carries it as outcome `diverged`. recommend adds one stricter test of its own,
 * because it prints advice: a probe whose validation accuracy ends within CHANCE_MARGIN of
 * chance did not train, spike or not, and a rate no run trained at is never recommended.
 */
import type { TrialResult } from '../trial/protocol.js';
import { CHANCE_MARGIN } from '../train/divergence.js';

export type DivergenceCheck = (t: Pick<TrialResult, 'outcome' | 'reason' | 'history'>, classes: number) => string | null;

export const divergedReason: DivergenceCheck = (t, classes) => {
  if (t.outcome === 'diverged') return t.reason ?? 'diverged';
  if (t.outcome !== 'ok' || t.history.length === 0) return null;
  const last = t.history[t.history.length - 1]!;
  const chance = classes > 1 ? 1 / classes : null;
  if (chance !== null && Number.isFinite(last.valAccuracy) && last.valAccuracy < chance + CHANCE_MARGIN) {
    return `did not train: validation accuracy ${(last.valAccuracy * 100).toFixed(1)}% is within ${Math.round(CHANCE_MARGIN * 100)} pt of chance (${(chance * 100).toFixed(0)}%)`;
  }
  return null;
};
