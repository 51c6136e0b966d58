/** CSV for spreadsheets: quoting, absent values, one row per trial and per epoch. */
import { describe, expect, it } from 'vitest';
import { csvCell, epochColumns, epochsCsv, toCsv, trialColumns, trialsCsv } from '../src/report/csv.js';
import type { ReportTrial } from '../src/report/html/types.js';

/** A small RFC 4180 reader, to check that what we write reads back cell for cell. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += c;
  }
  return rows;
}

const t = (over: Partial<ReportTrial> = {}): ReportTrial => ({
  batchSize: 32, learningRate: 0.001, seed: 42, outcome: 'ok', reason: null, peakMemoryBytes: 1234567, memoryBaselineBytes: 1000, memorySource: 'x',
  processPeakRssBytes: 5e7, deviceMemoryBytes: null, samplesPerSecond: 1234.5, epochSeconds: [1, 3], valAccuracy: 0.9, valLoss: 0.3,
  history: [
    { epoch: 1, trainLoss: 1, trainAccuracy: 0.5, trainEvalLoss: 0.9, trainEvalAccuracy: 0.6, valLoss: 0.8, valAccuracy: 0.7, learningRate: 0.0005, seconds: 1, steps: 10 },
    { epoch: 2, trainLoss: 0.5, trainAccuracy: 0.8, trainEvalLoss: null, trainEvalAccuracy: null, valLoss: 0.3, valAccuracy: 0.9, learningRate: 0.001, seconds: 3, steps: 10 },
  ],
  steps: 20, seconds: 5, overheadSeconds: 1, configHash: 'abc',
  ...over,
});

describe('csv', () => {
  it('quotes commas, quotes and newlines; defuses formulas; leaves absent and non-finite cells empty', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(NaN)).toBe('');
    expect(toCsv(['a', 'b'], [[1, 'x,y']])).toBe('a,b\n1,"x,y"\n');
  });

  it('one row per trial, every column in the header, a reason with commas read back intact', () => {
    const rows = parseCsv(trialsCsv([t(), t({ batchSize: 64, outcome: 'oom', reason: 'exceeds memory limit (peak 88 MiB > 64 MiB), "again"', samplesPerSecond: null, gradientNoiseScale: { initial: 12, final: { bSimple: 300 } }, accumulate: 4 })]));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual(trialColumns);
    const col = (r: string[], name: string) => r[trialColumns.indexOf(name)];
    expect(col(rows[1]!, 'meanEpochSeconds')).toBe('2');
    expect(col(rows[1]!, 'bestEpoch')).toBe('2');
    expect(col(rows[1]!, 'peakMemoryBytes')).toBe('1234567');
    expect(col(rows[2]!, 'reason')).toBe('exceeds memory limit (peak 88 MiB > 64 MiB), "again"');
    expect(col(rows[2]!, 'samplesPerSecond')).toBe('');
    expect(col(rows[2]!, 'effectiveBatchSize')).toBe('256');
    expect(col(rows[2]!, 'gradientNoiseScaleInitial')).toBe('12');
    expect(col(rows[2]!, 'gradientNoiseScaleFinal')).toBe('300');
    expect(rows.every((r) => r.length === trialColumns.length)).toBe(true);
    const dev = parseCsv(trialsCsv([t({ backend: 'wasm', device: '2-core CPU, 1 thread' })]))[1]!;
    expect([col(dev, 'backend'), col(dev, 'device')]).toEqual(['wasm', '2-core CPU, 1 thread']);
  });

  it('one row per epoch of every trial', () => {
    const rows = parseCsv(epochsCsv([t(), t({ batchSize: 16, history: [] })]));
    expect(rows[0]).toEqual(epochColumns);
    expect(rows.slice(1).map((r) => [r[0], r[epochColumns.indexOf('epoch')], r[epochColumns.indexOf('valAccuracy')], r[epochColumns.indexOf('trainEvalLoss')]])).toEqual([['32', '1', '0.7', '0.9'], ['32', '2', '0.9', '']]);
  });
});
