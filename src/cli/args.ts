import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BstuneError } from '../errors.js';
import { parseSize } from '../report/stats.js';
import { backendNames } from '../config/backends.js';
import type { Override } from '../config/load.js';
import { bstuneVersion } from '../version.js';
import { parseGpus } from '../trial/slots.js';
import { parseQueueUrl } from '../queue/url.js';
import { MAX_SEED } from '../data/seed.js';

export type CommandName = 'find-max' | 'sweep' | 'train' | 'recommend' | 'worker' | 'config-check' | 'config-schema' | 'report' | 'doctor';

export interface CommonOptions {
  config?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

export interface RunArgs {
  kind: 'run';
  command: CommandName;
  common: CommonOptions;
  /** Config values set by flags; they win over the file. */
  overrides: Override[];
  batchSize?: number;
  out?: string;
  resume?: string;
  /** recommend: steps per candidate run and rate probe (equal-steps budget). */
  probeSteps?: number;
  /** recommend: seeds per learning-rate rule. */
  probeRepeats?: number;
  /** report: the results file to read. */
  results?: string;
  /** HTML report to write (report, sweep, find-max, recommend). */
  html?: string;
  csv?: string;
  epochsCsv?: string;
  configHash?: string;
  /** find-max: predict the largest batch for a device of this many bytes. */
  deviceMemory?: number;
  /** --parallel: trials at once on this machine (sweep, worker). */
  parallel?: number;
  /** --gpus: one device per trial (CUDA_VISIBLE_DEVICES; a WebGPU adapter index). */
  gpus?: string[];
  /** --queue redis://HOST:PORT, as given. */
  queue?: string;
  /** worker --stall-timeout: seconds before a silent worker's trial goes to another worker. */
  stallTimeout?: number;
  /** find-max: the effective batch to plan micro-batch × accumulation for. */
  targetBatch?: number;
}
export type ParsedArgs = RunArgs | { kind: 'output'; text: string };

const MAX_INT = 2 ** 31 - 1;
function intParser(what: string, min: number, max = MAX_INT) {
  return (v: string): number => {
    if (!/^\s*\d+\s*$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`${what} must be a whole number >= ${min}`);
    // "must be a whole number >= 1" read wrong for 99999999999, which is one.
    if (Number(v) > max) throw new InvalidArgumentError(`${what} must be at most ${max}`);
    return Number(v);
  };
}
/**
 * A file or folder flag's value. Commander takes the next word even when it is an option
 * (`report r.jsonl --html --json` once wrote a report named "--json"): refuse that instead.
 * A path that really starts with a dash can be written ./-name.
 */
const pathArg = (v: string): string => {
  if (/^--?[a-z]/i.test(v)) throw new InvalidArgumentError('a file or folder name, not an option');
  // `--csv -` wrote a file named "-" where a Unix habit expects stdout.
  if (v.trim() === '-') throw new InvalidArgumentError('a file name: "-" (stdout) is not supported here; ./- names a file called -');
  return v;
};
/** `90` or `90%` where a fraction was meant (10 to 100, or with %): the fraction it stands for, as a hint. */
const percentHint = (v: string): string => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(v);
  if (!m || (m[2] !== '%' && Number(m[1]) < 10) || Number(m[1]) > 100) return '';
  return `: ${Number(m[1]) / 100} for ${m[1]}%`;
};
const fraction = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected a fraction in [0, 1)${percentHint(v)}`);
  return n;
};
/** Matches sweep.targetAccuracy in the schema: (0, 1], so 1.0 (every digit right) is allowed. */
const accuracy = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError(`expected an accuracy in (0, 1]${percentHint(v)}`);
  return n;
};
const seconds = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
};
/** Checked here, kept as written: the config loader converts it (and a resume hint repeats it). */
const size = (v: string): string => {
  try {
    parseSize(v);
    return v.trim();
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
/** Flag parsers that reuse the shell's own checks, so their messages stay in one place. */
const gpuList = (v: string): string[] => {
  try {
    return parseGpus(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const queueUrl = (v: string): string => {
  try {
    parseQueueUrl(v);
    return v;
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const parallelOptions = (cmd: Command): Command => cmd
  .option('--parallel <n>', 'trials at once on this machine (capped by cores and memory; default 1, or one per GPU with --gpus)', intParser('parallel', 1))
  .option('--gpus <list>', 'GPU ids, one trial per device at a time (CUDA_VISIBLE_DEVICES for tensorflow-gpu, adapter indices for webgpu)', gpuList);
const parallelExtra = (opts: Record<string, unknown>): Partial<RunArgs> => ({
  ...(typeof opts.parallel === 'number' ? { parallel: opts.parallel } : {}),
  ...(Array.isArray(opts.gpus) ? { gpus: opts.gpus as string[] } : {}),
  ...(typeof opts.queue === 'string' ? { queue: opts.queue } : {}),
});

export function parseSizes(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  // `--sizes 16, 32`: the shell ends the value at the space, so it arrives as "16,".
  if (/^[\d,\s]*\d\s*,$/.test(v)) throw new InvalidArgumentError('ends with a comma (a space ends the value): write the list without spaces, e.g. --sizes 16,32,64,128');
  if (v.trim() === '' || parts.some((p) => p === '')) throw new InvalidArgumentError('expected a comma-separated list like 16,32,64,128');
  const seen = new Set<number>();
  return parts.map((p) => {
    if (/^\d+-\d+$/.test(p)) throw new InvalidArgumentError(`"${p}" is a range: list each size, e.g. --sizes 16,32,64,128`);
    if (!/^\d+$/.test(p) || Number(p) < 1) throw new InvalidArgumentError(`"${p}" is not a positive whole number`);
    if (Number(p) > MAX_INT) throw new InvalidArgumentError(`${p} is too large: at most ${MAX_INT}`);
    const n = Number(p);
    if (seen.has(n)) throw new InvalidArgumentError(`${n} is listed twice`);
    seen.add(n);
    return n;
  });
}

/** flag attribute → config path; the flag name is kept so errors can point at it. */
const configFlags: Record<string, { path: string[]; flag: string }> = {
  backend: { path: ['device', 'backend'], flag: '--backend' },
  memoryLimit: { path: ['device', 'memoryLimit'], flag: '--memory-limit' },
  epochs: { path: ['training', 'epochs'], flag: '--epochs' },
  seed: { path: ['training', 'seed'], flag: '--seed' },
  accumulate: { path: ['training', 'accumulate'], flag: '--accumulate' },
  threads: { path: ['training', 'threads'], flag: '--threads' },
  trainLimit: { path: ['data', 'trainLimit'], flag: '--train-limit' },
  start: { path: ['search', 'start'], flag: '--start' },
  min: { path: ['search', 'min'], flag: '--min' },
  steps: { path: ['search', 'stepsPerTrial'], flag: '--steps' },
  refine: { path: ['search', 'refine'], flag: '--refine' },
  margin: { path: ['search', 'margin'], flag: '--margin' },
  trialTimeout: { path: ['search', 'trialTimeout'], flag: '--trial-timeout' },
  sizes: { path: ['sweep', 'sizes'], flag: '--sizes' },
  repeats: { path: ['sweep', 'repeats'], flag: '--repeats' },
  targetAccuracy: { path: ['sweep', 'targetAccuracy'], flag: '--target-accuracy' },
  budget: { path: ['sweep', 'budget'], flag: '--budget' },
};

/** `training`: the flags of commands that train; `epochs`: find-max and recommend train steps, not epochs. */
function common(cmd: Command, training: boolean, epochs = true, config = true): Command {
  if (config) cmd.option('-c, --config <file>', 'experiment config (default: ./bstune.yaml, else the packaged configs/mnist-mlp.yaml)', pathArg);
  cmd
    .option('--json', 'print one JSON document on stdout (everything else goes to stderr)')
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', 'trial logs and stack traces on stderr');
  if (!training) return cmd;
  cmd
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(backendNames))
    .option('--memory-limit <size>', 'count a trial as out of memory above this peak tensor memory (e.g. 512MiB, 2GiB)', size);
  if (epochs) cmd.option('--epochs <n>', 'training epochs', intParser('epochs', 1));
  return cmd
    .option('--seed <n>', 'random seed (weights, shuffling, split)', intParser('seed', 0, MAX_SEED))
    .option('--accumulate <n>', 'gradient accumulation: average the gradients of N micro-batches per optimizer step (training.accumulate)', intParser('accumulate', 1))
    .option('--threads <n>', 'training threads per trial on wasm, each training a shard of every batch (training.threads; default: as many as the batch has work for, up to the cores per trial; find-max: 1)', intParser('threads', 1))
    .option('--train-limit <n>', 'use at most this many training samples (quick runs)', intParser('train-limit', 1))
    .option('--data-dir <dir>', 'read the full MNIST IDX files from this folder (sets data.source: mnist-full)', pathArg);
}

/** Commands that train a number of steps, not epochs: what to use instead of --epochs. */
const stepsInstead: Record<string, string> = {
  'find-max': 'find-max trains each trial for search.stepsPerTrial steps, not epochs: use --steps N',
  recommend: 'recommend trains every run for the same number of steps, not epochs: use --probe-steps N',
};

/** Every command, for the messages that list them. */
const COMMANDS = 'find-max, sweep, train, recommend, report, doctor, worker, config check or config schema';
const ROOT_COMMANDS = ['find-max', 'sweep', 'train', 'recommend', 'report', 'doctor', 'worker', 'config'];

/**
 * Commander's messages (`option '-b, --batch-size <n>' argument '0' is invalid. ...`) put the
 * flag inside the sentence; bstune's contract is `<what> (<where>)` with the flag as the where.
 */
function commanderUsageError(e: CommanderError, argv: string[]): BstuneError {
  const [first = '', ...rest] = e.message.replace(/^error: /, '').split('\n');
  const hint = /^\(Did you mean (.+)\?\)$/.exec(rest.join(' ').trim())?.[1];
  const suggestion = hint ? `; did you mean ${hint}?` : '';
  const flagOf = (spec: string) => spec.split(/[ ,]+/).filter((w) => w.startsWith('-')).pop() ?? spec;
  let m: RegExpExecArray | null;
  if ((m = /^option '(.+?)' argument '([\s\S]*)' is invalid\. ?([\s\S]*)$/.exec(first))) {
    const flag = flagOf(m[1]!);
    // `--epochs --json`: commander takes the next word as the value even when it is an option.
    if (/^--?[a-z]/i.test(m[2]!)) return new BstuneError('BSTUNE_USAGE', `${flag} needs a value, got the option ${m[2]}`, flag);
    const why = m[3] ? m[3].charAt(0).toLowerCase() + m[3].slice(1).replace(/\.$/, '') : 'not accepted';
    return new BstuneError('BSTUNE_USAGE', `invalid value "${m[2]}": ${why}`, flag);
  }
  if ((m = /^required option '(.+?)' not specified$/.exec(first))) {
    return new BstuneError('BSTUNE_USAGE', `${flagOf(m[1]!)} is required`, flagOf(m[1]!));
  }
  if ((m = /^option '(.+?)' argument missing$/.exec(first))) {
    return new BstuneError('BSTUNE_USAGE', `${flagOf(m[1]!)} needs a value`, flagOf(m[1]!));
  }
  if ((m = /^missing required argument '(.+)'$/.exec(first))) return new BstuneError('BSTUNE_USAGE', `missing the ${m[1]} file argument`, `<${m[1]}>`);
  if ((m = /^unknown option '(.+)'$/.exec(first))) {
    const steps = stepsInstead[argv[0] ?? ''];
    if (steps && /^--epochs(=|$)/.test(m[1]!)) return new BstuneError('BSTUNE_USAGE', `${steps} (--epochs is for sweep and train)`, '--epochs');
    if (argv[0] === 'doctor' && /^(-c|--config)(=|$)/.test(m[1]!)) return new BstuneError('BSTUNE_USAGE', 'doctor checks this machine (every backend, GPU and library), whatever a config says: leave out --config', m[1]);
    // `bstune --json find-max`: the options of a command come after it.
    if (argv[0] === m[1]) {
      const at = argv.findIndex((a) => ROOT_COMMANDS.includes(a));
      if (at > 0 && /^(-c|--config|--json|-q|--quiet|-v|--verbose)(=|$)/.test(m[1]!)) {
        return new BstuneError('BSTUNE_USAGE', `options go after the command: bstune ${[argv[at], ...argv.slice(0, at), ...argv.slice(at + 1)].join(' ')}`, m[1]);
      }
      if (m[1] === '-v') return new BstuneError('BSTUNE_USAGE', 'unknown option; the version is bstune --version (-v is --verbose, an option of each command)', m[1]);
    }
    return new BstuneError('BSTUNE_USAGE', `unknown option${suggestion}`, m[1]);
  }
  if ((m = /^unknown command '(.+)'$/.exec(first))) {
    if (m[1] === 'version') return new BstuneError('BSTUNE_USAGE', 'unknown command; the version is bstune --version', m[1]);
    return new BstuneError('BSTUNE_USAGE', `unknown command${suggestion || `; commands: ${COMMANDS}`}`, m[1]);
  }
  if ((m = /^too many arguments for '(.+?)'\. Expected (\d+) arguments? but got (\d+)\.$/.exec(first))) {
    // `--sizes 16 32 64`: commander takes 16 and leaves 32 64 as stray arguments.
    const i = argv.findIndex((a) => a === '--sizes');
    const strays = i >= 0 ? argv.slice(i + 2).filter((a, k, all) => /^\d+$/.test(a) && all.slice(0, k).every((b) => /^\d+$/.test(b))) : [];
    if (strays.length > 0 && /^\d+$/.test(argv[i + 1] ?? '')) {
      return new BstuneError('BSTUNE_USAGE', `batch sizes are one comma-separated list: --sizes ${[argv[i + 1], ...strays].join(',')}`, '--sizes');
    }
    const hintFile = m[2] === '0' ? '; give a config file with --config FILE' : '';
    return new BstuneError('BSTUNE_USAGE', `too many arguments: expected ${m[2]}, got ${m[3]}${hintFile}`, m[1]);
  }
  return new BstuneError('BSTUNE_USAGE', `${first}${suggestion}`);
}

const outAndResume = (opts: Record<string, unknown>): Partial<RunArgs> => ({
  ...(typeof opts.out === 'string' ? { out: opts.out } : {}),
  ...(typeof opts.resume === 'string' ? { resume: opts.resume } : {}),
});

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

/** The whole command line, as data. Pure: no config is read and nothing is printed. */
export function parseArgs(argv: string[]): ParsedArgs {
  let result: ParsedArgs | null = null;
  let captured = '';
  const program = new Command('bstune')
    .description('Measure batch-size advice on your own TensorFlow.js model.')
    .version(bstuneVersion, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (captured += s), writeErr: (s) => (captured += s), outputError: () => {} })
    .showSuggestionAfterError(true)
    .addHelpText('after', examples([
      'bstune find-max                                  # largest batch that fits (embedded MNIST, MLP)',
      'bstune find-max -c configs/mnist-cnn.yaml --memory-limit 32MiB --refine',
      'bstune sweep --sizes 16,32,64,128 --epochs 3     # compare memory, speed, validation accuracy',
      'bstune train --batch-size 64 --json > run.json',
      'bstune config check configs/mnist-cnn.yaml',
      'bstune report runs.jsonl --html report.html      # charts from a sweep\'s results file',
    ]));

  const finish = (command: CommandName, opts: Record<string, unknown>, extra: Partial<RunArgs> = {}) => {
    const overrides: Override[] = [];
    for (const [key, { path, flag }] of Object.entries(configFlags)) {
      if (opts[key] !== undefined) overrides.push({ path, value: opts[key], flag });
    }
    if (typeof opts.dataDir === 'string') {
      overrides.push({ path: ['data', 'source'], value: 'mnist-full', flag: '--data-dir' }, { path: ['data', 'idxDir'], value: opts.dataDir, flag: '--data-dir' });
    }
    result = {
      kind: 'run', command, overrides,
      common: { json: opts.json === true, quiet: opts.quiet === true, verbose: opts.verbose === true, ...(typeof opts.config === 'string' ? { config: opts.config } : {}) },
      ...extra,
    };
  };

  common(program.command('find-max'), true, false)
    .description('find the largest batch size that trains without running out of memory')
    .option('--start <n>', 'first batch size to try (search.start, default 512)', intParser('start', 1))
    .option('--min <n>', 'smallest batch size to try (search.min)', intParser('min', 1))
    .option('--steps <n>', 'training steps per trial, at least 2 (search.stepsPerTrial)', intParser('steps', 2))
    .option('--refine', 'bisect between the largest fit and the smallest OOM')
    .option('--margin <fraction>', 'take this fraction off the answer, for headroom', fraction)
    .option('--trial-timeout <seconds>', 'stop a trial after this long (counts as timeout)', seconds)
    .option('--html <file>', 'also write an HTML report with charts (see bstune report)', pathArg)
    .option('--target-batch <n>', 'plan micro-batch × accumulation to train at this effective batch, and check it with one trial', intParser('target-batch', 1))
    .option('--device-memory <size>', 'predict the largest batch for a device of this size from the fitted memory model (e.g. 16GiB)', size)
    .option('--out <file>', 'results file (JSONL, one line per finished trial; default .bstune/<name>-find-max-<time>.jsonl)', pathArg)
    .option('--resume <file>', 'continue a search from its results file, reusing the trials that fitted or ran out of memory', pathArg)
    .addHelpText('after', examples([
      'bstune find-max',
      'bstune find-max -c configs/mnist-cnn.yaml --memory-limit 64MiB --device-memory 16GiB',
      'bstune find-max -c configs/mnist-cnn.yaml --memory-limit 64MiB --target-batch 1024',
      'bstune find-max -c configs/mnist-cnn.yaml --memory-limit 32MiB --refine',
      'bstune find-max --backend tensorflow-gpu --margin 0.1 --json',
      'bstune find-max -c configs/mnist-cnn.yaml --resume .bstune/mnist-cnn-find-max-….jsonl',
    ]))
    .action((opts: Record<string, unknown>) => finish('find-max', opts, {
      ...outAndResume(opts),
      ...(typeof opts.html === 'string' ? { html: opts.html } : {}),
      // The size parser keeps the text as written; the search wants bytes.
      ...(typeof opts.deviceMemory === 'string' ? { deviceMemory: parseSize(opts.deviceMemory) } : {}),
      ...(typeof opts.targetBatch === 'number' ? { targetBatch: opts.targetBatch } : {}),
    }));

  parallelOptions(common(program.command('sweep'), true))
    .description('train each batch size (learning rate scaled, with warmup) and compare memory, speed and validation accuracy')
    .option('--sizes <list>', 'batch sizes, comma-separated (sweep.sizes)', parseSizes)
    .option('--repeats <n>', 'runs per size with different seeds; the table shows mean ± std', intParser('repeats', 1))
    .option('--target-accuracy <fraction>', 'validation accuracy for the "epochs to target" column', accuracy)
    .addOption(new Option('--budget <kind>', 'what every size gets the same of: epochs, steps (those of optimizer.baseBatchSize), or time (that of the first size) (sweep.budget)').choices(['epochs', 'steps', 'time']))
    .option('--out <file>', 'results file (JSONL, one line per finished run; default .bstune/<name>-<time>.jsonl)', pathArg)
    .option('--resume <file>', 'continue a sweep from its results file, skipping finished runs', pathArg)
    .option('--html <file>', 'also write an HTML report with charts (see bstune report)', pathArg)
    .option('--queue <url>', 'send the runs to bstune workers through this Redis (redis://HOST:PORT) instead of running them here', queueUrl)
    .addHelpText('after', examples([
      'bstune sweep --sizes 16,32,64,128 --epochs 3',
      'bstune sweep --sizes 32,128,512 --budget steps   # large batches get as many steps as the base size',
      'bstune sweep --sizes 16,32,64,128 --parallel 2   # two trials at once',
      'bstune sweep -c configs/mnist-cnn.yaml --repeats 3 --out cnn.jsonl',
      'bstune sweep -c configs/mnist-cnn.yaml --repeats 3 --resume cnn.jsonl',
      'bstune sweep --sizes 64,128,256,512 --queue redis://10.0.0.5:6379  # run on `bstune worker` machines',
    ]))
    .action((opts: Record<string, unknown>) => {
      if (opts.queue !== undefined && (opts.parallel !== undefined || opts.gpus !== undefined)) {
        throw new BstuneError('BSTUNE_USAGE', 'with --queue the workers run the trials: give --parallel/--gpus to `bstune worker`', opts.parallel !== undefined ? '--parallel' : '--gpus');
      }
      finish('sweep', opts, {
        ...outAndResume(opts),
        ...(typeof opts.html === 'string' ? { html: opts.html } : {}),
        ...parallelExtra(opts),
      });
    });

  common(program.command('train'), true)
    .description('train at one batch size and report what was measured')
    .option('-b, --batch-size <n>', 'batch size (default: optimizer.baseBatchSize)', (v: string) => {
      // `train -b 64,128`: train runs one size; sweep compares several.
      if (/^\s*\d+(\s*,\s*\d+)+\s*$/.test(v)) throw new InvalidArgumentError(`train runs one batch size; to compare several: bstune sweep --sizes ${v.replace(/\s/g, '')}`);
      return intParser('batch-size', 1)(v);
    })
    .addHelpText('after', examples(['bstune train --batch-size 64 --epochs 5', 'bstune train -c configs/mnist-cnn.yaml -b 128 --json']))
    .action((opts: Record<string, unknown>) => finish('train', opts, typeof opts.batchSize === 'number' ? { batchSize: opts.batchSize } : {}));

  common(program.command('recommend'), true, false)
    .description('recommend a batch size and learning rate, with what each candidate costs (runs find-max, the noise scale and short probes)')
    .option('--start <n>', 'first batch size find-max tries (search.start, default 512)', intParser('start', 1))
    .option('--probe-steps <n>', 'training steps of every candidate run and rate probe (default: one epoch at optimizer.baseBatchSize)', intParser('probe-steps', 4))
    .option('--probe-repeats <n>', 'seeds per learning-rate rule; differences within one sd are reported as noise (default 2)', intParser('probe-repeats', 1))
    .option('--target-accuracy <fraction>', 'validation accuracy for "seconds to target" (default: 99% of the best candidate)', accuracy)
    .option('--html <file>', 'also write an HTML report with charts of the candidate runs and the recommendation (see bstune report)', pathArg)
    .addHelpText('after', examples([
      'bstune recommend',
      'bstune recommend -c configs/mnist-cnn.yaml --json > rec.json',
      'bstune recommend --memory-limit 64MiB --probe-repeats 3',
    ]))
    .action((opts: Record<string, unknown>) => finish('recommend', opts, {
      ...(typeof opts.html === 'string' ? { html: opts.html } : {}),
      ...(typeof opts.probeSteps === 'number' ? { probeSteps: opts.probeSteps } : {}),
      ...(typeof opts.probeRepeats === 'number' ? { probeRepeats: opts.probeRepeats } : {}),
    }));

  program.command('report')
    .description('charts and spreadsheets from a results file: an HTML report (no network needed to open it), CSV per run and per epoch')
    .argument('<results>', 'results file (JSONL) written by sweep or find-max (--out)')
    .option('--html <file>', 'write the HTML report here (default, when no output is named: the results file with .html)', pathArg)
    .option('--csv <file>', 'write one CSV row per run', pathArg)
    .option('--epochs-csv <file>', 'write one CSV row per epoch of every run', pathArg)
    .option('--config-hash <hash>', 'when the file mixes configs, report the runs of this one (a prefix is enough)')
    .option('--target-accuracy <fraction>', 'validation accuracy for the time-to-target chart (default: 99% of the best)', accuracy)
    .option('--memory-limit <size>', 'mark this memory limit (default: the one the runs used)', size)
    .option('--json', 'print one JSON document on stdout (everything else goes to stderr)')
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', 'chart layout warnings and stack traces on stderr')
    .addHelpText('after', examples([
      'bstune report cnn.jsonl --html cnn.html',
      'bstune report cnn.jsonl --csv runs.csv --epochs-csv epochs.csv',
      'bstune sweep --sizes 16,32,64,128 --out runs.jsonl --html runs.html',
    ]))
    .action((results: string, opts: Record<string, unknown>) => finish('report', opts, {
      results,
      ...Object.fromEntries((['html', 'csv', 'epochsCsv', 'configHash'] as const).filter((k) => typeof opts[k] === 'string').map((k) => [k, opts[k] as string])),
    }));

  // doctor checks the machine whatever the config says (it took -c and ignored it, even a missing file).
  common(program.command('doctor'), false, true, false)
    .description('check which backends load, which GPUs exist, and the CUDA/cuDNN libraries; print the commands that fix what is missing')
    .addHelpText('after', examples(['bstune doctor', 'bstune doctor --json']))
    .action((opts: Record<string, unknown>) => finish('doctor', opts));

  parallelOptions(program.command('worker'))
    .description('run trials from a queue that `bstune sweep --queue` fills, until stopped (Ctrl-C / SIGTERM)')
    .requiredOption('--queue <url>', 'the Redis the coordinator uses (redis://HOST:PORT)', queueUrl)
    .option('--stall-timeout <seconds>', 'a trial whose worker stops answering this long goes to another worker (default 30)', seconds)
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', 'trial logs and stack traces on stderr')
    .addHelpText('after', examples([
      'bstune worker --queue redis://10.0.0.5:6379',
      'bstune worker --queue redis://10.0.0.5:6379 --gpus 0,1,2,3',
    ]))
    .action((opts: Record<string, unknown>) => finish('worker', opts, {
      ...parallelExtra(opts),
      ...(typeof opts.stallTimeout === 'number' ? { stallTimeout: opts.stallTimeout } : {}),
    }));

  const config = program.command('config').description('check an experiment file or print its JSON Schema')
    .addHelpText('after', examples(['bstune config check configs/mnist-cnn.yaml', 'bstune config schema > bstune.schema.json']));
  common(config.command('check').argument('[file]', 'config file (same as --config)'), false)
    .description('validate a config and print it resolved, with defaults filled in')
    .addHelpText('after', examples(['bstune config check configs/mnist-cnn.yaml', 'bstune config check --json my-experiment.yaml']))
    .action((file: string | undefined, opts: Record<string, unknown>) => {
      if (file !== undefined && typeof opts.config === 'string' && file !== opts.config) {
        throw new BstuneError('BSTUNE_USAGE', `give the config file once: as an argument (${file}) or with --config (${opts.config}), not both`, '--config');
      }
      finish('config-check', { ...opts, ...(file !== undefined ? { config: file } : {}) });
    });
  // It prints one fixed document: no config to read, nothing to report on.
  config.command('schema')
    .description('print the JSON Schema of the config file')
    .addHelpText('after', examples(['bstune config schema > bstune.schema.json        # then: # yaml-language-server: $schema=./bstune.schema.json']))
    .action((opts: Record<string, unknown>) => finish('config-schema', opts));

  // Commander answers `help sweeep` with the root help and exit 0: say the command is unknown, as `bstune sweeep` does.
  // And `help config check` with config's help: `help A B` is `A B --help`.
  if (argv[0] === 'help' && argv[1] !== undefined && !argv[1].startsWith('-')) {
    if (!program.commands.some((c) => c.name() === argv[1])) return parseArgs(argv.slice(1));
    return parseArgs([...argv.slice(1).filter((w) => !w.startsWith('-')), '--help']);
  }
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return { kind: 'output', text: captured };
      // `bstune help [command]` asks for help; a bare `bstune` or `bstune config` is missing its command.
      if (e.code === 'commander.help' && argv.includes('help')) return { kind: 'output', text: captured };
      if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') {
        throw new BstuneError('BSTUNE_USAGE', `a command is needed: ${argv[0] === 'config' ? 'config check or config schema' : COMMANDS} (see bstune --help)`);
      }
      throw commanderUsageError(e, argv);
    }
    throw e;
  }
  if (result === null) throw new BstuneError('BSTUNE_USAGE', `a command is needed: ${COMMANDS} (see bstune --help)`);
  return result;
}
