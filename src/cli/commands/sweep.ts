import { localPool } from '../../trial/local-pool.js';
import { parseQueueUrl } from '../../queue/url.js';
import { RunningTrials } from '../../report/running-trials.js';
import { configHash } from '../../results/record.js';
import type { TrialRunner } from '../../trial/runner.js';
import type { TrialHooks } from '../../trial/run.js';
import type { TrialResult, TrialSpec } from '../../trial/protocol.js';
import { makeDocument } from '../../report/document.js';
import { formatDuration, trialProgress, type SweepPosition } from '../../report/trial-progress.js';
import { renderSweep } from '../../report/sweep-table.js';
import { fmtPct, fmtRate } from '../../report/format.js';
import { BstuneError, ExitCode, isBstuneError } from '../../errors.js';
import { checkResumeFile, openResults } from '../../results/session.js';
import { documentTrial, type StoredTrial } from '../../results/record.js';
import { resumeCommand } from '../resume-command.js';
import { inputFileHashes } from '../../sweep/input-files.js';
import { summarizeSweep, targetAccuracy } from '../../sweep/summarize.js';
import { prepare, warmupWarnings } from './prepare.js';
import { writeRunReport } from '../../report/html/from-run.js';
import { checkHtmlFlag } from '../../report/html/write.js';
import { epochsBudget, roundsOf, stepsBudget, timeBudget, type BudgetFacts } from '../../sweep/budget.js';
import { expectedWork, longestFirst } from '../../sweep/order.js';
import type { Context, CommandOutput } from '../context.js';

interface Run {
  batchSize: number;
  seed: number;
}

export async function run(ctx: Context): Promise<CommandOutput> {
  const where = { cwd: ctx.cwd, command: 'sweep' as const, ...(ctx.args.out !== undefined ? { out: ctx.args.out } : {}), ...(ctx.args.resume !== undefined ? { resume: ctx.args.resume } : {}) };
  checkResumeFile(where);
  checkHtmlFlag(ctx.cwd, ctx.args.html);
  if (ctx.args.queue !== undefined) {
    // Before anything is loaded or written: an unreachable queue is one line and exit 2.
    const { checkReachable } = await import('../../queue/connection.js');
    await checkReachable(parseQueueUrl(ctx.args.queue));
  }
  const p = await prepare(ctx);
  const { config } = p;
  const { sizes, repeats } = config.sweep;
  const tooBig = sizes.find((b) => b > p.trainCount);
  if (tooBig !== undefined) {
    // Named where the size came from: the flag, else the file's sweep.sizes (as train names optimizer.baseBatchSize).
    const from = ctx.args.overrides.some((o) => o.flag === '--sizes') ? '--sizes' : 'sweep.sizes';
    throw new BstuneError('BSTUNE_USAGE', `batch size ${tooBig} is larger than the training set (${p.trainCount} samples${config.data.trainLimit !== undefined ? `, data.trainLimit / --train-limit ${config.data.trainLimit}` : ''})`, from);
  }
  const warnings = warmupWarnings(ctx, p, sizes);
  // The model and data files' contents are part of what a resume must match.
  const files = await inputFileHashes(config);
  const results = openResults({ ...where, config, files, backend: p.backend, warn: (line) => ctx.stderr.write(`bstune: warning: ${line}\n`) });
  const outPath = results.path;
  const stored = results.stored;
  // A run that failed (an OOM kill, a timeout) may pass on a second try: resume re-runs it,
  // and the newest line for a (batch, seed) is the one that counts.
  // A diverged run is a result (the same seed diverges again): it is not re-run.
  const finished = (t: StoredTrial) => t.outcome === 'ok' || t.outcome === 'diverged';
  const done = stored.filter((t, i) => finished(t) && !stored.slice(i + 1).some((u) => u.batchSize === t.batchSize && u.seed === t.seed));
  const retried = new Set(stored.filter((t) => !finished(t)).map((t) => `${t.batchSize}/${t.seed}`)).size;
  const resumeNote = results.resuming ? ` (resuming: ${done.length} finished runs there${retried ? `, ${retried} failed ones to re-run` : ''})` : '';
  ctx.progress.info(`results ${outPath}${resumeNote}`);

  // Every size sees the same seeds, so the comparison differs only in the batch size.
  const plan: Run[] = sizes.flatMap((batchSize) => Array.from({ length: repeats }, (_, r) => ({ batchSize, seed: config.training.seed + r })));
  const isDone = (r: Run) => done.some((t) => t.batchSize === r.batchSize && t.seed === r.seed);
  const todo = plan.filter((r) => !isDone(r));
  const trials: StoredTrial[] = done.filter((t) => plan.some((r) => r.batchSize === t.batchSize && r.seed === t.seed));
  const outside = done.filter((t) => !trials.includes(t));
  if (outside.length > 0) {
    // Sizes and repeats are not part of the config hash, so a resume may name fewer of them.
    const named = [...new Set(outside.map((t) => `batch ${t.batchSize} seed ${t.seed}`))];
    const list = named.length > 6 ? `${named.slice(0, 6).join(', ')}, …` : named.join(', ');
    ctx.progress.info(`the results file also holds ${outside.length} finished run${outside.length === 1 ? '' : 's'} outside this sweep (${list}); pass the same --sizes/--repeats to include ${outside.length === 1 ? 'it' : 'them'}`);
  }
  // Under a time budget the first size runs by epochs and its training time sets everyone's.
  const budgetKind = config.sweep.budget;
  const reference = (): StoredTrial | undefined => trials.find((t) => t.batchSize === sizes[0] && t.seed === config.training.seed && t.outcome === 'ok');
  const budgetFor = (r: Run): BudgetFacts | null => {
    if (budgetKind === 'steps') return stepsBudget(p.trainCount, config.optimizer.baseBatchSize, config.training.epochs);
    if (budgetKind === 'time' && r.batchSize !== sizes[0]) {
      const ref = reference();
      return ref ? timeBudget(ref, config.training.epochs) : null;
    }
    return epochsBudget(config.training.epochs);
  };
  const spec = (r: Run): TrialSpec => {
    const budget = budgetFor(r);
    if (budget === null) throw new BstuneError('BSTUNE_TRIAL_FAILED', `--budget time: the first size (batch ${sizes[0]}) did not finish, so there is no time to give the others`, '--budget');
    const rounds = roundsOf(budget);
    return { config, backend: p.backend.name, batchSize: r.batchSize, mode: 'full', seed: r.seed, ...(rounds ? { rounds } : {}) };
  };
  // Under a time budget the reference run finishes first: the others are given its training time.
  const isReference = (r: Run) => budgetKind === 'time' && r.batchSize === sizes[0] && r.seed === config.training.seed;
  const phases = budgetKind === 'time' ? [todo.filter(isReference), todo.filter((r) => !isReference(r))] : [todo];
  // The queue's job ids: the run's config hash, batch, seed, and how often it failed before
  // (a resume re-runs a failed run under a new id: the queue keeps the old job's result).
  const hash = configHash(config, p.backend.name, files, 'sweep');
  const runner = await makeRunner(ctx, p.backend.name, config.device.memoryLimit);
  const count = { begun: 0, finished: 0, total: todo.length, started: performance.now() };
  let outcome: { interrupted: boolean; lost: BstuneError | null } = { interrupted: false, lost: null };
  try {
    // Runs side by side (local slots or queue workers) start longest first, so the slots
    // finish together; one at a time they run in the order asked for.
    const steps = budgetKind === 'steps' ? stepsBudget(p.trainCount, config.optimizer.baseBatchSize, config.training.epochs).stepsPerRound : null;
    const work = (r: Run) => expectedWork({ batchSize: r.batchSize, accumulate: config.training.accumulate }, { trainCount: p.trainCount, epochs: config.training.epochs, budget: budgetKind, stepsPerRound: steps });
    for (const phase of phases) {
      if (phase.length === 0) continue;
      outcome = await runAll(ctx, runner, runner.slots > 1 ? longestFirst(phase, work) : phase, count, {
        repeats, epochs: config.training.epochs, spec,
        id: (r) => `${hash}-b${r.batchSize}-s${r.seed}-a${stored.filter((t) => t.batchSize === r.batchSize && t.seed === r.seed && t.outcome !== 'ok').length}`,
        record: (t) => void trials.push(results.append(t)),
      });
      if (outcome.interrupted || outcome.lost) break;
    }
  } finally {
    await runner.close();
  }
  if (outcome.lost) {
    throw new BstuneError('BSTUNE_QUEUE_LOST', `${outcome.lost.message}; ${trials.length} finished runs are saved; continue with: ${resumeCommand(ctx, 'sweep', outPath)}`);
  }
  if (outcome.interrupted) {
    throw new BstuneError('BSTUNE_INTERRUPTED', `interrupted; ${trials.length} finished runs are saved; continue with: ${resumeCommand(ctx, 'sweep', outPath)}`);
  }
  const ordered = plan.map((r) => trials.find((t) => t.batchSize === r.batchSize && t.seed === r.seed)!).filter(Boolean);
  const target = targetAccuracy(ordered.filter((t) => t.outcome === 'ok'), config.sweep.targetAccuracy);
  const rows = summarizeSweep(ordered, sizes, target);
  const failed = ordered.filter((t) => t.outcome !== 'ok').length;
  // The document's trials are trial results; the file's bookkeeping (hash, hashed config) stays in the file.
  const docTrials = ordered.map(documentTrial);
  const budget = budgetKind === 'steps' ? stepsBudget(p.trainCount, config.optimizer.baseBatchSize, config.training.epochs)
    : budgetKind === 'time' ? (reference() ? timeBudget(reference()!, config.training.epochs) : null) : epochsBudget(config.training.epochs);
  const document = makeDocument('sweep', { config, configPath: p.configPath, backend: p.backend, data: p.data, trials: docTrials, warnings: p.warnings }, {
    resultsFile: outPath, targetAccuracy: target, summary: rows, budget, warnings,
  });
  let html = '';
  if (ctx.args.html !== undefined) {
    const htmlPath = await writeRunReport(ctx.cwd, ctx.args.html, { command: 'sweep', trials: ordered, config, backend: p.backend, source: outPath, targetAccuracy: config.sweep.targetAccuracy });
    document.htmlReport = htmlPath;
    html = `report: ${htmlPath}\n`;
  }
  const budgetLine = budget && budget.kind !== 'epochs' ? `budget: ${budget.meaning}\n` : '';
  const human = `${renderSweep(rows, { repeats, accumulate: config.training.accumulate, target, targetConfigured: config.sweep.targetAccuracy !== null, stream: ctx.stdout })}${budgetLine}results: ${outPath}\n${html}`;
  const failures = ordered.filter((t) => t.outcome !== 'ok');
  const error = failures.length > 0
    ? `${failures.length} of ${ordered.length} runs ${failures.every((t) => t.outcome === 'diverged') ? 'diverged' : 'failed'}: ${failures.map((t) => `batch ${t.batchSize} ${t.outcome} (${t.reason ?? 'no reason'})`).join('; ')}`
    : undefined;
  return { document, human, exitCode: failed > 0 ? ExitCode.failure : ExitCode.ok, ...(error ? { error } : {}) };
}

/** Local processes, or the queue: sweep only sees the contract. */
async function makeRunner(ctx: Context, backend: string, memoryLimit: number | null): Promise<TrialRunner> {
  if (ctx.args.queue !== undefined) {
    const { QueueRunner } = await import('../../queue/producer.js');
    const runner = await QueueRunner.connect(ctx.args.queue);
    ctx.progress.info(`trials go to ${runner.description}; start workers with: bstune worker --queue ${runner.address.display}`);
    return runner;
  }
  const pool = localPool({ parallel: ctx.args.parallel, gpus: ctx.args.gpus, backend, memoryLimitBytes: memoryLimit });
  for (const note of pool.plan.notes) ctx.progress.info(note);
  if (pool.slots > 1 || pool.plan.gpus) ctx.progress.info(`running ${pool.description}`);
  return pool;
}

/** Where the whole sweep stands, shared by its phases (a time budget runs its reference first). */
interface Count {
  begun: number;
  finished: number;
  total: number;
  started: number;
}

interface RunAllOptions {
  repeats: number;
  epochs: number;
  spec: (r: Run) => TrialSpec;
  id: (r: Run) => string;
  /** Saves a finished run (to the results file) the moment it finishes, in whatever order. */
  record: (t: TrialResult) => void;
}

/**
 * Every run through the runner at once: the runner decides how many execute together
 * (its slots, or the queue's workers). The first error that is not a trial outcome
 * (a missing backend, bad data) stops the rest and is thrown; an interrupt or a lost queue
 * stops them and is returned, after what finished is saved.
 */
async function runAll(ctx: Context, runner: TrialRunner, todo: Run[], n: Count, o: RunAllOptions): Promise<{ interrupted: boolean; lost: BstuneError | null }> {
  const { started, total } = n;
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let failure: unknown = null;
  let lost: BstuneError | null = null;
  const parallel = runner.slots > 1;
  const running = new RunningTrials(ctx.progress, () => `${n.finished}/${total} done${eta(started, n.finished, total)}`);
  await Promise.all(todo.map(async (r) => {
    const name = `batch ${r.batchSize}${o.repeats > 1 ? ` seed ${r.seed}` : ''}`;
    let label = name;
    try {
      const t = await runner.run(o.spec(r), {
        id: o.id(r), signal, verbose: ctx.args.common.verbose,
        onStart: (where) => {
          label = `[${++n.begun}/${total}] ${name}${runner.slots === Infinity ? ` on ${where}` : ''}`;
          running.set(label, `${label}: starting…${parallel ? '' : eta(started, n.finished, total)}`);
        },
        onRequeued: () => running.info(`${label}: its worker stopped answering; the run went back to the queue for another worker`),
        ...trialProgressFor(running, () => label, o.epochs, () => (parallel ? undefined : { done: n.finished, total, started })),
      });
      o.record(t);
      n.finished++;
      running.finish(label, t.outcome === 'ok'
        ? `${label}: val acc ${fmtPct(t.valAccuracy)}, ${fmtRate(t.samplesPerSecond)} samples/s${onDevice(t)}`
        : `${label}: ${t.outcome} (${t.reason ?? 'no reason'})`, t.outcome === 'ok' ? true : t.outcome === 'diverged' ? 'warn' : false);
    } catch (e) {
      if (isBstuneError(e) && e.code === 'BSTUNE_INTERRUPTED') return;
      if (isBstuneError(e) && e.code === 'BSTUNE_QUEUE_LOST') lost ??= e;
      else failure ??= e;
      stop.abort();
    }
  }));
  if (failure !== null) throw failure;
  return { interrupted: ctx.signal.aborted, lost };
}

/** With --gpus on WebGPU each trial has an adapter of its own: the line names it. */
function onDevice(t: TrialResult): string {
  return t.adapter !== undefined && t.ranOn?.gpu != null ? ` on adapter ${t.ranOn.gpu} (${t.adapter})` : '';
}

/** trialProgress for a run whose label is known only once it starts. */
function trialProgressFor(running: RunningTrials, label: () => string, epochs: number, position: () => SweepPosition | undefined): Pick<TrialHooks, 'onStep' | 'onEpoch'> {
  const hooks = (): Pick<TrialHooks, 'onStep' | 'onEpoch'> => trialProgress(running.for(label()), label(), epochs, position());
  return { onStep: (m) => hooks().onStep?.(m), onEpoch: (r) => hooks().onEpoch?.(r) };
}

function eta(started: number, done: number, total: number): string {
  if (done === 0) return '';
  const per = (performance.now() - started) / 1000 / done;
  return ` (sweep ETA ${formatDuration(per * (total - done))})`;
}
