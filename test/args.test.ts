import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { bstuneErrorFrom } from './helpers/thrown.js';
import { parseArgs, type RunArgs } from '../src/cli/args.js';

const common = { json: false, quiet: false, verbose: false };
type Row = [argv: string, expected: Partial<RunArgs> & { overrides?: RunArgs['overrides'] }];

/** argv in, resolved options out. Omitted fields must be absent (undefined) in the result. */
const rows: Row[] = [
  ['find-max', { command: 'find-max', common, overrides: [] }],
  ['sweep', { command: 'sweep', common, overrides: [] }],
  ['train', { command: 'train', common, overrides: [] }],
  ['config check', { command: 'config-check', common, overrides: [] }],
  ['config schema', { command: 'config-schema', common, overrides: [] }],
  ['config check my.yaml', { command: 'config-check', common: { ...common, config: 'my.yaml' }, overrides: [] }],
  ['config check my.yaml --config my.yaml', { command: 'config-check', common: { ...common, config: 'my.yaml' }, overrides: [] }],
  ['config check --json -c x.yaml', { command: 'config-check', common: { ...common, json: true, config: 'x.yaml' }, overrides: [] }],
  ['find-max --config a.yaml --json --quiet --verbose', { command: 'find-max', common: { config: 'a.yaml', json: true, quiet: true, verbose: true }, overrides: [] }],
  ['find-max -c a.yaml -q -v', { command: 'find-max', common: { config: 'a.yaml', json: false, quiet: true, verbose: true }, overrides: [] }],
  ['find-max --backend wasm', { overrides: [{ path: ['device', 'backend'], value: 'wasm', flag: '--backend' }] }],
  ['find-max --backend tensorflow-gpu', { overrides: [{ path: ['device', 'backend'], value: 'tensorflow-gpu', flag: '--backend' }] }],
  ['find-max --memory-limit 512MiB', { overrides: [{ path: ['device', 'memoryLimit'], value: '512MiB', flag: '--memory-limit' }] }],
  ['find-max --memory-limit 1.5GB', { overrides: [{ path: ['device', 'memoryLimit'], value: '1.5GB', flag: '--memory-limit' }] }],
  ['find-max --memory-limit 1048576', { overrides: [{ path: ['device', 'memoryLimit'], value: '1048576', flag: '--memory-limit' }] }],
  ['find-max --memory-limit 700KiB', { overrides: [{ path: ['device', 'memoryLimit'], value: '700KiB', flag: '--memory-limit' }] }],
  ['train --epochs 3', { command: 'train', overrides: [{ path: ['training', 'epochs'], value: 3, flag: '--epochs' }] }],
  ['train --seed 0', { overrides: [{ path: ['training', 'seed'], value: 0, flag: '--seed' }] }],
  ['train --seed 4294967295', { overrides: [{ path: ['training', 'seed'], value: 4294967295, flag: '--seed' }] }],
  ['train --train-limit 100', { overrides: [{ path: ['data', 'trainLimit'], value: 100, flag: '--train-limit' }] }],
  ['train --data-dir /data/mnist', {
    overrides: [
      { path: ['data', 'source'], value: 'mnist-full', flag: '--data-dir' },
      { path: ['data', 'idxDir'], value: '/data/mnist', flag: '--data-dir' },
    ],
  }],
  ['find-max --start 256', { overrides: [{ path: ['search', 'start'], value: 256, flag: '--start' }] }],
  ['find-max --min 8', { overrides: [{ path: ['search', 'min'], value: 8, flag: '--min' }] }],
  ['find-max --steps 2', { overrides: [{ path: ['search', 'stepsPerTrial'], value: 2, flag: '--steps' }] }],
  ['find-max --refine', { overrides: [{ path: ['search', 'refine'], value: true, flag: '--refine' }] }],
  ['find-max --margin 0.1', { overrides: [{ path: ['search', 'margin'], value: 0.1, flag: '--margin' }] }],
  ['find-max --margin 0', { overrides: [{ path: ['search', 'margin'], value: 0, flag: '--margin' }] }],
  ['find-max --trial-timeout 2.5', { overrides: [{ path: ['search', 'trialTimeout'], value: 2.5, flag: '--trial-timeout' }] }],
  ['sweep --sizes 16,32,64', { command: 'sweep', overrides: [{ path: ['sweep', 'sizes'], value: [16, 32, 64], flag: '--sizes' }] }],
  ['sweep --sizes 128', { overrides: [{ path: ['sweep', 'sizes'], value: [128], flag: '--sizes' }] }],
  ['sweep --sizes 8,4', { overrides: [{ path: ['sweep', 'sizes'], value: [8, 4], flag: '--sizes' }] }],
  ['sweep --repeats 3', { overrides: [{ path: ['sweep', 'repeats'], value: 3, flag: '--repeats' }] }],
  ['sweep --target-accuracy 0.95', { overrides: [{ path: ['sweep', 'targetAccuracy'], value: 0.95, flag: '--target-accuracy' }] }],
  ['sweep --target-accuracy 1', { overrides: [{ path: ['sweep', 'targetAccuracy'], value: 1, flag: '--target-accuracy' }] }],
  ['sweep --out r.jsonl', { command: 'sweep', out: 'r.jsonl', overrides: [] }],
  ['sweep --resume r.jsonl', { command: 'sweep', resume: 'r.jsonl', overrides: [] }],
  ['sweep --parallel 2', { command: 'sweep', parallel: 2, overrides: [] }],
  ['sweep --gpus 0,1 --parallel 1', { command: 'sweep', gpus: ['0', '1'], parallel: 1, overrides: [] }],
  ['sweep --queue redis://10.0.0.5:6379', { command: 'sweep', queue: 'redis://10.0.0.5:6379', overrides: [] }],
  ['worker --queue redis://127.0.0.1:6379 --gpus 2,3', { command: 'worker', queue: 'redis://127.0.0.1:6379', gpus: ['2', '3'], overrides: [] }],
  ['worker --queue rediss://h/1 --parallel 4 --stall-timeout 5 -q -v', { command: 'worker', queue: 'rediss://h/1', parallel: 4, stallTimeout: 5, common: { json: false, quiet: true, verbose: true }, overrides: [] }],
  ['train --batch-size 64', { command: 'train', batchSize: 64, overrides: [] }],
  ['train -b 1', { command: 'train', batchSize: 1, overrides: [] }],
  ['train --memory-limit=2GiB --epochs=2', {
    overrides: [
      { path: ['device', 'memoryLimit'], value: '2GiB', flag: '--memory-limit' },
      { path: ['training', 'epochs'], value: 2, flag: '--epochs' },
    ],
  }],
  ['train --epochs 1 --epochs 4', { overrides: [{ path: ['training', 'epochs'], value: 4, flag: '--epochs' }] }],
];

describe('parseArgs: argv in, options out', () => {
  it.each(rows)('%s', (argv, expected) => {
    const parsed = parseArgs(argv.split(' '));
    expect(parsed.kind).toBe('run');
    if (parsed.kind !== 'run') return;
    for (const [key, value] of Object.entries(expected)) expect(parsed[key as keyof RunArgs], key).toEqual(value);
    // Fields a row does not mention must not be set by accident.
    for (const key of ['batchSize', 'out', 'resume', 'parallel', 'gpus', 'queue', 'stallTimeout'] as const) if (!(key in expected)) expect(parsed[key], key).toBeUndefined();
  });

  it('covers every option each command declares', () => {
    const mentioned = new Set(rows.flatMap(([argv]) => argv.split(' ').filter((w) => w.startsWith('-')).map((w) => w.split('=')[0])));
    const declared = ['--config', '-c', '--json', '--quiet', '-q', '--verbose', '-v', '--backend', '--memory-limit', '--epochs', '--seed',
      '--train-limit', '--data-dir', '--start', '--min', '--steps', '--refine', '--margin', '--trial-timeout', '--sizes', '--repeats',
      '--target-accuracy', '--out', '--resume', '--batch-size', '-b', '--parallel', '--gpus', '--queue', '--stall-timeout'];
    expect(declared.filter((f) => !mentioned.has(f))).toEqual([]);
  });

  it.each([['--help'], ['-V'], ['--version'], ['find-max --help'], ['sweep --help']])('%s is output, not a run', (argv) => {
    const parsed = parseArgs(argv.split(' '));
    expect(parsed.kind).toBe('output');
    if (parsed.kind === 'output') expect(parsed.text.length).toBeGreaterThan(0);
  });
});

// The README said every command takes -c, --json, -q and -v; worker, report and config schema do not all.
describe('the README names the commands that take the common options', () => {
  const commands = ['find-max', 'sweep', 'train', 'recommend', 'report', 'doctor', 'worker', 'config check', 'config schema'];
  const takes = (command: string, flag: string): boolean => {
    const parsed = parseArgs([...command.split(' '), '--help']);
    if (parsed.kind !== 'output') throw new Error(`${command} --help was not output`);
    return new RegExp(`^\\s+(-\\w, )?${flag} `, 'm').test(parsed.text);
  };
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8').replace(/\s*\n\s*/g, ' ');
  it('-c, --config', () => {
    const listed = /(find-max(?:, [\w -]+)*) and ([\w -]+) take `-c, --config FILE`\./.exec(readme);
    expect(listed).not.toBeNull();
    const named = [...listed![1]!.split(', '), listed![2]!].map((c) => c.trim());
    expect(named.sort()).toEqual(commands.filter((c) => takes(c, '--config')).sort());
  });
  it('--json, -q, -v', () => {
    const without = (flag: string) => commands.filter((c) => !takes(c, flag));
    expect(readme.includes('Every command takes `--json`, `-q, --quiet` and `-v, --verbose`, except worker (no `--json`: it runs until stopped) and config schema (no options: it prints the JSON Schema).'), 'the README sentence on --json, -q, -v').toBe(true);
    expect(without('--json')).toEqual(['worker', 'config schema']);
    expect(without('--quiet')).toEqual(['config schema']);
    expect(without('--verbose')).toEqual(['config schema']);
    expect(readme.includes('`--json` on every command but `worker` and `config schema` (JSON already)'), 'the README line on --json').toBe(true);
  });
});

/** Bad command lines: each throws BSTUNE_USAGE naming the flag (or word) at fault. */
const bad: [argv: string[], where: RegExp][] = [
  [[], /./],
  [['frobnicate'], /frobnicate/],
  [['find-mx'], /find-mx/],
  [['find-max', '--bogus'], /--bogus/],
  [['find-max', 'extra.yaml'], /find-max/],
  [['find-max', '--epochs'], /--epochs/],
  [['find-max', '--epochs', '--json'], /--epochs/],
  [['find-max', '--epochs', '0'], /--epochs/],
  [['find-max', '--epochs', '1.5'], /--epochs/],
  [['find-max', '--epochs', 'abc'], /--epochs/],
  [['find-max', '--epochs', '99999999999'], /--epochs/],
  [['find-max', '--seed', '-1'], /--seed/],
  [['find-max', '--margin', '1'], /--margin/],
  [['find-max', '--margin', '-0.1'], /--margin/],
  [['find-max', '--steps', '1'], /--steps/],
  [['find-max', '--start', '0'], /--start/],
  [['find-max', '--min', '0'], /--min/],
  [['find-max', '--trial-timeout', '0'], /--trial-timeout/],
  [['find-max', '--backend', 'tpu'], /--backend/],
  [['find-max', '--memory-limit', '12XB'], /--memory-limit/],
  [['find-max', '--memory-limit', '-1MiB'], /--memory-limit/],
  [['find-max', '--memory-limit', ''], /--memory-limit/],
  [['find-max', '--memory-limit', '64'], /--memory-limit/],
  [['sweep', '--memory-limit', '1048575'], /--memory-limit/],
  [['find-max', '--train-limit', '0'], /--train-limit/],
  [['find-max', '--sizes', '16'], /--sizes/],
  [['sweep', '--sizes', '16,abc'], /--sizes/],
  [['sweep', '--sizes', ''], /--sizes/],
  [['sweep', '--sizes', '16,,32'], /--sizes/],
  [['sweep', '--sizes', '16,32,16'], /--sizes/],
  [['sweep', '--sizes', '0,16'], /--sizes/],
  [['sweep', '--repeats', '0'], /--repeats/],
  [['sweep', '--target-accuracy', '0'], /--target-accuracy/],
  [['sweep', '--target-accuracy', '1.5'], /--target-accuracy/],
  [['train', '--batch-size', '0'], /--batch-size/],
  [['train', '-b', '-3'], /--batch-size/],
  [['train', '--sizes', '16'], /--sizes/],
  [['config', 'check', 'a.yaml', '--config', 'b.yaml'], /--config/],
  [['config', 'check', '--epochs', '3'], /--epochs/],
  [['config', 'check', 'a.yaml', 'b.yaml'], /check/],
];

describe('parseArgs: bad argv', () => {
  it.each(bad)('%j', (argv, where) => {
    const err = bstuneErrorFrom(() => parseArgs(argv));
    expect(err.code).toBe('BSTUNE_USAGE');
    expect(err.exitCode).toBe(2);
    expect(err.line).not.toMatch(/\n/);
    expect(err.line).toMatch(where);
  });

  it('names the flag as the where, in parentheses', () => {
    expect(() => parseArgs(['sweep', '--sizes', '16,abc'])).toThrow(expect.objectContaining({ where: '--sizes', message: expect.stringMatching(/abc/) }));
    expect(() => parseArgs(['train', '-b', '0'])).toThrow(expect.objectContaining({ where: '--batch-size' }));
    expect(() => parseArgs(['train', '--epoch', '2'])).toThrow(expect.objectContaining({ where: '--epoch', message: expect.stringMatching(/did you mean --epochs/) }));
  });

  it('find-max --device-memory 16GiB reaches the command in bytes', () => {
    const parsed = parseArgs(['find-max', '--device-memory', '16GiB']);
    expect(parsed.kind === 'run' && parsed.deviceMemory).toBe(16 * 1024 ** 3);
  });

  it('find-max has no --epochs (it trains steps): the error says to use --steps', () => {
    expect(() => parseArgs(['find-max', '--epochs', '3'])).toThrow(expect.objectContaining({ where: '--epochs', message: expect.stringMatching(/stepsPerTrial steps, not epochs: use --steps N/) }));
    expect(() => parseArgs(['find-max', '--epochs=3'])).toThrow(expect.objectContaining({ where: '--epochs' }));
  });

  it('sweep --sizes 16 32 64 says the sizes are one comma-separated list', () => {
    for (const argv of [['sweep', '--sizes', '16', '32', '64'], ['sweep', '--sizes', '16', '32', '64', '--epochs', '1'], ['sweep', '--epochs', '1', '--sizes', '16', '32']]) {
      expect(() => parseArgs(argv)).toThrow(expect.objectContaining({ where: '--sizes', message: expect.stringMatching(/comma-separated list: --sizes 16,32(,64)?$/) }));
    }
  });

  it('config schema --help lists no option that means nothing there', () => {
    const parsed = parseArgs(['config', 'schema', '--help']);
    expect(parsed.kind).toBe('output');
    const text = parsed.kind === 'output' ? parsed.text : '';
    for (const flag of ['--config', '--json', '--quiet', '--verbose']) expect(text).not.toContain(flag);
  });
});

describe('parseArgs: help as a command', () => {
  it('`help` and `help sweep` print help instead of failing', () => {
    const all = parseArgs(['help']);
    expect(all.kind).toBe('output');
    expect((all as { text: string }).text).toMatch(/^Usage: bstune \[options\] \[command\]/);
    const sweep = parseArgs(['help', 'sweep']);
    expect((sweep as { text: string }).text).toMatch(/^Usage: bstune sweep \[options\]/);
    // A subcommand's help, not its parent's (`help config check` printed config's).
    expect((parseArgs(['help', 'config', 'check']) as { text: string }).text).toMatch(/^Usage: bstune config check \[options\] \[file\]/);
    expect((parseArgs(['help', 'config']) as { text: string }).text).toMatch(/^Usage: bstune config \[options\] \[command\]/);
  });

  it('`config` alone names its two subcommands', () => {
    expect(() => parseArgs(['config'])).toThrow(/a command is needed: config check or config schema/);
  });

  it('the commands an error lists are every command --help lists (doctor was missing)', () => {
    const help = (parseArgs(['--help']) as { text: string }).text;
    const helped = [...help.matchAll(/^ {2}([a-z-]+) (?:\[options\]|<)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    const listed = (e: unknown) => (e as Error).message.replace(/^.*?: /, '').replace(/ \(.*$/, '').split(/, | or /).map((c) => c.split(' ')[0]!);
    for (const argv of [[], ['frobnicate']]) {
      let err: unknown;
      try { parseArgs(argv); } catch (e) { err = e; }
      expect(new Set(listed(err))).toEqual(new Set([...helped, 'config']));
    }
  });

  it('--help lists the commands in the order a user meets them, the order an error lists them (worker came before train)', () => {
    const help = (parseArgs(['--help']) as { text: string }).text;
    const helped = [...help.matchAll(/^ {2}([a-z-]+) (?:\[|<| )/gm)].map((m) => m[1]!);
    expect(helped).toEqual(['find-max', 'sweep', 'train', 'recommend', 'report', 'doctor', 'worker', 'config', 'help']);
    let err: unknown;
    try { parseArgs([]); } catch (e) { err = e; }
    const listed = (err as Error).message.replace(/^.*?: /, '').replace(/ \(.*$/, '').split(/, | or /).map((c) => c.split(' ')[0]!);
    expect([...new Set(listed)]).toEqual(helped.filter((c) => c !== 'help'));
  });

  it('the examples\' comments start in one column in every help (sweep\'s were at three)', () => {
    const helps = ['find-max', 'sweep', 'train', 'recommend', 'report', 'doctor', 'worker', 'config', 'config check', 'config schema'].map((c) => [c.split(' '), (parseArgs([...c.split(' '), '--help']) as { text: string }).text] as const);
    const columns = new Set<number>();
    for (const [, text] of [[[], (parseArgs(['--help']) as { text: string }).text] as const, ...helps]) {
      // A command too long for the column keeps its comment two spaces after it.
      for (const l of text.split('\n').filter((x) => x.startsWith('  $ ') && x.includes('  # '))) if (l.indexOf('  # ') < 52) columns.add(l.indexOf('#'));
    }
    expect([...columns]).toEqual([53]);
  });

  it('recommend, like find-max, trains steps: --epochs is refused with the flag to use instead', () => {
    expect(() => parseArgs(['recommend', '--epochs', '3'])).toThrow(/^recommend trains every run for the same number of steps, not epochs: use --probe-steps N/);
    expect(() => parseArgs(['find-max', '--epochs', '3'])).toThrow(/^find-max trains each trial for search\.stepsPerTrial steps, not epochs: use --steps N/);
  });
});
