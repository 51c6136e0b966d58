/**
 * `bstune recommend`: runs what the answer needs (find-max, equal-steps runs per
 * candidate batch size measuring the noise scale, learning-rate probes at the chosen
 * batch, a probe of the accumulation it advises) and hands the numbers to the pure
 * decision in src/recommend/.
 *
 * Nothing is measured twice: find-max's fitting trial at a power of two is a full
 * candidate run, the initial noise scale is measured once (every candidate starts from
 * the same weights), and the rate probes, which time nothing, run two at a time on a
 * 2-core CPU. The candidates and the accumulation probe, whose samples/s go in the cost
 * table, run one at a time.
 */
import { usableCores } from '../../trial/cores.js';
import { runTrial } from '../../trial/run.js';
import { localPool } from '../../trial/local-pool.js';
import { releaseSpare } from '../../trial/pool.js';
import { findMaxBatch } from '../../search/find-max.js';
import { makeDocument } from '../../report/document.js';
import { RunningTrials } from '../../report/running-trials.js';
import { fmtBytes, fmtLr, fmtPct, fmtRate } from '../../report/format.js';
import { BstuneError, ExitCode } from '../../errors.js';
import { scaledLearningRate, type Scaling } from '../../train/schedule.js';
import { prepare } from './prepare.js';
import { writeRunReport } from '../../report/html/from-run.js';
import { MAX_SEED } from '../../data/seed.js';
import { checkHtmlFlag } from '../../report/html/write.js';
import {
  accumulationVerdict, candidateSizes, rulesToRepeatFirst, skipRepeats, configSnippet, costNote, costTarget, costs, decideBatch, decideRate, noiseForDecision,
  type CandidateRun, type RuleProbe,
} from '../../recommend/decide.js';
import { divergedReason } from '../../recommend/diverged.js';
import { Eta } from '../../recommend/eta.js';
import { renderRecommendation } from '../../report/recommend-text.js';
import type { Config } from '../../config/schema.js';
import type { TrialResult, TrialSpec } from '../../trial/protocol.js';
import type { Context, CommandOutput } from '../context.js';

/** Validation passes per run: enough to see when a run reaches the target accuracy. */
const ROUNDS = 4;
const RULES: Scaling[] = ['linear', 'sqrt', 'none'];
const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

export async function run(ctx: Context): Promise<CommandOutput> {
  const started = performance.now();
  checkHtmlFlag(ctx.cwd, ctx.args.html);
  const p = await prepare(ctx);
  const { config } = p;
  const classes = p.numClasses ?? 0;
  const repeats = ctx.args.probeRepeats ?? 2;
  // The rate probes run seeds seed … seed + repeats − 1, as a sweep's repeats do (config/rules.ts).
  if (config.training.seed + repeats - 1 > MAX_SEED) {
    throw new BstuneError('BSTUNE_USAGE', `${repeats} seeds per rule from training.seed ${config.training.seed} run seeds up to ${config.training.seed + repeats - 1}, above ${MAX_SEED}; start from a smaller seed`, ctx.args.probeRepeats !== undefined ? '--probe-repeats' : 'training.seed');
  }
  const base = config.optimizer.baseBatchSize;
  const totalSteps = ctx.args.probeSteps ?? Math.max(ROUNDS, Math.floor(p.trainCount / Math.min(base, p.trainCount)));
  const rounds = Math.min(ROUNDS, totalSteps);
  const stepsPerRound = Math.max(1, Math.floor(totalSteps / rounds));
  const steps = stepsPerRound * rounds;
  // The probes warm up: the configured warmup, else a tenth of the budget.
  const w = config.optimizer.warmup;
  const warmup = (w.epochs ?? 0) > 0 || (w.steps ?? 0) > 0 ? w : { ...w, steps: Math.max(1, Math.round(steps / 10)) };
  const withRule = (rule: Scaling, accumulate = 1): Config => ({
    ...config, training: { ...config.training, epochs: rounds, accumulate }, optimizer: { ...config.optimizer, scaling: rule, warmup },
  });
  // Every recommend run: equal steps in rounds; no training-subset pass (the gap is not used here).
  const fullSpec = (rule: Scaling, batchSize: number, seed: number, extra: Partial<TrialSpec> = {}, accumulate = 1): TrialSpec => ({
    config: withRule(rule, accumulate), backend: p.backend.name, batchSize, mode: 'full', seed, rounds: { steps: stepsPerRound }, trainEval: false, ...extra,
  });
  const eta = new Eta();
  // Trials run as full candidate runs (find-max's too): the ones find-max leaves for step 2.
  const fullRuns = new Set<TrialResult>();
  const roundUpdate = (label: string) => (r: { epoch: number; valAccuracy: number }) => ctx.progress.update(`${label}: round ${r.epoch}/${rounds} · val acc ${fmtPct(r.valAccuracy)}`);
  // The initial weights are the same for every candidate (same seed): their noise scale is measured once.
  let initialNoiseMeasured = false;
  const candidateRun = async (b: number, label: string): Promise<TrialResult> => {
    const t = await runTrial(fullSpec(config.optimizer.scaling, b, config.training.seed, { noiseAtStart: !initialNoiseMeasured }), {
      // The next process loads only after this run's timed steps (trial/run.ts), so samples/s is not disturbed.
      signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: true, onEpoch: roundUpdate(label),
    });
    if (t.gradientNoiseScale?.points[0]?.epoch === 0) initialNoiseMeasured = true;
    fullRuns.add(t);
    eta.record(t, b * t.steps);
    return t;
  };

  // 1. What fits. A power of two that fits is the top candidate: find-max tries it as a full candidate run.
  const s = config.search;
  const fmTrials: TrialResult[] = [];
  const asCandidate = (b: number) => s.margin === 0 && isPowerOfTwo(b);
  ctx.progress.info(`step 1/3: largest batch that fits (find-max from ${Math.min(s.start, p.trainCount)}${asCandidate(Math.min(s.start, p.trainCount)) ? '; a size that fits is also its candidate run' : ''})`);
  const search = await findMaxBatch(
    { start: s.start, min: s.min, refine: false, refineTrials: 0, margin: s.margin, maxBatch: p.trainCount },
    async (batchSize) => {
      const label = `find-max: ${batchSize}`;
      ctx.progress.start(`${label}: trying…`);
      const t = asCandidate(batchSize)
        ? await candidateRun(batchSize, label)
        : await runTrial({ config, backend: p.backend.name, batchSize, mode: 'probe', seed: config.training.seed }, { signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: true });
      fmTrials.push(t);
      ctx.progress.done(`${label} ${t.outcome === 'ok' ? `fits (peak ${fmtBytes(t.peakMemoryBytes)})${t.history.length > 0 ? `, val acc ${fmtPct(t.valAccuracy)} after ${t.steps} steps` : ''}` : `${t.outcome}: ${t.reason ?? ''}`}`, t.outcome === 'ok' ? true : 'warn');
      return { outcome: t.outcome, reason: t.reason };
    },
  );
  if (search.stoppedBy || search.maxBatchSize === null) {
    releaseSpare();
    const why = search.stoppedBy ? `trial at batch ${search.stoppedBy.batchSize} failed with ${search.stoppedBy.outcome}: ${search.stoppedBy.reason}` : `nothing fits, not even batch ${s.min}`;
    throw new BstuneError(search.stoppedBy ? 'BSTUNE_TRIAL_FAILED' : 'BSTUNE_NOTHING_FITS', `cannot recommend: ${why}`);
  }
  const maxFit = search.maxBatchSize;

  // 2. Equal-steps runs per candidate batch, with the configured rule; each measures the noise scale.
  const sizes = candidateSizes(base, maxFit);
  const reused = (b: number) => fmTrials.find((t) => t.batchSize === b && fullRuns.has(t) && t.outcome !== 'oom');
  const probeSlots = probeParallelism(p.backend.name, config.training.threads ?? null);
  const probeRuns = RULES.length * repeats - 1;
  const candidateTrials: TrialResult[] = [];
  const todo = sizes.filter((b) => !reused(b));
  ctx.progress.info(`step 2/3: ${sizes.length} candidate batch sizes (${sizes.join(', ')}${todo.length < sizes.length ? `; ${sizes.filter((b) => reused(b)).join(', ')} from find-max` : ''}), ${steps} steps each (equal steps), noise scale at the end`);
  for (const b of sizes) {
    const again = reused(b);
    if (again) {
      candidateTrials.push(again);
      continue;
    }
    const label = `[${todo.indexOf(b) + 1}/${todo.length}] batch ${b}`;
    const left = [...todo.slice(todo.indexOf(b)).map((x) => x * steps)];
    ctx.progress.start(`${label}: training…${eta.text(left, [Math.max(...sizes) * steps, probeRuns, probeSlots])}`);
    const t = await candidateRun(b, label);
    candidateTrials.push(t);
    // The ETA goes on the finished line too: off a terminal (a log, CI) that line is all the progress there is.
    const after = eta.text(todo.slice(todo.indexOf(b) + 1).map((x) => x * steps), [Math.max(...sizes) * steps, probeRuns, probeSlots]);
    ctx.progress.done(`${label}: ${t.outcome === 'ok' ? `val acc ${fmtPct(t.valAccuracy)}, ${fmtRate(t.samplesPerSecond)} samples/s, noise scale ${t.gradientNoiseScale?.final?.toFixed(0) ?? '–'}` : `${t.outcome} (${t.reason ?? ''})`}${after}`, t.outcome === 'ok');
  }
  const asCandidateRun = (t: TrialResult): CandidateRun => ({
    batchSize: t.batchSize, accumulate: t.accumulate ?? 1, learningRate: t.learningRate ?? t.scaledLearningRate, outcome: t.outcome, reason: t.reason,
    peakMemoryBytes: t.peakMemoryBytes, samplesPerSecond: t.samplesPerSecond, threads: t.threads ?? null,
    rounds: t.history.map((h) => ({ steps: h.steps, valAccuracy: h.valAccuracy })),
    noiseFinal: t.gradientNoiseScale?.final ?? null, noiseFinalStdError: t.gradientNoiseScale?.finalStdError ?? null,
    diverged: divergedReason(t, classes),
  });
  const candidates = candidateTrials.map(asCandidateRun);
  const noise = noiseForDecision(candidates);
  const batch = decideBatch(maxFit, noise.bSimple, noise.stdError);

  // 3. The scaling rules at the chosen batch, `probeSlots` runs at a time (they compare validation
  //    accuracy, not speed). Every rule's first seed (the candidate run is the configured rule's),
  //    then the other seeds of the two best; a third rule is repeated only when it could be
  //    within noise of them (skipRepeats).
  const seeds = Array.from({ length: repeats }, (_, r) => config.training.seed + r);
  const planned = RULES.length * repeats - 1;
  ctx.progress.info(`step 3/3: learning-rate rules ${RULES.join(', ')} at batch ${batch.batchSize}, ${repeats} seed${repeats === 1 ? '' : 's'} each where they can change the answer${probeSlots > 1 ? `, ${probeSlots} runs at a time` : ''}`);
  const pool = localPool({ parallel: probeSlots, backend: p.backend.name, memoryLimitBytes: config.device.memoryLimit });
  let begun = 0;
  let finished = 0;
  const running = new RunningTrials(ctx.progress, () => eta.text([], [batch.batchSize * steps, planned - finished, pool.slots]).replace(/^ · /, ''));
  const probes: RuleProbe[] = RULES.map((rule) => ({ rule, learningRate: scaledLearningRate(withRule(rule).optimizer, batch.batchSize), runs: [] }));
  const probeTrials: TrialResult[] = [];
  const probeRun = async (rule: Scaling, seed: number): Promise<void> => {
    const again = rule === config.optimizer.scaling && seed === config.training.seed
      ? candidateTrials.find((x) => x.batchSize === batch.batchSize && x.outcome !== 'oom') : undefined;
    let t: TrialResult;
    if (again) t = again;
    else {
      const label = `[${++begun}] ${rule} seed ${seed}`;
      t = await pool.run(fullSpec(rule, batch.batchSize, seed, { noise: false }), {
        id: `recommend-${rule}-${seed}`, signal: ctx.signal, verbose: ctx.args.common.verbose, prewarmNext: true,
        onStart: () => running.set(label, `${label}: training…`),
        onEpoch: (r) => running.set(label, `${label}: round ${r.epoch}/${rounds} · val acc ${fmtPct(r.valAccuracy)}`),
      });
      finished++;
      eta.record(t, batch.batchSize * t.steps);
      const d = divergedReason(t, classes);
      const after = planned > finished ? eta.text([], [batch.batchSize * steps, planned - finished, pool.slots]).replace(' · ETA', ' · ETA at most') : '';
      running.finish(label, `${label}: lr ${fmtLr(t.learningRate ?? t.scaledLearningRate)} ${d ? `diverged (${d})` : t.outcome === 'ok' ? `val acc ${fmtPct(t.valAccuracy)}` : `${t.outcome} (${t.reason ?? ''})`}${after}`, t.outcome === 'ok' && !d);
    }
    probeTrials.push(t);
    probes.find((x) => x.rule === rule)!.runs.push({ seed, outcome: t.outcome, valAccuracy: t.valAccuracy, valLoss: t.valLoss, diverged: divergedReason(t, classes), reason: t.reason });
  };
  const repeatsOf = (rules: Scaling[]) => Promise.all(rules.flatMap((rule) => seeds.slice(1).map((seed) => probeRun(rule, seed))));
  try {
    await Promise.all(RULES.map((rule) => probeRun(rule, seeds[0]!)));
    const first = rulesToRepeatFirst(probes);
    await repeatsOf(first);
    const rest = RULES.filter((rule) => !first.includes(rule) && repeats > 1);
    for (const rule of rest) {
      const probe = probes.find((x) => x.rule === rule)!;
      const why = skipRepeats(probe, probes.filter((x) => first.includes(x.rule)));
      if (why) {
        probe.notRepeated = why;
        finished += repeats - 1;
      }
    }
    await repeatsOf(rest.filter((rule) => !probes.find((x) => x.rule === rule)!.notRepeated));
  } finally {
    await pool.close();
  }
  for (const probe of probes) probe.runs.sort((a, b) => a.seed - b.seed);
  const rate = decideRate(probes, config.optimizer.scaling);

  // 4. Accumulation is advised only when a run backs it: the chosen rule at micro-batch × N.
  let accumulationTrial: TrialResult | null = null;
  if (batch.accumulate > 1 && rate.chosen !== null) {
    const label = `accumulation: ${batch.batchSize} × ${batch.accumulate} = ${batch.batchSize * batch.accumulate}`;
    ctx.progress.start(`${label}: training…${eta.text([batch.batchSize * batch.accumulate * steps], [0, 0, 1])}`);
    accumulationTrial = await runTrial(fullSpec(rate.chosen, batch.batchSize, config.training.seed, { noise: false }, batch.accumulate), {
      signal: ctx.signal, verbose: ctx.args.common.verbose, onEpoch: roundUpdate(label),
    });
    const t = accumulationTrial;
    const d = divergedReason(t, classes);
    ctx.progress.done(`${label}: lr ${fmtLr(t.learningRate ?? t.scaledLearningRate)} ${d ? `diverged (${d})` : t.outcome === 'ok' ? `val acc ${fmtPct(t.valAccuracy)}, ${fmtRate(t.samplesPerSecond)} samples/s` : `${t.outcome} (${t.reason ?? ''})`}`, t.outcome === 'ok' && !d);
  }
  releaseSpare();

  const accumulationRun = accumulationTrial && asCandidateRun(accumulationTrial);
  const microRun = candidates.find((c) => c.batchSize === batch.batchSize) ?? null;
  const chosenVerdict = rate.verdicts.find((v) => v.rule === rate.chosen) ?? null;
  const accumulation = batch.accumulate > 1 ? accumulationVerdict(batch, accumulationRun, microRun, rate.chosen, chosenVerdict?.sdValAccuracy ?? null) : null;
  const accumulate = accumulation?.backed ? batch.accumulate : 1;
  // The target comes from the candidates alone; the accumulation probe is priced against it.
  const target = costTarget(candidates, config.sweep.targetAccuracy);
  const costRows = costs([...candidates, ...(accumulationRun ? [accumulationRun] : [])], target);
  const note = costNote({ seed: config.training.seed, sd: chosenVerdict?.sdValAccuracy ?? null, runs: repeats, batchSize: batch.batchSize });
  const recommendation = rate.chosen === null ? null : {
    batchSize: batch.batchSize, learningRate: rate.learningRate!, scaling: rate.chosen, warmup,
    accumulate, effectiveBatchSize: batch.batchSize * accumulate,
    ...(accumulate > 1 ? { effectiveLearningRate: accumulationTrial!.scaledLearningRate } : {}),
    snippet: configSnippet({ batchSize: batch.batchSize, learningRate: rate.learningRate!, rule: rate.chosen, warmup, accumulate, effectiveLearningRate: accumulationTrial?.scaledLearningRate ?? null }),
  };
  const budget = {
    kind: 'steps' as const, steps, rounds, stepsPerRound,
    meaning: `equal steps: every candidate and probe trained ${steps} steps (${ctx.args.probeSteps !== undefined ? '--probe-steps' : `one epoch at the base batch size ${base}`}), in ${rounds} rounds each ending with a validation pass`,
  };
  const seconds = (performance.now() - started) / 1000;
  const initialNoise = [...fmTrials, ...candidateTrials].find((t) => t.gradientNoiseScale?.points[0]?.epoch === 0)?.gradientNoiseScale ?? null;
  const summary = {
    recommendation, batch, rate, accumulation,
    noiseScale: {
      ...noise, fromCandidateBatch: noise.batchSize, meaning: 'B_simple at the end of the candidate run that reached the highest validation accuracy, on a tie the larger batch (McCandlish et al. 2018, appendix A)',
      initial: initialNoise?.initial ?? null, initialStdError: initialNoise?.initialStdError ?? null,
    },
    maxBatchSize: maxFit, budget, targetAccuracy: target, costs: costRows, costNote: note, probes,
    parallel: { probes: pool.slots, meaning: pool.slots > 1 ? `the rate probes ran ${pool.slots} at a time (they compare accuracy, not speed); the candidates and the accumulation probe ran alone` : 'one run at a time' },
    evidence: {
      findMax: fmTrials, candidates: candidateTrials, probes: probeTrials.filter((t) => !candidateTrials.includes(t)),
      accumulation: accumulationTrial,
    },
    seconds,
  };
  const document = makeDocument('recommend', { config, configPath: p.configPath, backend: p.backend, data: p.data, warnings: p.warnings }, summary);
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

/**
 * Rate probes at once: two on a CPU backend with two cores (each then trains on one thread:
 * the default training.threads shares the cores among the pool's slots); one on a GPU or with
 * libtensorflow, which use the whole device themselves, and one when training.threads asks
 * for several threads per trial (two such trials would oversubscribe the cores).
 */
function probeParallelism(backend: string, threads: number | null): number {
  if (threads !== null && threads > 1) return 1;
  return backend === 'wasm' || backend === 'cpu' ? Math.min(2, usableCores()) : 1;
}
