import { loadConfig } from '../../config/load.js';
import { chooseBackend, type BackendChoice } from '../../backend/resolve.js';
import { loadDataset } from '../../data/index.js';
import { warmupTooLong } from '../../train/schedule.js';
import type { Config } from '../../config/schema.js';
import { BstuneError } from '../../errors.js';
import { usableCores } from '../../trial/cores.js';
import { planThreads } from '../../trial/threads.js';
import { checkWebgpuAdapters } from '../../backend/webgpu/adapter.js';
import type { Context } from '../context.js';

export interface Prepared {
  config: Config;
  configPath: string;
  backend: BackendChoice;
  trainCount: number;
  validationCount: number;
  /** Classes of a one-index-per-sample data set, else null. */
  numClasses: number | null;
  data: string;
  /** Said on stderr at start (not with --quiet or --json) and kept in the JSON document's `warnings`. */
  warnings: string[];
}

/**
 * Config, backend and data, once, in the parent: the data load builds the binary cache
 * before any trial starts, so trials read it in milliseconds and never race to build it.
 */
export async function prepare(ctx: Context): Promise<Prepared> {
  const loaded = loadConfig(ctx.args.common.config, ctx.cwd, ctx.args.overrides);
  const { config } = loaded;
  ctx.progress.info(`config ${loaded.path} (${loaded.chosenBy})`);
  // With --gpus the webgpu probe also reads Dawn's adapter list (one child process, not two).
  const backend = chooseBackend(config.device.backend, undefined, undefined, undefined, ctx.args.gpus !== undefined);
  // Before the results file or any trial: every --gpus index must be an adapter Dawn can select.
  if (backend.name === 'webgpu' && ctx.args.gpus) checkWebgpuAdapters(ctx.args.gpus, backend.adapters ?? null);
  ctx.progress.info(`backend ${backend.name} (${backend.why}) on ${backend.device}`);
  if (backend.warning) ctx.progress.done(backend.warning, 'warn');
  const threadsNote = checkThreads(ctx, config.training.threads, backend.name);
  const warnings = threadsNote ? [threadsNote] : [];
  ctx.progress.start('loading MNIST…');
  const data = await loadDataset(config.data, {
    seed: config.training.seed,
    // A passing status goes on the spinner; a warning (an unwritable cache) must outlive it.
    onProgress: (m, kind) => {
      if (kind !== 'warning') return ctx.progress.update(m);
      warnings.push(m);
      if (!ctx.args.common.quiet && !ctx.args.common.json) ctx.stderr.write(`bstune: warning: ${m}\n`);
    },
  });
  ctx.progress.info(`data ${data.source}`);
  return { config, configPath: loaded.path, backend, trainCount: data.train.count, validationCount: data.validation.count, numClasses: data.numClasses, data: data.source, warnings };
}

/**
 * More training threads than this machine has cores is a mistake (exit 2); threads on a
 * backend other than wasm are one thread, said once.
 */
function checkThreads(ctx: Context, threads: number | null, backend: string): string | null {
  if (threads === null) return null;
  const where = ctx.args.overrides.some((o) => o.flag === '--threads') ? '--threads' : 'training.threads';
  const cores = usableCores();
  if (threads > cores) {
    throw new BstuneError('BSTUNE_USAGE', `${threads} training threads asked for, but this process may use ${cores} core${cores === 1 ? '' : 's'}`, where);
  }
  const plan = planThreads({ configured: threads, backend, cores, slots: 1, setting: where });
  if (plan.note && !ctx.args.common.quiet && !ctx.args.common.json) ctx.stderr.write(`bstune: warning: ${plan.note}\n`);
  return plan.note;
}

/**
 * One line per batch size whose warmup outlasts its run (it never trains at the scaled
 * rate): printed on stderr (not with --quiet or --json) and kept in the JSON document's `warnings`.
 */
export function warmupWarnings(ctx: Context, p: Prepared, sizes: number[]): string[] {
  const lines = sizes.flatMap((batchSize) => {
    const stepsPerEpoch = Math.max(1, Math.floor(p.trainCount / batchSize));
    const w = warmupTooLong(p.config.optimizer, { batchSize, stepsPerEpoch, totalSteps: stepsPerEpoch * p.config.training.epochs });
    return w === null ? [] : [w];
  });
  // --json keeps stderr quiet on success: the document's `warnings` carries them.
  if (!ctx.args.common.quiet && !ctx.args.common.json) for (const line of lines) ctx.stderr.write(`bstune: warning: ${line}\n`);
  return lines;
}
