import { runTrial } from '../../trial/run.js';
import { findMaxBatch } from '../../search/find-max.js';
import { makeDocument } from '../../report/document.js';
import { renderFindMax } from '../../report/find-max-table.js';
import { fmtBytes, fmtLr, fmtRate } from '../../report/format.js';
import { BstuneError, ExitCode, isBstuneError } from '../../errors.js';
import { checkResumeFile, openResults } from '../../results/session.js';
import { documentTrial, type StoredTrial } from '../../results/record.js';
import { inputFileHashes } from '../../sweep/input-files.js';
import { resumeCommand } from '../resume-command.js';
import { scaledLearningRate } from '../../train/schedule.js';
import { fitMemory, reportModel } from '../../memory/model.js';
import { deviceForPrediction } from '../../memory/device.js';
import { planAccumulation } from '../../search/target.js';
import { prepare } from './prepare.js';
import { writeRunReport } from '../../report/html/from-run.js';
import { checkHtmlFlag } from '../../report/html/write.js';
import type { TrialResult } from '../../trial/protocol.js';
import type { Context, CommandOutput } from '../context.js';

export async function run(ctx: Context): Promise<CommandOutput> {
  const started = performance.now();
  const where = { cwd: ctx.cwd, command: 'find-max' as const, ...(ctx.args.out !== undefined ? { out: ctx.args.out } : {}), ...(ctx.args.resume !== undefined ? { resume: ctx.args.resume } : {}) };
  checkResumeFile(where);
  checkHtmlFlag(ctx.cwd, ctx.args.html);
  const p = await prepare(ctx);
  const { config } = p;
  const s = config.search;
  const files = await inputFileHashes(config);
  const results = openResults({ ...where, config, files, backend: p.backend, warn: (line) => ctx.stderr.write(`bstune: warning: ${line}\n`) });
  // A resume reuses what a trial measured (fits or out of memory) and runs errors and timeouts again.
  const reusable = (b: number) => {
    const last = [...results.stored].reverse().find((t) => t.batchSize === b);
    return last && (last.outcome === 'ok' || last.outcome === 'oom' || last.outcome === 'diverged') ? last : undefined;
  };
  const reusableCount = new Set(results.stored.filter((t) => reusable(t.batchSize) === t).map((t) => t.batchSize)).size;
  ctx.progress.info(`results ${results.path}${results.resuming ? ` (resuming: ${reusableCount} finished trials there)` : ''}`);
  const trials: TrialResult[] = [];
  const reused: number[] = [];
  const reusedTrials = new Set<TrialResult>();
  // The record as the results file holds it (timestamp, version, device): what --html shows.
  const storedOf = new Map<TrialResult, StoredTrial>();
  let search;
  try {
    search = await findMaxBatch(
      { start: s.start, min: s.min, refine: s.refine, refineTrials: s.refineTrials, margin: s.margin, maxBatch: p.trainCount, memoryBudget: config.device.memoryLimit },
      async (batchSize) => {
        const before = reusable(batchSize);
        let t: TrialResult;
        if (before) {
          t = documentTrial(before);
          reused.push(batchSize);
          reusedTrials.add(t);
          storedOf.set(t, before);
        } else {
          ctx.progress.start(`trying ${batchSize}…`);
          t = await runTrial({ config, backend: p.backend.name, batchSize, mode: 'probe', seed: config.training.seed }, {
            signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: true,
            onStep: (m) => ctx.progress.update(`trying ${batchSize}… step ${m.step}${m.step <= s.stepsPerTrial ? `/${s.stepsPerTrial}` : ' (measuring samples/s)'}`),
          });
          storedOf.set(t, results.append(t));
        }
        trials.push(t);
        const detail = t.outcome === 'ok'
          ? `fits (peak ${fmtBytes(t.peakMemoryBytes)}, ${fmtRate(t.samplesPerSecond)} samples/s)`
          : t.outcome === 'diverged'
            ? `fits (peak ${fmtBytes(t.peakMemoryBytes)}), but diverged: ${t.reason ?? 'no reason'}`
            : `${t.outcome}: ${t.reason ?? 'no reason'}`;
        ctx.progress.done(`trying ${batchSize}… ${detail}${before ? ' (from the results file)' : ''}`, t.outcome === 'ok' ? true : t.outcome === 'oom' || t.outcome === 'diverged' ? 'warn' : false);
        return { outcome: t.outcome, reason: t.reason, peakMemoryBytes: t.peakMemoryBytes };
      },
    );
  } catch (e) {
    if (!(isBstuneError(e) && e.code === 'BSTUNE_INTERRUPTED')) throw e;
    const n = trials.length - reused.length;
    throw new BstuneError('BSTUNE_INTERRUPTED', `interrupted; ${n} finished trial${n === 1 ? ' is' : 's are'} saved in ${results.path}; continue with: ${resumeCommand(ctx, 'find-max', results.path)}`);
  }
  // --target-batch: the largest micro-batch found, split into accumulation steps, then one
  // trial of exactly that (its memory adds the gradient accumulators to the micro-batch's).
  let targetPlan: { targetBatch: number; microBatch: number; accumulate: number; effectiveBatchSize: number; note: string; verified: boolean | null } | null = null;
  const target = ctx.args.targetBatch;
  if (target !== undefined && search.maxBatchSize !== null && !search.stoppedBy) {
    const plan = planAccumulation(target, search.maxBatchSize);
    if (plan.accumulate === 1) {
      targetPlan = { ...plan, note: `fits without accumulation (${search.maxBatchSize} fits)`, verified: null };
    } else {
      const checkConfig = { ...config, training: { ...config.training, accumulate: plan.accumulate } };
      ctx.progress.start(`checking ${plan.microBatch} × ${plan.accumulate}…`);
      const t = await runTrial({ config: checkConfig, backend: p.backend.name, batchSize: plan.microBatch, mode: 'probe', seed: config.training.seed }, {
        signal: ctx.signal, verbose: ctx.args.common.verbose,
      });
      trials.push(t);
      ctx.progress.done(`checking ${plan.microBatch} × ${plan.accumulate}… ${t.outcome}${t.reason ? ` (${t.reason})` : ''}`, t.outcome === 'ok' ? true : 'warn');
      targetPlan = {
        ...plan,
        verified: t.outcome === 'ok',
        note: t.outcome === 'ok'
          // The scaled rate is the one to train with; the check's few steps stop inside warmup (it printed 0.0187 for 1024, whose rate is 0.032).
          ? `checked: ${plan.microBatch} × ${plan.accumulate} trained (peak ${fmtBytes(t.peakMemoryBytes)}, the micro-batch plus the gradient accumulators); scaled learning rate for ${plan.effectiveBatchSize}: ${fmtLr(t.scaledLearningRate)}${t.learningRate !== null && t.learningRate < t.scaledLearningRate ? ` (the check's ${t.steps} steps reached ${fmtLr(t.learningRate)} in warmup)` : ''}`
          : `but the check of ${plan.microBatch} × ${plan.accumulate} ended with ${t.outcome}: ${t.reason ?? 'no reason'}; try a smaller micro-batch`,
      };
    }
  }
  const limit = config.device.memoryLimit;
  const device = deviceForPrediction({ deviceMemory: ctx.args.deviceMemory ?? null, memoryLimit: limit, backend: p.backend });
  const model = reportModel(fitMemory(search.attempts.flatMap((a) =>
    a.peakMemoryBytes !== null && (a.outcome === 'ok' || a.outcome === 'oom' || a.outcome === 'diverged') ? [{ batchSize: a.batchSize, bytes: a.peakMemoryBytes }] : [])), device);
  const wall = (performance.now() - started) / 1000;
  // Of the trials run now: a reused trial's time was spent by the run that wrote it.
  const overhead = trials.filter((t) => !reusedTrials.has(t)).reduce((a, t) => a + t.overheadSeconds, 0);
  const best = search.largestFit !== null ? trials.find((t) => t.batchSize === search.largestFit && (t.outcome === 'ok' || t.outcome === 'diverged')) ?? null : null;
  const summary = {
    maxBatchSize: search.maxBatchSize,
    largestFit: search.largestFit,
    smallestOom: search.smallestOom,
    wholeTrainingSet: trials[0]?.batchSize === p.trainCount,
    scaledLearningRate: search.maxBatchSize !== null ? scaledLearningRate(config.optimizer, search.maxBatchSize * config.training.accumulate) : null,
    scaling: config.optimizer.scaling === 'none' ? 'not scaled: optimizer.scaling none' : `${config.optimizer.scaling} from ${config.optimizer.learningRate} at batch ${config.optimizer.baseBatchSize}`,
    accumulate: config.training.accumulate,
    targetPlan,
    effectiveBatchSize: search.maxBatchSize !== null ? search.maxBatchSize * config.training.accumulate : null,
    memoryLimitBytes: limit,
    headroomBytes: best && limit !== null && best.peakMemoryBytes !== null ? limit - best.peakMemoryBytes : null,
    memoryMeaning: limit !== null ? `peak tensor memory against --memory-limit ${fmtBytes(limit)}` : p.backend.memory,
    notes: [
      ...search.notes,
      ...divergedNotes(trials),
      ...(reused.length > 0 ? [`${reused.length === 1 ? 'the trial at' : 'trials at'} ${reused.join(', ')} came from the results file (--resume), not run again`] : []),
    ],
    stoppedBy: search.stoppedBy,
    resultsFile: results.path,
    /** Batch sizes whose trial was read from the results file (--resume), not run again. */
    reusedTrials: reused,
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
  const document = makeDocument('find-max', { config, configPath: p.configPath, backend: p.backend, data: p.data, trials, warnings: p.warnings }, summary);
  let human = `${renderFindMax(trials, summary, p, ctx.stdout)}results: ${results.path}\n`;
  if (ctx.args.html !== undefined) {
    // Written even when the search stopped on an error: the page shows that trial and why.
    const htmlPath = await writeRunReport(ctx.cwd, ctx.args.html, {
      command: 'find-max', trials: trials.map((t) => storedOf.get(t) ?? t), config, backend: p.backend, memoryModel: model, source: results.path,
    });
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

/** A diverged trial fitted in memory (the search counts it as a fit), but its rate did not train. */
function divergedNotes(trials: TrialResult[]): string[] {
  return trials.filter((t) => t.outcome === 'diverged').map((t) =>
    `batch ${t.batchSize} fits in memory, but its trial diverged (${t.reason ?? 'no reason'}) at learning rate ${t.learningRate !== null ? fmtLr(t.learningRate) : '–'}: that rate does not train at this batch`);
}
