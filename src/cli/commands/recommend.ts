/**
 * `bstune recommend`: runs what the answer needs (find-max, equal-steps runs per
 * candidate batch size measuring the noise scale, learning-rate probes at the chosen
 * batch) and hands the numbers to the pure decision in src/recommend/.
 */
import { runTrial } from '../../trial/run.js';
import { findMaxBatch } from '../../search/find-max.js';
import { makeDocument } from '../../report/document.js';
import { formatDuration } from '../../report/trial-progress.js';
import { fmtBytes, fmtLr, fmtPct, fmtRate } from '../../report/format.js';
import { BstuneError, ExitCode } from '../../errors.js';
import { scaledLearningRate, type Scaling } from '../../train/schedule.js';
import { trainingSchema } from '../../config/schema.js';
import { prepare } from './prepare.js';
import { writeRunReport } from '../../report/html/from-run.js';
import {
  candidateSizes, configSnippet, costTarget, costs, decideBatch, decideRate, noiseForDecision,
  type CandidateRun, type RuleProbe,
} from '../../recommend/decide.js';
import { divergedReason } from '../../recommend/diverged.js';
import { renderRecommendation } from '../../report/recommend-text.js';
import type { Config } from '../../config/schema.js';
import type { TrialResult } from '../../trial/protocol.js';
import type { Context, CommandOutput } from '../context.js';

/** Validation passes per run: enough to see when a run reaches the target accuracy. */
const ROUNDS = 4;
const RULES: Scaling[] = ['linear', 'sqrt', 'none'];

export async function run(ctx: Context): Promise<CommandOutput> {
  const started = performance.now();
  const p = await prepare(ctx);
  const { config } = p;
  const classes = p.numClasses ?? 0;
  const repeats = ctx.args.probeRepeats ?? 2;
  const base = config.optimizer.baseBatchSize;
  const totalSteps = ctx.args.probeSteps ?? Math.max(ROUNDS, Math.floor(p.trainCount / Math.min(base, p.trainCount)));
  const rounds = Math.min(ROUNDS, totalSteps);
  const stepsPerRound = Math.max(1, Math.floor(totalSteps / rounds));
  // The probes warm up: the configured warmup, else a tenth of the budget.
  const w = config.optimizer.warmup;
  const warmup = (w.epochs ?? 0) > 0 || (w.steps ?? 0) > 0 ? w : { ...w, steps: Math.max(1, Math.round((stepsPerRound * rounds) / 10)) };
  const withRule = (rule: Scaling): Config => ({
    ...config, training: { ...config.training, epochs: rounds }, optimizer: { ...config.optimizer, scaling: rule, warmup },
  });

  // ETA: seconds per trained sample and per-run overhead, from the runs so far.
  const timing = { samples: 0, trainSeconds: 0, overhead: 0, runs: 0 };
  const record = (t: TrialResult, samples: number) => {
    timing.runs++;
    timing.overhead += t.overheadSeconds;
    timing.samples += samples;
    timing.trainSeconds += Math.max(0, t.seconds - t.overheadSeconds);
  };
  const eta = (remainingSamples: number[]): string => {
    if (timing.runs === 0 || timing.samples === 0) return '';
    const s = remainingSamples.reduce((a, n) => a + timing.overhead / timing.runs + (n * timing.trainSeconds) / timing.samples, 0);
    return ` · ETA ${formatDuration(s)}`;
  };

  // 1. What fits.
  const s = config.search;
  const fmTrials: TrialResult[] = [];
  ctx.progress.info(`step 1/3: largest batch that fits (find-max from ${Math.min(s.start, p.trainCount)})`);
  const search = await findMaxBatch(
    { start: s.start, min: s.min, refine: false, refineTrials: 0, margin: s.margin, maxBatch: p.trainCount },
    async (batchSize) => {
      ctx.progress.start(`find-max: trying ${batchSize}…`);
      const t = await runTrial({ config, backend: p.backend.name, batchSize, mode: 'probe', seed: config.training.seed }, { signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: true });
      fmTrials.push(t);
      ctx.progress.done(`find-max: ${batchSize} ${t.outcome === 'ok' ? `fits (peak ${fmtBytes(t.peakMemoryBytes)})` : `${t.outcome}: ${t.reason ?? ''}`}`, t.outcome === 'ok' ? true : 'warn');
      return { outcome: t.outcome, reason: t.reason };
    },
  );
  if (search.stoppedBy || search.maxBatchSize === null) {
    const why = search.stoppedBy ? `trial at batch ${search.stoppedBy.batchSize} failed with ${search.stoppedBy.outcome}: ${search.stoppedBy.reason}` : `nothing fits, not even batch ${s.min}`;
    throw new BstuneError(search.stoppedBy ? 'BSTUNE_TRIAL_FAILED' : 'BSTUNE_NOTHING_FITS', `cannot recommend: ${why}`);
  }
  const maxFit = search.maxBatchSize;

  // 2. Equal-steps runs per candidate batch, with the configured rule; each measures the noise scale.
  const sizes = candidateSizes(base, maxFit);
  const probesAfter = (RULES.length * repeats - 1) * Math.max(...sizes);
  const candidateTrials: TrialResult[] = [];
  ctx.progress.info(`step 2/3: ${sizes.length} candidate batch sizes (${sizes.join(', ')}), ${stepsPerRound * rounds} steps each (equal steps), noise scale at the start and end`);
  for (const [i, b] of sizes.entries()) {
    const label = `[${i + 1}/${sizes.length}] batch ${b}`;
    ctx.progress.start(`${label}: training…${eta([...sizes.slice(i).map((x) => x * stepsPerRound * rounds), probesAfter * stepsPerRound * rounds])}`);
    const t = await runTrial({ config: withRule(config.optimizer.scaling), backend: p.backend.name, batchSize: b, mode: 'full', seed: config.training.seed, rounds: { steps: stepsPerRound } }, {
      // The next process loads only after this run's timed steps (trial/run.ts), so samples/s is not disturbed.
      signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: true,
      onEpoch: (r) => ctx.progress.update(`${label}: round ${r.epoch}/${rounds} · val acc ${fmtPct(r.valAccuracy)}`),
    });
    record(t, b * t.steps);
    candidateTrials.push(t);
    ctx.progress.done(`${label}: ${t.outcome === 'ok' ? `val acc ${fmtPct(t.valAccuracy)}, ${fmtRate(t.samplesPerSecond)} samples/s, noise scale ${t.gradientNoiseScale?.final?.toFixed(0) ?? '–'}` : `${t.outcome} (${t.reason ?? ''})`}`, t.outcome === 'ok');
  }
  const candidates: CandidateRun[] = candidateTrials.map((t) => ({
    batchSize: t.batchSize, learningRate: t.learningRate ?? t.scaledLearningRate, outcome: t.outcome, reason: t.reason,
    peakMemoryBytes: t.peakMemoryBytes, samplesPerSecond: t.samplesPerSecond,
    rounds: t.history.map((h) => ({ steps: h.steps, valAccuracy: h.valAccuracy })),
    noiseFinal: t.gradientNoiseScale?.final ?? null, noiseFinalStdError: t.gradientNoiseScale?.finalStdError ?? null,
    diverged: divergedReason(t, classes),
  }));
  const noise = noiseForDecision(candidates);
  const batch = decideBatch(maxFit, noise.bSimple, noise.stdError);

  // 3. The scaling rules at the chosen batch, `repeats` seeds each (the candidate run is one of them).
  ctx.progress.info(`step 3/3: learning-rate rules ${RULES.join(', ')} at batch ${batch.batchSize}, ${repeats} seed${repeats === 1 ? '' : 's'} each`);
  const probes: RuleProbe[] = [];
  const probeTrials: TrialResult[] = [];
  const plan = RULES.flatMap((rule) => Array.from({ length: repeats }, (_, r) => ({ rule, seed: config.training.seed + r })));
  for (const [i, item] of plan.entries()) {
    const reuse = item.rule === config.optimizer.scaling && item.seed === config.training.seed
      ? candidateTrials.find((t) => t.batchSize === batch.batchSize) : undefined;
    let t: TrialResult;
    if (reuse) t = reuse;
    else {
      const label = `[${i + 1}/${plan.length}] ${item.rule} seed ${item.seed}`;
      ctx.progress.start(`${label}: training…${eta(plan.slice(i).map(() => batch.batchSize * stepsPerRound * rounds))}`);
      t = await runTrial({ config: withRule(item.rule), backend: p.backend.name, batchSize: batch.batchSize, mode: 'full', seed: item.seed, rounds: { steps: stepsPerRound }, noise: false }, {
        signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: i < plan.length - 1,
        onEpoch: (r) => ctx.progress.update(`${label}: round ${r.epoch}/${rounds} · val acc ${fmtPct(r.valAccuracy)}`),
      });
      record(t, batch.batchSize * t.steps);
      const d = divergedReason(t, classes);
      ctx.progress.done(`${label}: lr ${fmtLr(t.learningRate ?? t.scaledLearningRate)} ${d ? `diverged (${d})` : t.outcome === 'ok' ? `val acc ${fmtPct(t.valAccuracy)}` : `${t.outcome} (${t.reason ?? ''})`}`, t.outcome === 'ok' && !d);
    }
    probeTrials.push(t);
    let probe = probes.find((x) => x.rule === item.rule);
    if (!probe) probes.push((probe = { rule: item.rule, learningRate: scaledLearningRate(withRule(item.rule).optimizer, batch.batchSize), runs: [] }));
    probe.runs.push({ seed: item.seed, outcome: t.outcome, valAccuracy: t.valAccuracy, valLoss: t.valLoss, diverged: divergedReason(t, classes), reason: t.reason });
  }
  const rate = decideRate(probes, config.optimizer.scaling);
  const target = costTarget(candidates, config.sweep.targetAccuracy);
  const costRows = costs(candidates, target);
  const accumulateKnown = 'accumulate' in trainingSchema.shape;
  const recommendation = rate.chosen === null ? null : {
    batchSize: batch.batchSize, learningRate: rate.learningRate!, scaling: rate.chosen, warmup,
    accumulate: batch.accumulate, effectiveBatchSize: batch.batchSize * batch.accumulate,
    snippet: configSnippet({ batchSize: batch.batchSize, learningRate: rate.learningRate!, rule: rate.chosen, warmup, accumulate: batch.accumulate, accumulateKnown }),
  };
  const budget = {
    kind: 'steps' as const, steps: stepsPerRound * rounds, rounds, stepsPerRound,
    meaning: `equal steps: every candidate and probe trained ${stepsPerRound * rounds} steps (${ctx.args.probeSteps !== undefined ? '--probe-steps' : `one epoch at the base batch size ${base}`}), in ${rounds} rounds each ending with a validation pass`,
  };
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    recommendation, batch, rate, noiseScale: { ...noise, fromCandidateBatch: noise.batchSize, meaning: 'B_simple at the end of the candidate run that reached the highest validation accuracy (McCandlish et al. 2018, appendix A)' },
    maxBatchSize: maxFit, budget, targetAccuracy: target, costs: costRows, probes,
    evidence: { findMax: fmTrials, candidates: candidateTrials, probes: probeTrials.filter((t) => !candidateTrials.includes(t)) },
    seconds,
  };
  const document = makeDocument('recommend', { config, configPath: p.configPath, backend: p.backend, data: p.data }, summary);
  let human = renderRecommendation({ ...summary, backend: p.backend, data: p.data, name: config.name, stream: ctx.stdout });
  if (ctx.args.html !== undefined) {
    // The candidate runs (one per batch size, equal steps) are the charts' series; the rate probes
    // share one batch and differ in rule, so they stay in the JSON evidence.
    const why = recommendation === null ? null
      : `${recommendation.scaling} scaling${recommendation.accumulate > 1 ? `, micro-batch ${recommendation.batchSize} × ${recommendation.accumulate} accumulated (effective ${recommendation.effectiveBatchSize})` : ''}; ${batch.why ?? ''}`.replace(/; $/, '');
    const htmlPath = await writeRunReport(ctx.cwd, ctx.args.html, {
      command: 'recommend', trials: candidateTrials, config, backend: p.backend, targetAccuracy: config.sweep.targetAccuracy, memoryModel: search.memoryModel,
      recommendation: recommendation && { batchSize: recommendation.batchSize, learningRate: recommendation.learningRate, why },
    });
    document.htmlReport = htmlPath;
    human += `report: ${htmlPath}\n`;
  }
  if (recommendation === null) {
    return { document, human, exitCode: ExitCode.failure, error: `${rate.why} (at batch ${batch.batchSize}); not a recommendation` };
  }
  return { document, human, exitCode: ExitCode.ok };
}
