/**
 * Learning-rate scaling across batch sizes, gradual warmup and cosine decay.
 *
 * Step-index convention: `step` is the 0-based global optimizer step, and
 * `learningRateAt` returns the rate used FOR that step's update. With W warmup
 * steps the rate is η_start at step 0, rises linearly, and first equals η at
 * step W (so warmup covers steps 0..W−1). Cosine decay runs from η at step W to
 * minLearningRate at step totalSteps; the last step actually taken is
 * totalSteps−1, so the floor is approached but not quite reached, matching the
 * usual implementations (Goyal et al. 2017; Loshchilov & Hutter 2017).
 */
import { BstuneError } from '../errors.js';

export type Scaling = 'linear' | 'sqrt' | 'none';

export interface WarmupConfig {
  epochs?: number;
  steps?: number;
  /** Where warmup starts; defaults to the UNscaled base rate. */
  startLearningRate?: number;
}

export interface ScheduleConfig {
  /** η_base, tuned at baseBatchSize. */
  learningRate: number;
  baseBatchSize: number;
  scaling: Scaling;
  /** epochs and steps are exclusive; neither (or 0) means no warmup. */
  warmup: WarmupConfig;
  decay: 'none' | 'cosine';
  /** Floor of the cosine decay; default 0. */
  minLearningRate?: number;
}

export interface StepPosition {
  batchSize: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** 0-based global step. */
  step: number;
}

function invalid(message: string, where?: string): BstuneError {
  return new BstuneError('BSTUNE_CONFIG_INVALID', message, where);
}

function requirePositive(value: number, what: string): void {
  if (!Number.isFinite(value) || value <= 0) throw invalid(`${what} must be a positive number, got ${value}`, what);
}

function requirePositiveInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) throw invalid(`${what} must be a positive integer, got ${value}`, what);
}

function requireNonNegative(value: number | undefined, what: string): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0) throw invalid(`${what} must be a number ≥ 0, got ${value}`, what);
}

function checkConfig(cfg: ScheduleConfig): void {
  requirePositive(cfg.learningRate, 'learningRate');
  requirePositiveInt(cfg.baseBatchSize, 'baseBatchSize');
  requireNonNegative(cfg.warmup.epochs, 'warmup.epochs');
  requireNonNegative(cfg.warmup.steps, 'warmup.steps');
  requireNonNegative(cfg.minLearningRate, 'minLearningRate');
  if (cfg.warmup.startLearningRate !== undefined) {
    requireNonNegative(cfg.warmup.startLearningRate, 'warmup.startLearningRate');
  }
  if ((cfg.warmup.epochs ?? 0) > 0 && (cfg.warmup.steps ?? 0) > 0) {
    throw invalid('warmup.epochs and warmup.steps are exclusive; set only one', 'warmup');
  }
}

/** linear: η·b/b_base (Goyal et al. 2017); sqrt: η·√(b/b_base); none: η. */
export function scaledLearningRate(cfg: ScheduleConfig, batchSize: number): number {
  checkConfig(cfg);
  requirePositiveInt(batchSize, 'batchSize');
  const ratio = batchSize / cfg.baseBatchSize;
  switch (cfg.scaling) {
    case 'linear':
      return cfg.learningRate * ratio;
    case 'sqrt':
      return cfg.learningRate * Math.sqrt(ratio);
    case 'none':
      return cfg.learningRate;
  }
}

/**
 * Warmup length W in optimizer steps. Fractional epochs round UP so a requested
 * warmup is never cut short; the product is first rounded to 12 significant
 * digits so float noise (0.1·30 = 3.0000000000000004) doesn't add a step.
 */
export function warmupSteps(cfg: ScheduleConfig, stepsPerEpoch: number): number {
  checkConfig(cfg);
  requirePositiveInt(stepsPerEpoch, 'stepsPerEpoch');
  const { epochs, steps } = cfg.warmup;
  if (steps !== undefined && steps > 0) return Math.ceil(Number(steps.toPrecision(12)));
  if (epochs !== undefined && epochs > 0) return Math.ceil(Number((epochs * stepsPerEpoch).toPrecision(12)));
  return 0;
}

/**
 * Warmup ramps up from the base rate to a larger scaled rate. Below the base batch size
 * the scaled rate is smaller than the base, and "warming up" from the base would start
 * the run at up to b_base/b times the intended rate; there it starts at the scaled rate
 * (no ramp) unless startLearningRate is set explicitly.
 */
function warmupStart(cfg: ScheduleConfig, peak: number): number {
  return cfg.warmup.startLearningRate ?? Math.min(cfg.learningRate, peak);
}

/** The rate used for the update at 0-based global step `p.step` (see the file header). */
export function learningRateAt(cfg: ScheduleConfig, p: StepPosition): number {
  const peak = scaledLearningRate(cfg, p.batchSize);
  const w = warmupSteps(cfg, p.stepsPerEpoch);
  if (!Number.isInteger(p.totalSteps) || p.totalSteps < 0) {
    throw invalid(`totalSteps must be an integer ≥ 0, got ${p.totalSteps}`, 'totalSteps');
  }
  if (!Number.isFinite(p.step) || p.step < 0) throw invalid(`step must be ≥ 0, got ${p.step}`, 'step');
  const t = p.step;

  if (t < w) {
    const start = warmupStart(cfg, peak);
    return start + (peak - start) * (t / w);
  }
  if (cfg.decay === 'none') return peak;

  const floor = cfg.minLearningRate ?? 0;
  const span = p.totalSteps - w;
  // Warmup that fills the whole run leaves no decay phase; dividing by a zero span
  // would give NaN, so hold η instead.
  if (span <= 0) return peak;
  const progress = Math.min(1, (t - w) / span);
  return floor + (peak - floor) * (1 + Math.cos(Math.PI * progress)) / 2;
}

/** Short human form of a rate: 4 significant digits, no trailing zeros. */
function fmt(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/** One human line, e.g. "lr 0.004 (linear from 0.001 @ 32), warmup 250 steps from 0.001, cosine to 0". */
export function describeSchedule(cfg: ScheduleConfig, batchSize: number, stepsPerEpoch: number): string {
  const peak = scaledLearningRate(cfg, batchSize);
  const w = warmupSteps(cfg, stepsPerEpoch);
  const parts: string[] = [];
  if (cfg.scaling === 'none') {
    parts.push(`lr ${fmt(peak)} (not scaled)`);
  } else if (batchSize === cfg.baseBatchSize) {
    parts.push(`lr ${fmt(peak)} (${cfg.scaling}, batch = base ${cfg.baseBatchSize})`);
  } else {
    parts.push(`lr ${fmt(peak)} (${cfg.scaling} from ${fmt(cfg.learningRate)} @ ${cfg.baseBatchSize})`);
  }
  if (w > 0) {
    const epochs = cfg.warmup.epochs;
    const unit = w === 1 ? 'step' : 'steps';
    const asEpochs = epochs !== undefined && epochs > 0 ? ` (${fmt(epochs)} epoch${epochs === 1 ? '' : 's'})` : '';
    parts.push(`warmup ${w} ${unit}${asEpochs} from ${fmt(warmupStart(cfg, peak))}`);
  } else {
    parts.push('no warmup');
  }
  if (cfg.decay === 'cosine') parts.push(`cosine to ${fmt(cfg.minLearningRate ?? 0)}`);
  return parts.join(', ');
}

/**
 * The highest rate a run of `totalSteps` steps really uses: the scaled rate once warmup is
 * over, else the last warmup step's (the ramp and the decay are each monotone, so the
 * maximum is at step 0 or at min(W, totalSteps − 1)). Null for a run with no steps.
 */
export function peakLearningRate(cfg: ScheduleConfig, p: Omit<StepPosition, 'step'>): number | null {
  if (p.totalSteps < 1) return null;
  const w = warmupSteps(cfg, p.stepsPerEpoch);
  const at = (step: number) => learningRateAt(cfg, { ...p, step });
  return Math.max(at(0), at(Math.min(w, p.totalSteps - 1)));
}

/**
 * A warning when warmup does not end within the run, so the run never trains at its
 * scaled rate (and a cosine decay never starts); null when it does.
 */
export function warmupTooLong(cfg: ScheduleConfig, p: Omit<StepPosition, 'step'>): string | null {
  const w = warmupSteps(cfg, p.stepsPerEpoch);
  const scaled = scaledLearningRate(cfg, p.batchSize);
  const peak = peakLearningRate(cfg, p);
  if (w < p.totalSteps || peak === null || peak >= scaled) return null;
  const decay = cfg.decay === 'cosine' ? ', and the cosine decay never starts' : '';
  const verb = w > p.totalSteps ? 'is longer than' : 'lasts all of';
  return `warmup (${w} step${w === 1 ? '' : 's'}) ${verb} the run at batch ${p.batchSize} (${p.totalSteps} step${p.totalSteps === 1 ? '' : 's'}): the rate peaks at ${fmt(peak)}, never reaching the scaled ${fmt(scaled)}${decay}`;
}
