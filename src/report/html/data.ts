/**
 * The rows each chart plots, derived from trial records. Pure: no files, no clock.
 * Only `ok` runs feed speed, accuracy and time-to-target (a diverged or failed run is
 * never a data point there); memory shows every run that measured a peak, by outcome.
 */
import { mean, std } from '../stats.js';
import { fitMemory as fitMemoryModel } from '../../memory/model.js';
import type { MemoryFit, NoiseValue, ReportTrial } from './types.js';

const MiB = 1024 * 1024;
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export interface MemoryPoint { batchSize: number; peakMiB: number; outcome: string }
export interface ThroughputRow { batch: string; batchSize: number; mean: number; std: number; lo: number; hi: number; runs: number }
export interface ThroughputPoint { batchSize: number; samplesPerSecond: number; seed: number | null }
export interface EpochRow { batch: string; batchSize: number; epoch: number; valAccuracy: number; valLoss: number; runs: number }
export interface TargetRow { batch: string; batchSize: number; seconds: number | null; epochs: number | null; reached: number; runs: number }
export interface NoiseRow { batchSize: number; when: 'initial' | 'final'; bSimple: number }
export interface NoiseEpochRow { batch: string; batchSize: number; epoch: number; bSimple: number; runs: number }

export const ok = (trials: ReportTrial[]) => trials.filter((t) => t.outcome === 'ok');

/**
 * Runs are grouped by micro-batch and accumulation: 32 and 32×4 are different experiments.
 * `batch` is the group's label, `batchSize` its effective batch (the x of speed and noise).
 */
export interface Group { batch: string; batchSize: number; trials: ReportTrial[] }
const accumulateOf = (t: ReportTrial) => (typeof t.accumulate === 'number' && t.accumulate > 1 ? t.accumulate : 1);
export const effectiveOf = (t: ReportTrial) => (finite(t.effectiveBatchSize) ? t.effectiveBatchSize : t.batchSize * accumulateOf(t));
export const labelOf = (t: ReportTrial) => (accumulateOf(t) > 1 ? `${t.batchSize}×${accumulateOf(t)}` : String(t.batchSize));
export function groups(trials: ReportTrial[]): Group[] {
  const by = new Map<string, Group>();
  for (const t of trials) {
    const g = by.get(labelOf(t)) ?? { batch: labelOf(t), batchSize: effectiveOf(t), trials: [] };
    g.trials.push(t);
    by.set(g.batch, g);
  }
  return [...by.values()].sort((a, b) => a.batchSize - b.batchSize || a.trials[0]!.batchSize - b.trials[0]!.batchSize);
}

export function memoryPoints(trials: ReportTrial[]): MemoryPoint[] {
  return trials.filter((t) => finite(t.peakMemoryBytes)).map((t) => ({ batchSize: t.batchSize, peakMiB: t.peakMemoryBytes! / MiB, outcome: t.outcome }))
    .sort((a, b) => a.batchSize - b.batchSize);
}

/**
 * M(b) = M0 + b·m: the project's memory model (src/memory/model.ts, the one find-max jumps on),
 * over every run that measured a peak (ok, and oom under --memory-limit; a crash measured
 * nothing). Null with fewer than two distinct batch sizes.
 */
export function fitMemory(trials: ReportTrial[]): MemoryFit | null {
  const pts = trials.filter((t) => (t.outcome === 'ok' || t.outcome === 'oom') && finite(t.peakMemoryBytes));
  const m = fitMemoryModel(pts.map((t) => ({ batchSize: t.batchSize, bytes: t.peakMemoryBytes! })));
  return m === null || !Number.isFinite(m.bytesPerSample) ? null : fromModel(m, `least squares over ${m.points} batch sizes, repeats averaged`);
}

/** A MemoryModel as find-max reports it (or a record carries it), for the chart. */
export function fromModel(m: { fixedBytes: number; bytesPerSample: number; r2?: number | null }, source: string): MemoryFit {
  return { baseBytes: m.fixedBytes, bytesPerSample: m.bytesPerSample, r2: finite(m.r2) ? m.r2 : null, source };
}

/** The newest record's own memory model (`memoryModel: {fixedBytes, bytesPerSample, r2}`), if any carries one. */
export function recordedModel(trials: ReportTrial[]): MemoryFit | null {
  for (const t of [...trials].reverse()) {
    const m = (t as { memoryModel?: unknown }).memoryModel as { fixedBytes?: unknown; bytesPerSample?: unknown; r2?: unknown } | null | undefined;
    if (m && finite(m.fixedBytes) && finite(m.bytesPerSample)) return fromModel({ fixedBytes: m.fixedBytes, bytesPerSample: m.bytesPerSample, r2: finite(m.r2) ? m.r2 : null }, 'the memory model recorded with the runs');
  }
  return null;
}

/** The largest batch the line predicts under `limit` (null when the line does not grow). */
export function predictedMax(fit: MemoryFit, limitBytes: number): number | null {
  if (!(fit.bytesPerSample > 0)) return null;
  const b = Math.floor((limitBytes - fit.baseBytes) / fit.bytesPerSample);
  return b >= 1 ? b : null;
}

/** Two ends of the fitted line across the measured sizes, stretched to the limit's crossing when that is near. */
export function fitLine(fit: MemoryFit, batchSizes: number[], limitBytes: number | null): { batchSize: number; peakMiB: number }[] {
  if (batchSizes.length === 0) return [];
  const lo = Math.min(...batchSizes);
  let hi = Math.max(...batchSizes);
  const cross = limitBytes !== null ? predictedMax(fit, limitBytes) : null;
  if (cross !== null && cross > hi && cross <= hi * 2) hi = cross;
  return [lo, hi].map((b) => ({ batchSize: b, peakMiB: (fit.baseBytes + b * fit.bytesPerSample) / MiB }));
}

export function throughput(trials: ReportTrial[]): { rows: ThroughputRow[]; points: ThroughputPoint[] } {
  const runs = ok(trials).filter((t) => finite(t.samplesPerSecond));
  const rows = groups(runs).map((g) => {
    const xs = g.trials.map((t) => t.samplesPerSecond!);
    const m = mean(xs);
    const s = std(xs);
    return { batch: g.batch, batchSize: g.batchSize, mean: m, std: s, lo: m - s, hi: m + s, runs: xs.length };
  });
  return { rows, points: runs.map((t) => ({ batchSize: effectiveOf(t), samplesPerSecond: t.samplesPerSecond!, seed: t.seed ?? null })) };
}

/** One line per batch size: the mean over its ok runs at each epoch. */
export function epochRows(trials: ReportTrial[]): EpochRow[] {
  const runs = ok(trials);
  return groups(runs).flatMap(({ batch, batchSize, trials: mine }) => {
    const hs = mine.flatMap((t) => t.history);
    const epochs = [...new Set(hs.map((h) => h.epoch))].sort((x, y) => x - y);
    return epochs.flatMap((e) => {
      const at = hs.filter((h) => h.epoch === e && finite(h.valAccuracy) && finite(h.valLoss));
      return at.length === 0 ? [] : [{ batch, batchSize, epoch: e, valAccuracy: mean(at.map((h) => h.valAccuracy)), valLoss: mean(at.map((h) => h.valLoss)), runs: at.length }];
    });
  });
}

/** The target the sweep table uses when none is configured: 99% of the best validation accuracy any ok run reached. */
export function defaultTarget(trials: ReportTrial[]): number | null {
  const best = Math.max(...ok(trials).flatMap((t) => t.history.map((h) => h.valAccuracy).filter(finite)));
  return Number.isFinite(best) ? best * 0.99 : null;
}

/** Training seconds (summed epoch seconds) until validation accuracy first reached `target`; mean over the runs that did. */
export function timeToTarget(trials: ReportTrial[], target: number): TargetRow[] {
  const runs = ok(trials);
  return groups(runs).map(({ batch, batchSize, trials: mine }) => {
    const hits = mine.flatMap((t) => {
      let secs = 0;
      for (const h of t.history) {
        secs += finite(h.seconds) ? h.seconds : 0;
        if (h.valAccuracy >= target) return [{ seconds: secs, epochs: h.epoch }];
      }
      return [];
    });
    return {
      batch, batchSize,
      seconds: hits.length ? mean(hits.map((h) => h.seconds)) : null,
      epochs: hits.length ? mean(hits.map((h) => h.epochs)) : null,
      reached: hits.length,
      runs: mine.length,
    };
  });
}

function bSimple(v: NoiseValue | undefined): number | null {
  if (finite(v)) return v;
  if (v && typeof v === 'object' && finite(v.bSimple)) return v.bSimple;
  return null;
}

export function noiseRows(trials: ReportTrial[]): NoiseRow[] {
  return ok(trials).flatMap((t) => (['initial', 'final'] as const).flatMap((when) => {
    const b = bSimple(t.gradientNoiseScale?.[when]);
    return b !== null && b > 0 ? [{ batchSize: t.batchSize, when, bSimple: b }] : [];
  }));
}

/**
 * B_simple after each epoch where the records keep every measurement (epoch 0 = the initial
 * weights): one line per batch size, the mean over its repeats. Empty when no record has points.
 */
export function noiseEpochRows(trials: ReportTrial[]): NoiseEpochRow[] {
  const runs = ok(trials);
  return groups(runs).flatMap(({ batch, batchSize, trials: mine }) => {
    const pts = mine.flatMap((t) => t.gradientNoiseScale?.points ?? []).filter((p) => finite(p.epoch) && finite(p.bSimple) && p.bSimple > 0);
    const epochs = [...new Set(pts.map((p) => p.epoch))].sort((x, y) => x - y);
    return epochs.map((e) => {
      const at = pts.filter((p) => p.epoch === e).map((p) => p.bSimple!);
      return { batch, batchSize, epoch: e, bSimple: mean(at), runs: at.length };
    });
  });
}
