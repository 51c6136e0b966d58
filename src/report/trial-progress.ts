import type { Progress } from './progress.js';
import type { TrialHooks } from '../trial/run.js';
import { fmtPct, fmtRate } from './format.js';

/** Where a sweep stands, for its ETA: runs finished before this one, runs in all, and when it began. */
export interface SweepPosition {
  done: number;
  total: number;
  started: number;
}

/** Spinner text for a running trial: epoch, step, samples/s, loss, and the sweep's ETA. */
export function trialProgress(progress: Pick<Progress, 'update'>, label: string, epochs: number, sweep?: SweepPosition): Pick<TrialHooks, 'onStep' | 'onEpoch'> {
  const eta = (epoch: number, step: number, steps: number): string => {
    if (!sweep) return '';
    const fraction = (sweep.done + (epoch - 1 + step / steps) / epochs) / sweep.total;
    const elapsed = (performance.now() - sweep.started) / 1000;
    return fraction > 0.02 ? ` · sweep ETA ${formatDuration((elapsed / fraction) * (1 - fraction))}` : '';
  };
  return {
    onStep: (m) => progress.update(`${label}: epoch ${m.epoch}/${epochs} step ${m.step}/${m.stepsPerEpoch} · ${fmtRate(m.samplesPerSecond)} samples/s · loss ${m.loss.toFixed(4)}${eta(m.epoch, m.step, m.stepsPerEpoch)}`),
    // Off a TTY (a log file, CI) only finished trials get a line: no per-epoch chatter.
    onEpoch: (r) => progress.update(`${label}: epoch ${r.epoch}/${epochs} done · val acc ${fmtPct(r.valAccuracy)}`),
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
