import Table from 'cli-table3';
import type { SizeSummary, Stat } from '../sweep/summarize.js';
import { belowScaled, dash, fmtBytes, fmtNoise, fmtPct, fmtRate, fmtReachedLr, paint, reachedLrFootnote } from './format.js';

/**
 * mean ± sd over runs. No ± for a single run, nor for a spread that shows as zero (peak
 * memory is the same for every seed). `spread` formats the sd: accuracies are levels in %,
 * their sd a difference in points (pt), like the gap.
 */
export const pm = (s: Stat, f: (n: number) => string, repeats: boolean, spread: (n: number) => string = f): string => {
  if (s.mean === null) return dash;
  if (!repeats || s.n < 2 || s.std === null) return f(s.mean);
  const sd = spread(s.std);
  return /[1-9]/.test(sd) ? `${f(s.mean)} ± ${sd}` : f(s.mean);
};
const pt = (n: number) => `${(n * 100).toFixed(2)} pt`;

/** Two means within one sd of each other (the larger sd) are not told apart; single runs have no sd. */
export function withinNoise(a: Stat, b: Stat): boolean {
  if (a.mean === null || b.mean === null || a.n < 2 || b.n < 2 || a.std === null || b.std === null) return false;
  return Math.abs(a.mean - b.mean) <= Math.max(a.std, b.std);
}

/** "batch 64 (89.30%)", plus the sizes within noise of it (`close`: whether there are any). */
function highest(rows: SizeSummary[], key: 'valAccuracy' | 'samplesPerSecond', f: (n: number) => string): { text: string; close: boolean } {
  const best = rows.reduce((a, b) => ((b[key].mean ?? -Infinity) > (a[key].mean ?? -Infinity) ? b : a));
  const close = rows.filter((r) => r !== best && withinNoise(best[key], r[key]));
  const noise = close.length > 0 ? `, within noise of ${close.map((r) => `batch ${r.batchSize} (${f(r[key].mean!)})`).join(', ')}` : '';
  return { text: `batch ${best.batchSize} (${f(best[key].mean!)})${noise}`, close: close.length > 0 };
}

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
      pm(row.valAccuracy, (n) => fmtPct(n), r, pt),
      pm(row.valLoss, (n) => n.toFixed(4), r),
      row.bestValAccuracy.mean === null ? dash : `${pm(row.bestValAccuracy, (n) => fmtPct(n), r, pt)} (${pm(row.bestEpoch, (n) => n.toFixed(r ? 1 : 0), false)})`,
      pm(row.generalizationGap, pt, r),
      row.epochsToTarget.n === 0 ? dash : `${pm(row.epochsToTarget, (n) => n.toFixed(r ? 1 : 0), r)}${row.reachedTarget < row.runs - row.failed.length - row.diverged.length ? ` (${row.reachedTarget}/${row.runs - row.failed.length - row.diverged.length} runs)` : ''}`,
      row.noiseInitial.n === 0 && row.noiseFinal.n === 0 ? dash : `${pm(row.noiseInitial, (n) => fmtNoise(n), r)} → ${pm(row.noiseFinal, (n) => fmtNoise(n), r)}`,
    ]);
  }
  const ok = rows.filter((x) => x.valAccuracy.mean !== null);
  const footer: string[] = [];
  if (ok.length > 0) {
    const acc = highest(ok, 'valAccuracy', fmtPct);
    const speed = highest(ok, 'samplesPerSecond', (n) => `${fmtRate(n)} samples/s`);
    footer.push(`highest final val acc: ${acc.text}`, `highest throughput: ${speed.text}`);
    // The legend explains "within noise" only where a line says it; else it would read as a claim.
    footer.push(!r
      ? '     (one run per size: differences may be noise; --repeats 3 measures it)'
      : acc.close || speed.close
        ? '     (within noise: means less than one standard deviation apart, over the repeats)'
        : '     (no other size comes within one standard deviation of these, over the repeats)');
  }
  if (opts.target !== null) {
    footer.push(`epochs to ${fmtPct(opts.target)} = first epoch whose val acc reached it (${opts.targetConfigured ? 'sweep.targetAccuracy' : '99% of the best val acc any run reached'}; – = never)`);
    if (r) footer.push('     with repeats: the mean over the runs that reached it, (k/n runs) when only k of the n did');
  }
  if (r) footer.push('best val acc (epoch): with repeats the mean of each run\'s best and of the epoch it came in');
  footer.push(`gap: train minus validation accuracy after the last epoch, in percentage points (pt)${r ? '; ± is the sd over runs (pt for accuracies)' : ''};`);
  footer.push('     train accuracy from the same kind of pass over a training subset as large as the validation set');
  footer.push('samples/s: steady-state training steps after warm-up; s/epoch: one epoch of training steps at that rate (no validation, no warm-up)');
  footer.push('peak memory: peak tensor bytes of a training step');
  if (rows.some((row) => row.diverged.length > 0)) {
    footer.push('diverged: NaN/Inf loss, loss above its start, or stuck within 5 pt of chance after a loss spike; memory and speed shown,');
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
