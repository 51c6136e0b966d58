import { parseArgs, type ParsedArgs } from './args.js';
import { isBstuneError, ExitCode } from '../errors.js';
import { checkEnv } from '../env.js';
import { Progress } from '../report/progress.js';
import type { Context, CommandOutput } from './context.js';

const commands = {
  'find-max': () => import('./commands/find-max.js'),
  sweep: () => import('./commands/sweep.js'),
  train: () => import('./commands/train.js'),
  recommend: () => import('./commands/recommend.js'),
  report: () => import('./commands/report.js'),
  worker: () => import('./commands/worker.js'),
  'config-check': () => import('./commands/config-check.js'),
  'config-schema': () => import('./commands/config-check.js'),
  doctor: () => import('./commands/doctor.js'),
} as const;

/**
 * The single error boundary. Known errors print one line, `bstune: error: <what> (<where>)`,
 * and set the documented exit code; anything else is a bug and shows its stack only with
 * --verbose or DEBUG=bstune. On failure stdout stays empty, so `--json` pipes stay parseable.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const debug = /(^|,)bstune(,|$)/.test(process.env.DEBUG ?? '');
  let verbose = debug || argv.includes('--verbose') || argv.includes('-v');
  const controller = new AbortController();
  let signals = 0;
  // Only sweep and find-max keep a results file; a train run cut short has nothing finished to keep.
  let keeps = '';
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(ExitCode.interrupted);
    // On a terminal the line starts after the echoed ^C; in a pipe the last line already ended.
    process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}bstune: ${sig}: stopping${keeps} (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let progress: Progress | null = null;
  try {
    const parsed: ParsedArgs = parseArgs(argv);
    if (parsed.kind === 'run') keeps = parsed.command === 'sweep' || parsed.command === 'find-max' ? '; finished trials are kept in the results file' : parsed.command === 'train' ? '; the run is not saved' : '';
    if (parsed.kind === 'output') {
      process.stdout.write(parsed.text);
      return ExitCode.ok;
    }
    verbose = verbose || parsed.common.verbose;
    // Bad tuning variables are refused before anything runs (trial processes inherit them).
    checkEnv();
    progress = Progress.for(parsed.common);
    const ctx: Context = { cwd: process.cwd(), args: parsed, signal: controller.signal, progress, stdout: process.stdout, stderr: process.stderr };
    const mod = await commands[parsed.command]();
    const out: CommandOutput = await mod.run(ctx);
    progress.stop();
    process.stdout.write(parsed.common.json ? `${JSON.stringify(out.document, null, 2)}\n` : out.human);
    if (out.error) process.stderr.write(`bstune: error: ${out.error}\n`);
    return out.exitCode;
  } catch (e) {
    progress?.stop();
    if (isBstuneError(e)) {
      process.stderr.write(`bstune: error: ${e.line}\n`);
      if (verbose && e.cause instanceof Error) process.stderr.write(`${e.cause.stack}\n`);
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`bstune: error: unexpected failure: ${err.message.split('\n')[0]}${verbose ? '' : ' (run with --verbose for the stack trace)'}\n`);
    if (verbose) process.stderr.write(`${err.stack}\n`);
    return ExitCode.failure;
  } finally {
    // No trial process (not even a prewarmed spare) outlives the command.
    if (progress !== null) (await import('../trial/pool.js')).killAllTrials();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
