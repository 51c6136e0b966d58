import { runTrial } from '../../trial/run.js';
import { makeDocument } from '../../report/document.js';
import { trialProgress } from '../../report/trial-progress.js';
import { renderTrainSummary } from '../../report/train-summary.js';
import { BstuneError } from '../../errors.js';
import { prepare, warmupWarnings } from './prepare.js';
import type { Context, CommandOutput } from '../context.js';

export async function run(ctx: Context): Promise<CommandOutput> {
  const p = await prepare(ctx);
  const batchSize = ctx.args.batchSize ?? p.config.optimizer.baseBatchSize;
  const accumulate = p.config.training.accumulate;
  if (batchSize * accumulate > p.trainCount) {
    if (accumulate > 1) {
      throw new BstuneError('BSTUNE_USAGE', `effective batch ${batchSize} × ${accumulate} (training.accumulate) = ${batchSize * accumulate} is larger than the training set (${p.trainCount} samples)`, ctx.args.batchSize !== undefined ? '--batch-size' : 'training.accumulate');
    }
    const from = ctx.args.batchSize !== undefined ? '--batch-size' : 'optimizer.baseBatchSize';
    throw new BstuneError('BSTUNE_USAGE', `batch size ${batchSize} is larger than the training set (${p.trainCount} samples${p.config.data.trainLimit !== undefined ? `, data.trainLimit / --train-limit ${p.config.data.trainLimit}` : ''})`, from);
  }
  const warnings = warmupWarnings(ctx, p, [batchSize]);
  const hooks = trialProgress(ctx.progress, `batch ${batchSize}`, p.config.training.epochs);
  ctx.progress.start(`batch ${batchSize}: starting trial…`);
  const trial = await runTrial({ config: p.config, backend: p.backend.name, batchSize, mode: 'full', seed: p.config.training.seed }, { ...hooks, signal: ctx.signal, verbose: ctx.args.common.verbose });
  ctx.progress.done(`batch ${batchSize}: ${trial.outcome}${trial.reason ? ` (${trial.reason})` : ''}`, trial.outcome === 'ok' ? true : trial.outcome === 'diverged' ? 'warn' : false);
  const document = makeDocument('train', { config: p.config, configPath: p.configPath, backend: p.backend, data: p.data, trials: [trial], warnings: p.warnings }, { warnings });
  const ok = trial.outcome === 'ok';
  return {
    document, human: renderTrainSummary(trial, p, ctx.stdout), exitCode: ok ? 0 : 1,
    ...(ok ? {} : { error: `training at batch ${batchSize} ended with ${trial.outcome}: ${trial.reason ?? 'no reason given'}` }),
  };
}
