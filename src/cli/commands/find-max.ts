import { runTrial } from '../../trial/run.js';
import { findMaxBatch } from '../../search/find-max.js';
import { makeDocument } from '../../report/document.js';
import { renderFindMax } from '../../report/find-max-table.js';
import { fmtBytes, fmtRate } from '../../report/format.js';
import { ExitCode } from '../../errors.js';
import { scaledLearningRate } from '../../train/schedule.js';
import { fitMemory, reportModel } from '../../memory/model.js';
import { deviceForPrediction } from '../../memory/device.js';
import { prepare } from './prepare.js';
import { writeRunReport } from '../../report/html/from-run.js';
import type { TrialResult } from '../../trial/protocol.js';
import type { Context, CommandOutput } from '../context.js';

export async function run(ctx: Context): Promise<CommandOutput> {
  const started = performance.now();
  const p = await prepare(ctx);
  const { config } = p;
  const s = config.search;
  const trials: TrialResult[] = [];
  const search = await findMaxBatch(
    { start: s.start, min: s.min, refine: s.refine, refineTrials: s.refineTrials, margin: s.margin, maxBatch: p.trainCount, memoryBudget: config.device.memoryLimit },
    async (batchSize) => {
      ctx.progress.start(`trying ${batchSize}…`);
      const t = await runTrial({ config, backend: p.backend.name, batchSize, mode: 'probe', seed: config.training.seed }, {
        signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: true,
        onStep: (m) => ctx.progress.update(`trying ${batchSize}… step ${m.step}${m.step <= s.stepsPerTrial ? `/${s.stepsPerTrial}` : ' (measuring samples/s)'}`),
      });
      trials.push(t);
      const detail = t.outcome === 'ok'
        ? `fits (peak ${fmtBytes(t.peakMemoryBytes)}, ${fmtRate(t.samplesPerSecond)} samples/s)`
        : `${t.outcome}: ${t.reason ?? 'no reason'}`;
      ctx.progress.done(`trying ${batchSize}… ${detail}`, t.outcome === 'ok' ? true : t.outcome === 'oom' ? 'warn' : false);
      return { outcome: t.outcome, reason: t.reason, peakMemoryBytes: t.peakMemoryBytes };
    },
  );
  const limit = config.device.memoryLimit;
  const device = deviceForPrediction({ deviceMemory: ctx.args.deviceMemory ?? null, memoryLimit: limit, backend: p.backend });
  const model = reportModel(fitMemory(search.attempts.flatMap((a) =>
    a.peakMemoryBytes !== null && (a.outcome === 'ok' || a.outcome === 'oom') ? [{ batchSize: a.batchSize, bytes: a.peakMemoryBytes }] : [])), device);
  const wall = (performance.now() - started) / 1000;
  const overhead = trials.reduce((a, t) => a + t.overheadSeconds, 0);
  const best = search.largestFit !== null ? trials.find((t) => t.batchSize === search.largestFit && t.outcome === 'ok') ?? null : null;
  const summary = {
    maxBatchSize: search.maxBatchSize,
    largestFit: search.largestFit,
    smallestOom: search.smallestOom,
    wholeTrainingSet: trials[0]?.batchSize === p.trainCount,
    learningRate: search.maxBatchSize !== null ? scaledLearningRate(config.optimizer, search.maxBatchSize) : null,
    memoryLimitBytes: limit,
    headroomBytes: best && limit !== null && best.peakMemoryBytes !== null ? limit - best.peakMemoryBytes : null,
    memoryMeaning: limit !== null ? `peak tensor memory against --memory-limit ${fmtBytes(limit)}` : p.backend.memory,
    notes: search.notes,
    stoppedBy: search.stoppedBy,
    /** M(b) = fixedBytes + b·bytesPerSample over the trials with a measured peak (null with fewer than two sizes). */
    memoryModel: model && {
      ...model,
      predictedVsMeasured: search.attempts.map((a) => ({ batchSize: a.batchSize, predictedBytes: a.predictedBytes, measuredBytes: a.peakMemoryBytes })),
    },
    /** When the search jumped on the model: what it predicted, what it tried first, and what was measured. */
    memoryJump: search.jump ? { ...search.jump, measuredMaxBatch: search.largestFit } : null,
    seconds: wall,
    overheadSeconds: overhead,
  };
  const document = makeDocument('find-max', { config, configPath: p.configPath, backend: p.backend, data: p.data, trials }, summary);
  let human = renderFindMax(trials, summary, p, ctx.stdout);
  if (ctx.args.html !== undefined) {
    // Written even when the search stopped on an error: the page shows that trial and why.
    const htmlPath = await writeRunReport(ctx.cwd, ctx.args.html, { command: 'find-max', trials, config, backend: p.backend, memoryModel: model });
    document.htmlReport = htmlPath;
    human += `report: ${htmlPath}\n`;
  }
  if (search.stoppedBy) {
    // Never step down past a bug: the search stops and says why (exit 1). The trials that
    // ran are still the answer's evidence, so the table or the JSON document prints too.
    const error = `trial at batch ${search.stoppedBy.batchSize} failed with ${search.stoppedBy.outcome}: ${search.stoppedBy.reason}; the search stopped (not an out-of-memory, so smaller sizes were not tried)${search.stoppedBy.outcome === 'timeout' ? '; raise --trial-timeout if a trial needs longer' : ''}`;
    return { document, human, exitCode: ExitCode.failure, error };
  }
  return { document, human, exitCode: search.maxBatchSize === null ? ExitCode.nothingFits : ExitCode.ok };
}
