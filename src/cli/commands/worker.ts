import { ExitCode } from '../../errors.js';
import { bstuneVersion } from '../../version.js';
import type { Context, CommandOutput } from '../context.js';

/** Runs until Ctrl-C / SIGTERM; a stop hands running trials back to the queue and exits 0. */
export async function run(ctx: Context): Promise<CommandOutput> {
  const { runWorker } = await import('../../queue/worker.js');
  const { trials } = await runWorker({
    queue: ctx.args.queue!,
    parallel: ctx.args.parallel,
    gpus: ctx.args.gpus,
    stallTimeoutSeconds: ctx.args.stallTimeout ?? 30,
    signal: ctx.signal,
    verbose: ctx.args.common.verbose,
    log: (line, ok) => (ok === undefined ? ctx.progress.info(line) : ctx.progress.done(line, ok)),
    status: (line) => ctx.progress.start(line),
  });
  ctx.progress.info(`worker stopped after ${trials} trial${trials === 1 ? '' : 's'}`);
  // The worker has no --json: its record is each trial, returned to the coordinator.
  const document = { schemaVersion: 1, command: 'worker', bstuneVersion, trials } as unknown as CommandOutput['document'];
  return { document, human: '', exitCode: ExitCode.ok };
}
