/**
 * Which charts a report has and why others are absent. Pure: a ReportInput in, specs and
 * sentences out. A chart is drawn only from data that exists; what is missing is said.
 */
import type { TopLevelSpec } from 'vega-lite';
import { defaultTarget, epochRows, fitLine, fitMemory, memoryPoints, noiseEpochRows, recordedModel, noiseRows, ok, predictedMax, throughput, timeToTarget } from './data.js';
import { epochSpec, memorySpec, noiseEpochSpec, noiseSpec, targetSpec, throughputSpec } from './specs.js';
import type { MemoryFit, ReportInput } from './types.js';
import { formatBytes } from '../stats.js';

export interface ChartPlan {
  id: 'memory' | 'throughput' | 'accuracy' | 'loss' | 'time-to-target' | 'noise';
  spec: TopLevelSpec;
  /** One or two sentences under the chart: what it shows and how it was measured. */
  caption: string;
}

export interface ChartPlans {
  charts: ChartPlan[];
  /** One sentence per chart or figure that could not be drawn, and why. */
  absent: string[];
  fit: MemoryFit | null;
  target: number | null;
}

const MiB = 1024 * 1024;

export function planCharts(input: ReportInput): ChartPlans {
  const { trials } = input;
  const charts: ChartPlan[] = [];
  const absent: string[] = [];
  const limit = input.memoryLimitBytes ?? null;

  const mem = memoryPoints(trials);
  const fit = input.memoryFit ?? recordedModel(trials) ?? fitMemory(trials);
  if (mem.length > 0) {
    const line = fit ? fitLine(fit, mem.map((p) => p.batchSize), limit) : [];
    const label = fit ? `M(b) = ${formatBytes(Math.max(0, fit.baseBytes))} + b × ${formatBytes(fit.bytesPerSample)}` : null;
    const max = fit && limit !== null ? predictedMax(fit, limit) : null;
    const parts = [
      'Peak tensor memory of each run (tf.profile over a training step).',
      fit ? `Dashed: ${label}${fit.r2 !== null ? `, R² = ${fit.r2.toFixed(4)}` : ''} (${fit.source}).` : 'No fitted line: it needs peaks at two or more batch sizes.',
      limit !== null ? `Red: the memory limit, ${formatBytes(limit)}${max !== null ? `; the line predicts batches up to ${max} fit under it` : ''}.` : 'No memory limit was set, so none is marked.',
    ];
    charts.push({ id: 'memory', spec: memorySpec(mem, line, limit !== null ? limit / MiB : null, label), caption: parts.join(' ') });
  } else {
    absent.push('Peak memory: no run measured a peak.');
  }

  const tp = throughput(trials);
  if (tp.rows.length > 0) {
    charts.push({ id: 'throughput', spec: throughputSpec(tp.rows, tp.points), caption: `Samples per second over the steady-state training steps (the first steps, which set up kernels, are excluded).${tp.rows.some((r) => r.runs > 1) ? ' The band is mean ± one standard deviation over repeats.' : ' One run per size: no spread to show (run with --repeats N for bands).'}` });
  } else {
    absent.push('Training speed: no ok run measured samples/s.');
  }

  // recommend and sweep --budget steps|time train rounds (a validation pass after each), not epochs.
  const unit = roundsOf(input) ? 'round' : 'epoch';
  const ep = epochRows(trials);
  if (ep.length > 0) {
    const multi = new Set(ok(trials).map((t) => `${t.batchSize}`)).size < ok(trials).length;
    const note = multi ? ' Each line is the mean over the repeats of that size.' : '';
    const rounds = unit === 'round' ? ' A round is a share of the run\'s budget of steps or seconds, each ended by a validation pass.' : '';
    charts.push({ id: 'accuracy', spec: epochSpec(ep, 'valAccuracy', unit), caption: `Validation accuracy after each ${unit}, one line per batch size.${note}${rounds}` });
    charts.push({ id: 'loss', spec: epochSpec(ep, 'valLoss', unit), caption: `Validation loss after each ${unit}, one line per batch size.${note}` });
  } else {
    absent.push('Validation accuracy and loss per epoch: no ok run has an epoch history.');
  }

  const target = input.targetAccuracy ?? defaultTarget(trials);
  if (target !== null && ep.length > 0) {
    const rows = timeToTarget(trials, target);
    const missed = rows.filter((r) => r.reached < r.runs);
    const how = input.targetAccuracy != null ? 'the configured target' : '99% of the best validation accuracy any run reached';
    const missedText = missed.length ? ` Did not reach it: ${missed.map((r) => `batch ${r.batch} (${r.runs - r.reached} of ${r.runs} runs)`).join(', ')}.` : '';
    if (rows.some((r) => r.seconds !== null)) {
      charts.push({ id: 'time-to-target', spec: targetSpec(rows, target, unit), caption: `Summed ${unit} seconds (training and validation) until validation accuracy first reached ${(target * 100).toFixed(2)}%, ${how}; mean over the runs that reached it.${missedText}` });
    } else {
      absent.push(`Time to target: no run reached ${(target * 100).toFixed(2)}%.`);
    }
  } else if (ep.length > 0) {
    absent.push('Time to target: no target accuracy could be set.');
  } else {
    absent.push('Time to target: needs per-epoch validation accuracy.');
  }

  const noise = noiseRows(trials);
  const noiseEpochs = noiseEpochRows(trials);
  const why = 'B_simple = tr(Σ)/|G|² (McCandlish et al. 2018), measured from gradient norms at two batch sizes during the runs: a batch well below it uses each sample efficiently; a batch well above it needs about as many steps as one at B_simple, so the extra samples buy little.';
  if (noiseEpochs.length > 0) {
    charts.push({ id: 'noise', spec: noiseEpochSpec(noiseEpochs, unit), caption: `${why} One line per batch size (the mean over its repeats).` });
  } else if (noise.length > 0) {
    charts.push({ id: 'noise', spec: noiseSpec(noise), caption: `${why} At the initial weights and after the last epoch.` });
  } else {
    absent.push('Gradient noise scale: no record carries gradientNoiseScale (these runs did not measure it).');
  }
  if (!input.recommendation) absent.push('Recommended batch size and learning rate: not part of these results (bstune recommend --html makes a page with one).');
  return { charts, absent, fit, target };
}

/** Whether the runs trained in rounds of a step or time budget: recommend always; a sweep with budget steps or time (resolved config, or a results file's hashed config). */
function roundsOf(input: ReportInput): boolean {
  if (input.command === 'recommend') return true;
  const c = input.config as { budget?: unknown; sweep?: { budget?: unknown } } | null | undefined;
  const budget = c?.sweep?.budget ?? c?.budget;
  return budget === 'steps' || budget === 'time';
}
