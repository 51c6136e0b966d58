import type { Progress } from './progress.js';
import type { TrialHooks } from '../trial/run.js';
import { fmtPct, fmtRate } from './format.js';

/** Spinner text for a running trial: epoch, step, samples/s, loss. */
export function trialProgress(progress: Progress, label: string, epochs: number): Pick<TrialHooks, 'onStep' | 'onEpoch'> {
  return {
    onStep: (m) => progress.update(`${label}: epoch ${m.epoch}/${epochs} step ${m.step}/${m.stepsPerEpoch} · ${fmtRate(m.samplesPerSecond)} samples/s · loss ${m.loss.toFixed(4)}`),
    // Off a TTY (a log file, CI) only finished trials get a line: no per-epoch chatter.
    onEpoch: (r) => progress.update(`${label}: epoch ${r.epoch}/${epochs} done · val acc ${fmtPct(r.valAccuracy)}`),
  };
}
