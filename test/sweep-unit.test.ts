/**
 * The sweep's pure statistics (summarizeSweep, targetAccuracy), its results store
 * (readResults, appendResult) on temporary files, and the table built from them.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeSweep, targetAccuracy } from '../src/sweep/summarize.js';
import { appendResult, configHash, defaultResultsPath, readResults, type StoredTrial } from '../src/sweep/results.js';
import { pm, renderSweep, withinNoise } from '../src/report/sweep-table.js';
import { parseConfigText } from '../src/config/load.js';
import { openResults } from '../src/results/session.js';
import { claimResultsPath } from '../src/results/file.js';
import { BstuneError } from '../src/errors.js';
import type { TrialResult } from '../src/trial/protocol.js';

/** A trial with one history entry per [train accuracy, valAccuracy] pair (the running and the evaluated train accuracy differ by 0.1). */
function trial(over: Partial<TrialResult> & { batchSize: number; epochs?: [number, number][] }): StoredTrial {
  const { epochs = [[0.5, 0.5]], ...rest } = over;
  const history = epochs.map(([trainAccuracy, valAccuracy], i) => ({
    epoch: i + 1, trainLoss: 1 - trainAccuracy, trainAccuracy: trainAccuracy - 0.1, trainEvalLoss: 1 - trainAccuracy, trainEvalAccuracy: trainAccuracy,
    valLoss: 1 - valAccuracy, valAccuracy, learningRate: 0.001, seconds: 1 + i, steps: 10,
  }));
  const last = history[history.length - 1];
  return {
    learningRate: (0.001 * over.batchSize) / 32, scaledLearningRate: (0.001 * over.batchSize) / 32, seed: 42, outcome: 'ok', reason: null,
    peakMemoryBytes: 1000, memoryBaselineBytes: 100, memorySource: 'test', processPeakRssBytes: null, deviceMemoryBytes: null,
    samplesPerSecond: 100, secondsPerEpoch: 1, warmupSteps: 2, warmupSeconds: 0.1, warmupExtraSeconds: 0.05, steadySteps: 8, epochSeconds: history.map((h) => h.seconds), valAccuracy: last?.valAccuracy ?? null, valLoss: last?.valLoss ?? null,
    history, steps: 10 * history.length, seconds: 5, overheadSeconds: 1, configHash: 'h1',
    ...rest,
  };
}

const failed = (batchSize: number, outcome: 'oom' | 'error' | 'timeout', reason: string, seed = 42): StoredTrial =>
  trial({ batchSize, seed, outcome, reason, epochs: [], peakMemoryBytes: null, samplesPerSecond: null, valAccuracy: null, valLoss: null });

describe('targetAccuracy', () => {
  it('is 99% of the best validation accuracy any run reached at any epoch', () => {
    const ts = [trial({ batchSize: 16, epochs: [[0.5, 0.6], [0.6, 0.9], [0.7, 0.8]] }), trial({ batchSize: 32, epochs: [[0.5, 0.85]] })];
    expect(targetAccuracy(ts, null)).toBeCloseTo(0.891, 12);
  });
  it('uses the configured target when there is one', () => {
    expect(targetAccuracy([trial({ batchSize: 16, epochs: [[0.5, 0.9]] })], 0.5)).toBe(0.5);
  });
  it('is null when no run has a history', () => {
    expect(targetAccuracy([], null)).toBeNull();
    expect(targetAccuracy([failed(64, 'oom', 'x')], null)).toBeNull();
  });
});

describe('summarizeSweep', () => {
  it('means and sample standard deviations over the repeats of a size', () => {
    const ts = [
      trial({ batchSize: 16, seed: 1, samplesPerSecond: 100, secondsPerEpoch: 1.2, peakMemoryBytes: 1000, epochs: [[0.6, 0.5], [0.8, 0.7]] }),
      trial({ batchSize: 16, seed: 2, samplesPerSecond: 200, secondsPerEpoch: 0.6, peakMemoryBytes: 1000, epochs: [[0.6, 0.6], [0.8, 0.9]] }),
    ];
    const [s] = summarizeSweep(ts, [16], null);
    expect(s!.runs).toBe(2);
    expect(s!.samplesPerSecond.mean).toBe(150);
    expect(s!.samplesPerSecond.std).toBeCloseTo(Math.SQRT2 * 50, 10);
    expect(s!.samplesPerSecond.n).toBe(2);
    expect(s!.peakMemoryBytes).toEqual({ mean: 1000, std: 0, n: 2 });
    expect(s!.valAccuracy.mean).toBeCloseTo(0.8, 12);
    expect(s!.valAccuracy.std).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    // s/epoch: one value per run (its steady-state epoch), not every epoch of every run
    // (the wall seconds 1, 2 of each run's epochs would give n = 4 and a warm-up-laden spread).
    expect(s!.epochSeconds.n).toBe(2);
    expect(s!.epochSeconds.mean).toBeCloseTo(0.9, 12);
    expect(s!.epochSeconds.std).toBeCloseTo(Math.SQRT2 * 0.3, 12);
  });

  it('best validation accuracy and its epoch; the first epoch wins a tie', () => {
    const [a, b] = summarizeSweep([
      trial({ batchSize: 16, epochs: [[0.5, 0.5], [0.7, 0.8], [0.9, 0.7]] }),
      trial({ batchSize: 32, epochs: [[0.5, 0.6], [0.7, 0.6]] }),
    ], [16, 32], null);
    expect(a!.bestValAccuracy.mean).toBe(0.8);
    expect(a!.bestEpoch.mean).toBe(2);
    expect(a!.valAccuracy.mean).toBe(0.7); // final, not best
    expect(b!.bestEpoch.mean).toBe(1);
  });

  it('generalization gap is the evaluated train accuracy after the last epoch minus validation accuracy (not the running average)', () => {
    const [s] = summarizeSweep([trial({ batchSize: 16, epochs: [[0.2, 0.9], [0.95, 0.75]] })], [16], null);
    expect(s!.generalizationGap.mean).toBeCloseTo(0.2, 12);
    const [neg] = summarizeSweep([trial({ batchSize: 16, epochs: [[0.7, 0.8]] })], [16], null);
    expect(neg!.generalizationGap.mean).toBeCloseTo(-0.1, 12);
    const noEval = trial({ batchSize: 16 });
    noEval.history = noEval.history.map((h) => ({ ...h, trainEvalAccuracy: null, trainEvalLoss: null }));
    expect(summarizeSweep([noEval], [16], null)[0]!.generalizationGap.n).toBe(0);
  });

  it('epochs to target: the first epoch at or above it; a run that never gets there counts as not reached', () => {
    const ts = [
      trial({ batchSize: 16, seed: 1, epochs: [[0.5, 0.5], [0.6, 0.75], [0.7, 0.9]] }),
      trial({ batchSize: 16, seed: 2, epochs: [[0.5, 0.5], [0.6, 0.6], [0.7, 0.7]] }),
      trial({ batchSize: 32, epochs: [[0.5, 0.6], [0.6, 0.7]] }),
    ];
    const [a, b] = summarizeSweep(ts, [16, 32], 0.75);
    expect(a!.epochsToTarget).toEqual({ mean: 2, std: null, n: 1 });
    expect(a!.reachedTarget).toBe(1);
    expect(b!.epochsToTarget).toEqual({ mean: null, std: null, n: 0 });
    expect(b!.reachedTarget).toBe(0);
    const [none] = summarizeSweep(ts, [16], null);
    expect(none!.epochsToTarget.n).toBe(0);
  });

  it('failed runs are listed with their reasons and left out of every statistic', () => {
    const ts = [
      trial({ batchSize: 64, seed: 1, samplesPerSecond: 300, epochs: [[0.5, 0.8]] }),
      failed(64, 'timeout', 'no result within 600 s', 2),
      failed(128, 'oom', 'RangeError: Array buffer allocation failed'),
    ];
    const [part, all, absent] = summarizeSweep(ts, [64, 128, 256], null);
    expect(part!.runs).toBe(2);
    expect(part!.failed).toEqual([{ outcome: 'timeout', reason: 'no result within 600 s' }]);
    expect(part!.samplesPerSecond).toEqual({ mean: 300, std: null, n: 1 });
    expect(part!.valAccuracy).toEqual({ mean: 0.8, std: null, n: 1 });
    expect(all!.runs).toBe(1);
    expect(all!.failed).toEqual([{ outcome: 'oom', reason: 'RangeError: Array buffer allocation failed' }]);
    expect(all!.learningRate).toBeCloseTo(0.004, 12);
    for (const k of ['peakMemoryBytes', 'samplesPerSecond', 'valAccuracy', 'bestValAccuracy', 'generalizationGap', 'epochsToTarget'] as const) {
      expect(all![k]).toEqual({ mean: null, std: null, n: 0 });
    }
    expect(absent!.runs).toBe(0);
  });
});

describe('renderSweep', () => {
  const stream = { isTTY: false } as NodeJS.WriteStream;
  const line = (table: string, b: number) => table.split('\n').find((l) => l.startsWith(`│ ${b} `)) ?? '';

  it('a failed size shows its outcome and reason; the footer names the best sizes', () => {
    const ts = [trial({ batchSize: 32, samplesPerSecond: 500, epochs: [[0.5, 0.8]] }), failed(64, 'error', 'TypeError: boom')];
    const rows = summarizeSweep(ts, [32, 64], 0.79);
    const out = renderSweep(rows, { repeats: 1, target: 0.79, stream });
    expect(line(out, 64)).toContain('error: TypeError: boom');
    expect(line(out, 32)).toContain('80.00%');
    expect(out).toContain('epochs to 79.00%');
    expect(out).toContain('highest final val acc: batch 32 (80.00%)\nhighest throughput: batch 32 (500 samples/s)');
    expect(out).not.toContain('±');
  });

  it('with repeats, cells show mean ± std', () => {
    const ts = [trial({ batchSize: 16, seed: 1, epochs: [[0.5, 0.8]] }), trial({ batchSize: 16, seed: 2, epochs: [[0.5, 0.6]] })];
    const out = renderSweep(summarizeSweep(ts, [16], null), { repeats: 2, target: null, stream });
    expect(line(out, 16)).toContain('70.00% ± 14.14 pt');
  });

  // "2.0 (1/2 runs)" and a best epoch of "(1.5)" were printed with nothing saying what they are.
  it('with repeats, the legend says what a mean epoch and "(k/n runs)" are', () => {
    const ts = [trial({ batchSize: 16, seed: 1, epochs: [[0.5, 0.6], [0.5, 0.8]] }), trial({ batchSize: 16, seed: 2, epochs: [[0.5, 0.7], [0.5, 0.6]] })];
    const out = renderSweep(summarizeSweep(ts, [16], 0.75), { repeats: 2, target: 0.75, stream });
    expect(line(out, 16)).toContain('2.0 (1/2 runs)');
    expect(line(out, 16)).toMatch(/\(1\.5\)/);
    expect(out).toContain('with repeats: the mean over the runs that reached it, (k/n runs) when only k of the n did');
    expect(out).toContain("best val acc (epoch): with repeats the mean of each run's best and of the epoch it came in");
    expect(renderSweep(summarizeSweep([ts[0]!], [16], 0.75), { repeats: 1, target: 0.75, stream })).not.toContain('with repeats');
  });
});

describe('results file', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'bstune-results-'));
  const codeOf = (f: () => unknown): { code: string; exit: number; message: string } => {
    try {
      f();
    } catch (e) {
      if (e instanceof BstuneError) return { code: e.code, exit: e.exitCode, message: e.line };
      throw e;
    }
    throw new Error('expected a BstuneError');
  };

  it('appends one fsynced line per run and reads them back', () => {
    const f = join(dir(), 'sub', 'r.jsonl'); // the folder is created
    const a = trial({ batchSize: 16 });
    const b = failed(32, 'oom', 'x');
    appendResult(f, a);
    appendResult(f, b);
    expect(readFileSync(f, 'utf8').split('\n')).toHaveLength(3);
    expect(readResults(f, 'h1')).toEqual([a, b]);
  });

  // `--out /dev/null` ran every trial, then failed with "unexpected failure: EINVAL: invalid argument, fsync".
  it('appends to a device (/dev/null) without syncing it', () => {
    expect(() => appendResult('/dev/null', trial({ batchSize: 16 }))).not.toThrow();
  });

  it('drops a last line cut mid-write and cuts it off the file, so the next append starts clean', () => {
    const f = join(dir(), 'r.jsonl');
    const a = trial({ batchSize: 16 });
    appendResult(f, a);
    const whole = readFileSync(f, 'utf8');
    const half = JSON.stringify(trial({ batchSize: 32 })).slice(0, 100);
    writeFileSync(f, whole + half);
    expect(readResults(f, 'h1')).toEqual([a]);
    expect(readFileSync(f, 'utf8')).toBe(whole);
    const c = trial({ batchSize: 64 });
    appendResult(f, c);
    expect(readResults(f, 'h1')).toEqual([a, c]);
  });

  it('a complete record without its newline is treated as cut too (it runs again)', () => {
    const f = join(dir(), 'r.jsonl');
    const a = trial({ batchSize: 16 });
    writeFileSync(f, `${JSON.stringify(a)}\n${JSON.stringify(trial({ batchSize: 32 }))}`);
    expect(readResults(f, 'h1')).toEqual([a]);
    expect(readFileSync(f, 'utf8')).toBe(`${JSON.stringify(a)}\n`);
  });

  it('tolerates blank lines between records', () => {
    const f = join(dir(), 'r.jsonl');
    const a = trial({ batchSize: 16 });
    writeFileSync(f, `${JSON.stringify(a)}\n\n${JSON.stringify(a)}\n`);
    expect(readResults(f, 'h1')).toHaveLength(2);
  });

  it('a record made under another config hash is a usage error and the file is left as it was', () => {
    const f = join(dir(), 'r.jsonl');
    appendResult(f, trial({ batchSize: 16 }));
    const before = readFileSync(f, 'utf8');
    const e = codeOf(() => readResults(f, 'h2'));
    expect(e).toMatchObject({ code: 'BSTUNE_USAGE', exit: 2 });
    expect(e.message).toMatch(/different config \(hash h1, now h2\).*r\.jsonl:1/);
    expect(readFileSync(f, 'utf8')).toBe(before);
  });

  it('a line that is not a trial record (before the last) is an error naming its line', () => {
    const f = join(dir(), 'r.jsonl');
    const a = JSON.stringify(trial({ batchSize: 16 }));
    for (const bad of ['not json', '{"batchSize":16}', '[1,2]', 'null']) {
      writeFileSync(f, `${a}\n${bad}\n${a}\n`);
      const e = codeOf(() => readResults(f, 'h1'));
      expect(e.code).toBe('BSTUNE_USAGE');
      expect(e.message).toMatch(/line 2 is not a bstune trial record/);
    }
  });

  it('a directory or a missing file is a usage error', () => {
    const d = dir();
    mkdirSync(join(d, 'x.jsonl'));
    expect(codeOf(() => readResults(join(d, 'x.jsonl'), 'h1')).message).toMatch(/is a directory/);
    expect(codeOf(() => readResults(join(d, 'nope.jsonl'), 'h1')).message).toMatch(/not found/);
  });

  it('an empty file has no runs', () => {
    const f = join(dir(), 'r.jsonl');
    writeFileSync(f, '');
    expect(readResults(f, 'h1')).toEqual([]);
  });
});

describe('configHash and the default path', () => {
  const text = readFileSync(resolve('configs/mnist-mlp.yaml'), 'utf8');
  const cfg = (overrides: { path: string[]; value: unknown }[] = []) =>
    parseConfigText(text, 'mnist-mlp.yaml', overrides.map((o) => ({ ...o, flag: 'test' })));

  it('changes with what decides a run, not with the list of sizes or repeats', () => {
    const h = configHash(cfg(), 'wasm');
    expect(configHash(cfg(), 'wasm')).toBe(h);
    expect(configHash(cfg([{ path: ['training', 'seed'], value: 1 }]), 'wasm')).not.toBe(h);
    expect(configHash(cfg([{ path: ['training', 'epochs'], value: 1 }]), 'wasm')).not.toBe(h);
    expect(configHash(cfg([{ path: ['data', 'trainLimit'], value: 300 }]), 'wasm')).not.toBe(h);
    expect(configHash(cfg([{ path: ['sweep', 'sizes'], value: [8] }]), 'wasm')).toBe(h);
    expect(configHash(cfg([{ path: ['sweep', 'repeats'], value: 3 }]), 'wasm')).toBe(h);
    // the backend that ran, not the configured `auto`, is part of it
    expect(configHash(cfg(), 'cpu')).not.toBe(h);
  });

  it('defaults to .bstune/<name>-<UTC time>.jsonl in the working folder', () => {
    expect(defaultResultsPath('/w', 'my exp', new Date('2024-05-06T07:08:09.123Z'))).toBe('/w/.bstune/my-exp-2024-05-06T070809Z.jsonl');
  });

  it('two runs of one config opened within the same second get files of their own (the second refused the first\'s trials: exit 2)', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bstune-results-'));
    const open = () => openResults({ cwd, command: 'find-max', config: cfg(), backend: { name: 'wasm', device: 'cpu' }, warn: () => {} });
    // Tried again (at most 5 times) when the clock's second turned over between the two opens.
    for (let attempt = 1; ; attempt++) {
      const first = open();
      first.append(trial({ batchSize: 16 }) as unknown as TrialResult);
      const second = open();
      if (!second.path.endsWith('-2.jsonl') && attempt < 5) continue;
      expect(second.path).toBe(first.path.replace(/\.jsonl$/, '-2.jsonl'));
      expect(readFileSync(first.path, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
      expect(readFileSync(second.path, 'utf8')).toBe('');
      break;
    }
  });

  it('claimResultsPath takes the first free name, -2, -3 before .jsonl', () => {
    const base = join(mkdtempSync(join(tmpdir(), 'bstune-results-')), '.bstune', 'x-2024-05-06T070809Z.jsonl');
    expect(claimResultsPath(base)).toBe(base);
    expect(claimResultsPath(base)).toBe(base.replace(/\.jsonl$/, '-2.jsonl'));
    expect(claimResultsPath(base)).toBe(base.replace(/\.jsonl$/, '-3.jsonl'));
  });
});

describe('configDiff: what a refused resume reports', () => {
  it('lists changed leaves with old → new, and nothing for equal configs', async () => {
    const { configDiff } = await import('../src/sweep/results.js');
    expect(configDiff({ training: { epochs: 3, seed: 42 }, model: { kind: 'mlp', hidden: [10] } }, { training: { epochs: 1, seed: 42 }, model: { kind: 'mlp', hidden: [10, 10] } }))
      .toEqual(['training.epochs: 3 → 1', 'model.hidden: [10] → [10,10]']);
    expect(configDiff({ a: { b: 1 } }, { a: { b: 1 } })).toEqual([]);
    expect(configDiff({ a: 1 }, {})).toEqual(['a: 1 → unset']);
  });
});

describe('diverged runs in a sweep', () => {
  const stream = { isTTY: false } as NodeJS.WriteStream;
  const lineOf = (out: string, b: number) => out.split('\n').find((l) => new RegExp(`^│ ${b}\\b`).test(l)) ?? '';
  const diverged = (batchSize: number, seed = 42) =>
    trial({ batchSize, seed, outcome: 'diverged', reason: 'loss became NaN', samplesPerSecond: 900, peakMemoryBytes: 4096, epochs: [[0.1, 0.99]] });

  it('count for memory and speed, never for accuracy, best lines or the target', () => {
    const ts = [trial({ batchSize: 32, samplesPerSecond: 500, epochs: [[0.5, 0.8]] }), diverged(512)];
    const rows = summarizeSweep(ts, [32, 512], null);
    const big = rows[1]!;
    expect(big.diverged).toEqual([{ reason: 'loss became NaN' }]);
    expect(big.failed).toEqual([]);
    expect(big.samplesPerSecond.mean).toBe(900);
    expect(big.peakMemoryBytes.mean).toBe(4096);
    expect(big.valAccuracy.n).toBe(0);
    const target = targetAccuracy(ts.filter((t) => t.outcome === 'ok'), null);
    expect(target).toBeCloseTo(0.792, 12);
    const out = renderSweep(rows, { repeats: 1, target, stream });
    expect(lineOf(out, 512)).toContain('diverged: loss became NaN');
    expect(lineOf(out, 512)).toContain('900');
    // Not the highest throughput (900 > 500), nor the highest accuracy (0.99 > 0.8): it diverged.
    expect(out).toMatch(/highest final val acc: batch 32 [\s\S]*highest throughput: batch 32 /);
    expect(out).toContain('diverged: NaN/Inf loss, loss above its start, or stuck within 5 pt of chance after a loss spike');
  });

  it('one diverged run among repeats is named in the row', () => {
    const rows = summarizeSweep([trial({ batchSize: 64, seed: 1 }), diverged(64, 2)], [64], null);
    const out = renderSweep(rows, { repeats: 2, target: null, stream });
    expect(lineOf(out, 64)).toContain('64 (1 of 2 diverged)');
  });
});

describe('statistics in the sweep table', () => {
  const stream = { isTTY: false } as NodeJS.WriteStream;
  const lineOf = (out: string, b: number) => out.split('\n').find((l) => new RegExp(`^│ ${b}\\b`).test(l)) ?? '';
  const at = (batchSize: number, seed: number, acc: number, sps: number, gap = 0.01) =>
    trial({ batchSize, seed, samplesPerSecond: sps, epochs: [[acc + gap, acc]] });

  it('rows come sorted by batch size, whatever order --sizes gave', () => {
    const rows = summarizeSweep([at(128, 1, 0.8, 10), at(16, 1, 0.8, 10), at(64, 1, 0.8, 10)], [128, 16, 64], null);
    expect(rows.map((r) => r.batchSize)).toEqual([16, 64, 128]);
  });

  it('one notation: accuracy in %, its ± and the gap in points (pt)', () => {
    const rows = summarizeSweep([at(32, 1, 0.8, 100, 0.02), at(32, 2, 0.9, 100, 0.04)], [32], null);
    const row = lineOf(renderSweep(rows, { repeats: 2, target: null, stream }), 32);
    expect(row).toContain('85.00% ± 7.07 pt');
    expect(row).toContain('3.00 pt ± 1.41 pt');
    expect(row).not.toMatch(/± [\d.]+%/);
  });

  it('no "± 0": not for a single run, not for a spread that rounds to zero', () => {
    expect(pm({ mean: 0.8, std: null, n: 1 }, (n) => n.toFixed(2), true)).toBe('0.80');
    expect(pm({ mean: 1000, std: 0.2, n: 3 }, (n) => n.toFixed(0), true)).toBe('1000');
    expect(pm({ mean: 1000, std: 12, n: 3 }, (n) => n.toFixed(0), true)).toBe('1000 ± 12');
    // A size with one finished run among repeats: the JSON says null, the table shows no ±.
    const rows = summarizeSweep([at(64, 1, 0.8, 300), failed(64, 'timeout', 'x', 2)], [64], null);
    expect(rows[0]!.valAccuracy.std).toBeNull();
    expect(lineOf(renderSweep(rows, { repeats: 2, target: null, stream }), 64)).not.toContain('±');
  });

  it('s/epoch ± is over runs', () => {
    const rows = summarizeSweep([trial({ batchSize: 8, seed: 1, secondsPerEpoch: 1 }), trial({ batchSize: 8, seed: 2, secondsPerEpoch: 3 })], [8], null);
    expect(rows[0]!.epochSeconds).toMatchObject({ mean: 2, n: 2 });
    expect(lineOf(renderSweep(rows, { repeats: 2, target: null, stream }), 8)).toContain('2.00 ± 1.41');
  });

  it('"highest" lines say which sizes are within noise (means less than one sd apart)', () => {
    expect(withinNoise({ mean: 0.9, std: 0.01, n: 3 }, { mean: 0.895, std: 0.002, n: 3 })).toBe(true);
    expect(withinNoise({ mean: 0.9, std: 0.01, n: 3 }, { mean: 0.85, std: 0.01, n: 3 })).toBe(false);
    expect(withinNoise({ mean: 0.9, std: null, n: 1 }, { mean: 0.9, std: null, n: 1 })).toBe(false);
    const ts = [at(16, 1, 0.90, 100), at(16, 2, 0.88, 110), at(32, 1, 0.895, 200), at(32, 2, 0.889, 210), at(64, 1, 0.70, 400), at(64, 2, 0.72, 405)];
    const out = renderSweep(summarizeSweep(ts, [16, 32, 64], null), { repeats: 2, target: null, stream });
    expect(out).toContain('highest final val acc: batch 32 (89.20%), within noise of batch 16 (89.00%)');
    expect(out).toContain('highest throughput: batch 64 (403 samples/s)\n');
    expect(out).toContain('within noise: means less than one standard deviation apart');
  });

  it('repeats where no other size is within noise: the footer says so, no "within noise" legend', () => {
    const ts = [at(16, 1, 0.80, 100), at(16, 2, 0.81, 101), at(32, 1, 0.90, 200), at(32, 2, 0.91, 201)];
    const out = renderSweep(summarizeSweep(ts, [16, 32], null), { repeats: 2, target: null, stream });
    expect(out).toContain('highest final val acc: batch 32 (90.50%)\n');
    expect(out).not.toContain('within noise');
    expect(out).toContain('(no other size comes within one standard deviation of these, over the repeats)');
  });

  it('single runs: the highest lines say there is no noise estimate', () => {
    const out = renderSweep(summarizeSweep([at(16, 1, 0.9, 100), at(32, 1, 0.8, 200)], [16, 32], null), { repeats: 1, target: null, stream });
    expect(out).toContain('one run per size: differences may be noise; --repeats 3 measures it');
  });
});
