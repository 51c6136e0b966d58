import Table from 'cli-table3';
import type { SizeSummary, Stat } from '../sweep/summarize.js';
import { belowScaled, dash, fmtBytes, fmtNoise, fmtPct, fmtRate, fmtReachedLr, paint, reachedLrFootnote } from './format.js';

// A spread of exactly zero (peak memory is the same for every seed) is left out.
const pm = (s: Stat, f: (n: number) => string, repeats: boolean): string =>
  s.mean === null ? dash : repeats && s.n > 1 && (s.std ?? 0) > 0 ? `${f(s.mean)} ± ${f(s.std ?? 0)}` : f(s.mean);

const lr = (row: SizeSummary): string => (row.scaledLearningRate === null ? dash : fmtReachedLr(row.learningRate, row.scaledLearningRate));

export function renderSweep(rows: SizeSummary[], opts: { repeats: number; accumulate?: number; target: number | null; targetConfigured?: boolean; stream: NodeJS.WriteStream }): string {
  const r = opts.repeats > 1;
  const table = new Table({
    head: [(opts.accumulate ?? 1) > 1 ? 'micro × accum' : 'batch', 'lr', 'peak memory', 'samples/s', 's/epoch', 'val acc', 'val loss', 'best val acc (epoch)', 'gap', `epochs to ${opts.target === null ? 'target' : fmtPct(opts.target)}`, 'noise scale'],
    style: { head: [], border: [] },
  });
  for (const row of rows) {
    if (row.failed.length === row.runs && row.runs > 0) {
      const f = row.failed[0]!;
      table.push([row.batchSize, lr(row), { colSpan: 9, content: paint(opts.stream, 'red', `${f.outcome}: ${f.reason ?? 'no reason'}`) }]);
      continue;
    }
    const notes = [
      ...(row.failed.length > 0 ? [`${row.failed.length} of ${row.runs} failed`] : []),
      ...(row.diverged.length > 0 && row.diverged.length < row.runs ? [`${row.diverged.length} of ${row.runs} diverged`] : []),
    ];
    const failedNote = notes.length > 0 ? ` (${notes.join(', ')})` : '';
    if (row.diverged.length > 0 && row.diverged.length + row.failed.length === row.runs) {
      // Every run that trained diverged: its memory and speed stand, its accuracy is no result.
      table.push([
        `${row.batchSize}${failedNote}`, lr(row),
        pm(row.peakMemoryBytes, (n) => fmtBytes(n), r), pm(row.samplesPerSecond, (n) => fmtRate(n), r), pm(row.epochSeconds, (n) => n.toFixed(2), r),
        { colSpan: 6, content: paint(opts.stream, 'yellow', `diverged: ${row.diverged[0]!.reason ?? 'no reason'}`) },
      ]);
      continue;
    }
    table.push([
      `${(opts.accumulate ?? 1) > 1 ? `${row.batchSize} × ${opts.accumulate} = ${row.batchSize * opts.accumulate!}` : row.batchSize}${failedNote}`,
      lr(row),
      pm(row.peakMemoryBytes, (n) => fmtBytes(n), r),
      pm(row.samplesPerSecond, (n) => fmtRate(n), r),
      pm(row.epochSeconds, (n) => n.toFixed(2), r),
      pm(row.valAccuracy, (n) => fmtPct(n), r),
      pm(row.valLoss, (n) => n.toFixed(4), r),
      row.bestValAccuracy.mean === null ? dash : `${pm(row.bestValAccuracy, (n) => fmtPct(n), r)} (${pm(row.bestEpoch, (n) => n.toFixed(r ? 1 : 0), false)})`,
      pm(row.generalizationGap, (n) => `${(n * 100).toFixed(2)} pt`, r),
      row.epochsToTarget.n === 0 ? dash : `${pm(row.epochsToTarget, (n) => n.toFixed(r ? 1 : 0), r)}${row.reachedTarget < row.runs - row.failed.length - row.diverged.length ? ` (${row.reachedTarget}/${row.runs - row.failed.length - row.diverged.length} runs)` : ''}`,
      row.noiseInitial.n === 0 && row.noiseFinal.n === 0 ? dash : `${pm(row.noiseInitial, (n) => fmtNoise(n), r)} → ${pm(row.noiseFinal, (n) => fmtNoise(n), r)}`,
    ]);
  }
  const ok = rows.filter((x) => x.valAccuracy.mean !== null);
  const footer: string[] = [];
  if (ok.length > 0) {
    const bestAcc = ok.reduce((a, b) => (b.valAccuracy.mean! > a.valAccuracy.mean! ? b : a));
    const bestSpeed = ok.reduce((a, b) => ((b.samplesPerSecond.mean ?? 0) > (a.samplesPerSecond.mean ?? 0) ? b : a));
    footer.push(`highest final val acc: batch ${bestAcc.batchSize} (${fmtPct(bestAcc.valAccuracy.mean)}); highest throughput: batch ${bestSpeed.batchSize} (${fmtRate(bestSpeed.samplesPerSecond.mean)} samples/s)`);
  }
  if (opts.target !== null) {
    footer.push(`epochs to ${fmtPct(opts.target)} = first epoch whose val acc reached it (${opts.targetConfigured ? 'sweep.targetAccuracy' : '99% of the best val acc any run reached'}; – = never)`);
  }
  footer.push('gap: train minus validation accuracy after the last epoch, in percentage points (pt);');
  footer.push('     train accuracy from the same kind of pass over a training subset as large as the validation set');
  footer.push('samples/s: steady-state training steps after warm-up; s/epoch: one epoch of training steps at that rate (no validation, no warm-up)');
  footer.push('peak memory: peak tensor bytes of a training step');
  if (rows.some((row) => row.diverged.length > 0)) {
    footer.push('diverged: NaN/Inf loss, loss above its start, or val accuracy within 5 pt of chance; its memory and speed are shown,');
    footer.push('     its accuracy is left out of the highest lines and the target');
  }
  if ((opts.accumulate ?? 1) > 1) {
    footer.push(`micro × accum: each optimizer step averages the gradients of ${opts.accumulate} micro-batches (training.accumulate); the learning rate follows`);
    footer.push('     the effective batch; peak memory is one micro-batch plus the gradient accumulators (the size of the weights)');
  }
  footer.push('noise scale: B_simple = tr(Σ)/|G|² in samples at the initial → final weights (McCandlish et al. 2018); batches');
  footer.push('     much larger than it buy little reduction in steps');
  if (rows.some((row) => row.scaledLearningRate !== null && belowScaled(row.learningRate, row.scaledLearningRate))) footer.push(reachedLrFootnote);
  return `${table.toString()}\n${footer.join('\n')}\n`;
}
