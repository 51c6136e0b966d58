/**
 * Whether a finished run diverged: the contract's "NaN/Inf loss, loss above its start,
 * or val accuracy near chance". Pure. Written against an interface so the shared
 * divergence label (the trial's `diverged` outcome) replaces it once every run carries it.
 */
import type { TrialResult } from '../trial/protocol.js';

export type DivergenceCheck = (t: Pick<TrialResult, 'outcome' | 'reason' | 'history'>, classes: number) => string | null;

export const divergedReason: DivergenceCheck = (t, classes) => {
  if ((t.outcome as string) === 'diverged') return t.reason ?? 'diverged';
  if (t.outcome !== 'ok' || t.history.length === 0) return null;
  const bad = t.history.find((h) => !Number.isFinite(h.trainLoss) || !Number.isFinite(h.valLoss));
  if (bad) return `loss is ${bad.trainLoss} (train) / ${bad.valLoss} (validation) after round ${bad.epoch}`;
  const first = t.history[0]!;
  const last = t.history[t.history.length - 1]!;
  if (t.history.length > 1 && last.trainLoss > first.trainLoss * 1.5) return `train loss rose from ${first.trainLoss.toFixed(3)} to ${last.trainLoss.toFixed(3)}`;
  const chance = classes > 1 ? 1 / classes : null;
  if (chance !== null && last.valAccuracy <= chance + 0.02) return `validation accuracy ${(last.valAccuracy * 100).toFixed(1)}% is at chance (${(chance * 100).toFixed(0)}%)`;
  return null;
};
