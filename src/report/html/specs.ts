/**
 * Vega-Lite specs for the report's charts. Pure: rows in, a spec out (data inlined), so each
 * builder is unit-tested without rendering. Colours of text, axes and grid are left to the
 * page's CSS (light, dark and print); the series colours read on either background.
 */
import type { TopLevelSpec } from 'vega-lite';
import { formatBytes } from '../stats.js';
import type { EpochRow, MemoryPoint, NoiseEpochRow, NoiseRow, TargetRow, ThroughputPoint, ThroughputRow } from './data.js';

const schema = 'https://vega.github.io/schema/vega-lite/v6.json';
const W = 440;
const H = 240;

const base = {
  $schema: schema,
  width: W,
  height: H,
  background: 'transparent',
  config: {
    font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    view: { stroke: null },
    axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, grid: true },
    legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const },
    range: { category: { scheme: 'tableau10' } },
  },
};

/** Batch sizes as a log2 axis whose ticks are exactly the sizes measured. */
function log2Batch(values: number[], title = 'batch size (log₂)') {
  const ticks = [...new Set(values)].sort((a, b) => a - b);
  // A log scale over one value has no extent: pad it to a factor of two either side.
  const domain = ticks.length === 1 ? [ticks[0]! / 2, ticks[0]! * 2] : [ticks[0]!, ticks[ticks.length - 1]!];
  return { field: 'batchSize', type: 'quantitative' as const, title, scale: { type: 'log' as const, base: 2, domain, nice: false }, axis: { values: ticks, format: 'd' } };
}

/** Batch size as a colour legend ordered by size, for one line per size. */
function batchColor(rows: { batch: string }[]) {
  // Rows come in group order (effective batch, then micro-batch).
  const order = [...new Set(rows.map((r) => r.batch))];
  return { field: 'batch', type: 'nominal' as const, title: 'batch', sort: order };
}

/** The unit the memory axis reads best in, from the largest value it shows. */
export function memoryUnit(maxMiB: number): { name: 'KiB' | 'MiB' | 'GiB'; perMiB: number } {
  if (maxMiB >= 4096) return { name: 'GiB', perMiB: 1 / 1024 };
  if (maxMiB < 1) return { name: 'KiB', perMiB: 1024 };
  return { name: 'MiB', perMiB: 1 };
}

export function memorySpec(pointsMiB: MemoryPoint[], lineMiB: { batchSize: number; peakMiB: number }[], limitMiB: number | null, fitLabel: string | null): TopLevelSpec {
  const unit = memoryUnit(Math.max(...pointsMiB.map((p) => p.peakMiB), ...lineMiB.map((p) => p.peakMiB), limitMiB ?? 0));
  const points = pointsMiB.map((p) => ({ ...p, peak: p.peakMiB * unit.perMiB }));
  const line = lineMiB.map((p) => ({ ...p, peak: p.peakMiB * unit.perMiB }));
  const limit = limitMiB !== null ? limitMiB * unit.perMiB : null;
  const layers: unknown[] = [
    {
      data: { values: points },
      mark: { type: 'point', filled: true, size: 70 },
      encoding: {
        x: { field: 'batchSize', type: 'quantitative', title: 'batch size', scale: { zero: true } },
        y: { field: 'peak', type: 'quantitative', title: `peak memory (${unit.name})`, scale: { zero: true } },
        color: { field: 'outcome', type: 'nominal', title: 'outcome', scale: { domain: ['ok', 'oom', 'diverged', 'error', 'timeout'], range: ['#4c9be8', '#e45756', '#f2a93b', '#b279a2', '#9d755d'] } },
        shape: { field: 'outcome', type: 'nominal', legend: null },
      },
    },
  ];
  if (line.length === 2) {
    layers.push({
      data: { values: line.map((p) => ({ ...p, series: fitLabel ?? 'fitted line' })) },
      mark: { type: 'line', strokeDash: [6, 3], strokeWidth: 2, color: '#54a24b' },
      encoding: { x: { field: 'batchSize', type: 'quantitative' }, y: { field: 'peak', type: 'quantitative' } },
    });
  }
  if (limit !== null && limitMiB !== null) {
    layers.push(
      { data: { values: [{ limit }] }, mark: { type: 'rule', color: '#e45756', strokeWidth: 2 }, encoding: { y: { field: 'limit', type: 'quantitative' } } },
      {
        data: { values: [{ limit, label: `memory limit ${fmtMiB(limitMiB)}` }] },
        mark: { type: 'text', align: 'left', dx: 4, dy: -7, color: '#e45756', x: 0 },
        encoding: { y: { field: 'limit', type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  return { ...base, title: 'Peak memory vs batch size', layer: layers } as TopLevelSpec;
}

export function throughputSpec(rows: ThroughputRow[], points: ThroughputPoint[]): TopLevelSpec {
  const x = log2Batch(rows.map((r) => r.batchSize));
  const y = { type: 'quantitative' as const, title: 'samples/s', scale: { zero: true } };
  const layers: unknown[] = [];
  if (rows.some((r) => r.runs > 1)) {
    layers.push({ data: { values: rows }, mark: { type: 'errorband', opacity: 0.25, color: '#4c9be8' }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } });
  }
  layers.push(
    { data: { values: rows }, mark: { type: 'line', point: { filled: true, size: 60 }, color: '#4c9be8', strokeWidth: 2 }, encoding: { x, y: { ...y, field: 'mean' } } },
    { data: { values: points }, mark: { type: 'point', opacity: 0.6, size: 30, color: '#888' }, encoding: { x, y: { ...y, field: 'samplesPerSecond' } } },
  );
  const sub = rows.some((r) => r.runs > 1) ? 'mean ± 1 std over repeats; grey points are single runs' : 'one run per size';
  return { ...base, title: { text: 'Training speed vs batch size', subtitle: sub }, layer: layers } as TopLevelSpec;
}

/** `unit`: 'round' where the runs trained a budget of steps or seconds in rounds (recommend, sweep --budget steps|time), not epochs. */
export function epochSpec(rows: EpochRow[], field: 'valAccuracy' | 'valLoss', unit: 'epoch' | 'round' = 'epoch'): TopLevelSpec {
  const values = rows;
  const acc = field === 'valAccuracy';
  const epochs = [...new Set(rows.map((r) => r.epoch))].sort((a, b) => a - b);
  // Whole percents over a few points of range label neighbouring ticks alike (18%, 19%, 19%, 20%):
  // as many decimals as the range needs.
  const accs = rows.map((r) => r.valAccuracy).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const span = accs.length > 0 ? Math.max(...accs) - Math.min(...accs) : 1;
  const pct = span >= 0.1 ? '.0%' : span >= 0.01 ? '.1%' : '.2%';
  return {
    ...base,
    title: acc ? `Validation accuracy per ${unit}` : `Validation loss per ${unit}`,
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 50 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: unit, axis: { values: epochs, format: 'd' }, scale: { domain: epochs.length === 1 ? [epochs[0]! - 1, epochs[0]! + 1] : [epochs[0]!, epochs[epochs.length - 1]!], nice: false } },
      y: { field, type: 'quantitative', title: acc ? 'validation accuracy' : 'validation loss', scale: { zero: false }, axis: acc ? { format: pct } : {} },
      color: batchColor(rows),
    },
  } as TopLevelSpec;
}

export function targetSpec(rows: TargetRow[], target: number, unit: 'epoch' | 'round' = 'epoch'): TopLevelSpec {
  const values = rows.filter((r) => r.seconds !== null).map((r) => ({ ...r, label: `${r.seconds!.toFixed(2)} s, ${unit} ${fmtEpochs(r.epochs!)}` }));
  const order = rows.map((r) => r.batch);
  return {
    ...base,
    height: { step: 30 },
    // The seconds are the epochs' wall time (history[].seconds): validation passes included, as the caption says.
    title: { text: 'Time to target accuracy', subtitle: `${unit} seconds (with validation) until val acc ≥ ${(target * 100).toFixed(2)}%` },
    data: { values },
    encoding: {
      y: { field: 'batch', type: 'nominal', sort: order, title: 'batch size' },
      x: { field: 'seconds', type: 'quantitative', title: 'seconds (with validation)', scale: { zero: true } },
    },
    layer: [
      { mark: { type: 'bar', color: '#4c9be8', height: { band: 0.6 } } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { text: { field: 'label' } } },
    ],
  } as TopLevelSpec;
}

export function noiseSpec(rows: NoiseRow[]): TopLevelSpec {
  return {
    ...base,
    title: { text: 'Gradient noise scale', subtitle: 'at the start and end of training' },
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 80 },
    encoding: {
      x: log2Batch(rows.map((r) => r.batchSize), 'training batch size (log₂)'),
      y: { field: 'bSimple', type: 'quantitative', title: 'B_simple (samples)', scale: { type: 'log', base: 2 } },
      color: { field: 'when', type: 'nominal', title: 'measured', sort: ['initial', 'final'] },
      shape: { field: 'when', type: 'nominal', legend: null },
    },
  } as TopLevelSpec;
}

/** B_simple per epoch (0 = initial weights), one line per batch size, log₂ y. */
export function noiseEpochSpec(rows: NoiseEpochRow[], unit: 'epoch' | 'round' = 'epoch'): TopLevelSpec {
  const values = rows;
  const epochs = [...new Set(rows.map((r) => r.epoch))].sort((a, b) => a - b);
  return {
    ...base,
    title: { text: `Gradient noise scale per ${unit}`, subtitle: `${unit} 0: the initial weights` },
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 50 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: unit, axis: { values: epochs, format: 'd' }, scale: { domain: epochs.length === 1 ? [epochs[0]! - 1, epochs[0]! + 1] : [epochs[0]!, epochs[epochs.length - 1]!], nice: false } },
      y: { field: 'bSimple', type: 'quantitative', title: 'B_simple (samples, log₂)', scale: { type: 'log', base: 2 } },
      color: batchColor(rows),
    },
  } as TopLevelSpec;
}

const fmtMiB = (m: number) => formatBytes(m * 1024 * 1024);
const fmtEpochs = (e: number) => (Number.isInteger(e) ? String(e) : e.toFixed(1));
