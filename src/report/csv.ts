/**
 * CSV for spreadsheets: one row per trial, or one row per epoch of every trial. Pure.
 * RFC 4180 quoting, `\n` line ends, a header row, empty cells for absent values, numbers
 * at full precision (bytes as bytes, accuracy as a fraction) so a sheet can compute with them.
 */
import type { ReportTrial, NoiseValue } from './html/types.js';

type Cell = string | number | boolean | null | undefined;

/** Quotes a cell when it must; a text cell that a spreadsheet would run as a formula gets a leading '. */
export function csvCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

const noise = (v: NoiseValue | undefined): number | null => (typeof v === 'number' ? v : v && typeof v === 'object' && typeof v.bSimple === 'number' ? v.bSimple : null);
const backendName = (b: ReportTrial['backend']) => (typeof b === 'string' ? b : b?.name ?? null);
const deviceName = (t: ReportTrial) => t.device ?? (b => (b && typeof b === 'object' ? b.device ?? null : null))(t.backend);

export const trialColumns = [
  'batchSize', 'accumulate', 'effectiveBatchSize', 'seed', 'learningRate', 'outcome', 'reason',
  'peakMemoryBytes', 'memoryBaselineBytes', 'processPeakRssBytes', 'deviceMemoryBytes',
  'samplesPerSecond', 'epochs', 'meanEpochSeconds', 'valAccuracy', 'valLoss', 'bestValAccuracy', 'bestEpoch',
  'steps', 'seconds', 'overheadSeconds', 'gradientNoiseScaleInitial', 'gradientNoiseScaleFinal',
  'timestamp', 'bstuneVersion', 'backend', 'device', 'configHash',
];

export function trialsCsv(trials: ReportTrial[]): string {
  return toCsv(trialColumns, trials.map((t) => {
    const best = t.history.reduce<ReportTrial['history'][number] | null>((b, h) => (b === null || h.valAccuracy > b.valAccuracy ? h : b), null);
    const secs = t.epochSeconds ?? [];
    return [
      t.batchSize, t.accumulate ?? 1, t.effectiveBatchSize ?? t.batchSize * (t.accumulate ?? 1), t.seed, t.learningRate, t.outcome, t.reason,
      t.peakMemoryBytes, t.memoryBaselineBytes, t.processPeakRssBytes, t.deviceMemoryBytes,
      t.samplesPerSecond, t.history.length, secs.length ? secs.reduce((a, b) => a + b, 0) / secs.length : null, t.valAccuracy, t.valLoss, best?.valAccuracy, best?.epoch,
      t.steps, t.seconds, t.overheadSeconds, noise(t.gradientNoiseScale?.initial), noise(t.gradientNoiseScale?.final),
      t.timestamp, t.bstuneVersion, backendName(t.backend), deviceName(t), t.configHash,
    ];
  }));
}

export const epochColumns = [
  'batchSize', 'accumulate', 'seed', 'outcome', 'epoch', 'trainLoss', 'trainAccuracy', 'trainEvalLoss', 'trainEvalAccuracy',
  'valLoss', 'valAccuracy', 'learningRate', 'seconds', 'steps', 'configHash',
];

/** Every epoch of every trial, failed runs included (their outcome column says so). */
export function epochsCsv(trials: ReportTrial[]): string {
  return toCsv(epochColumns, trials.flatMap((t) => t.history.map((h) => [
    t.batchSize, t.accumulate ?? 1, t.seed, t.outcome, h.epoch, h.trainLoss, h.trainAccuracy, h.trainEvalLoss, h.trainEvalAccuracy,
    h.valLoss, h.valAccuracy, h.learningRate, h.seconds, h.steps, t.configHash,
  ])));
}
