/**
 * The HTML report's pure parts: reading a results file, the rows each chart plots, the
 * Vega-Lite specs, which charts a page gets (and what it says is absent), and the page itself.
 */
import { describe, expect, it } from 'vitest';
import { parseResults } from '../src/report/html/records.js';
import { defaultTarget, epochRows, fitLine, fitMemory, memoryPoints, recordedModel, noiseEpochRows, noiseRows, predictedMax, throughput, timeToTarget } from '../src/report/html/data.js';
import { epochSpec, memorySpec, memoryUnit, noiseSpec, targetSpec, throughputSpec } from '../src/report/html/specs.js';
import { planCharts } from '../src/report/html/charts.js';
import { esc, reportPage } from '../src/report/html/page.js';
import { renderSvg } from '../src/report/html/render.js';
import type { ReportInput, ReportTrial } from '../src/report/html/types.js';
import { bstuneErrorFrom as thrown } from './helpers/thrown.js';

const MiB = 1024 * 1024;

function trial(batchSize: number, over: Partial<ReportTrial> = {}): ReportTrial {
  const acc = [0.5, 0.7, 0.8].map((a) => a + batchSize / 10_000);
  return {
    batchSize, learningRate: 0.001 * batchSize / 32, seed: 42, outcome: 'ok', reason: null,
    peakMemoryBytes: 1 * MiB + batchSize * 0.25 * MiB, memoryBaselineBytes: MiB, memorySource: 'test', processPeakRssBytes: null, deviceMemoryBytes: null,
    samplesPerSecond: 1000 + batchSize * 10, epochSeconds: [1, 1, 1], valAccuracy: acc[2]!, valLoss: 1 - acc[2]!,
    history: acc.map((a, i) => ({ epoch: i + 1, trainLoss: 1, trainAccuracy: a, trainEvalLoss: null, trainEvalAccuracy: null, valLoss: 1 - a, valAccuracy: a, learningRate: 0.001, seconds: 2, steps: 10 })),
    steps: 30, seconds: 4, overheadSeconds: 1, configHash: 'aaaa1111', hashedConfig: { training: { epochs: 3 } },
    ...over,
  };
}
const jsonl = (ts: unknown[]) => ts.map((t) => JSON.stringify(t)).join('\n') + '\n';

describe('parseResults', () => {
  it('reads every record and skips nothing in a clean file', () => {
    const r = parseResults(jsonl([trial(16), trial(32)]), 'f.jsonl');
    expect(r.trials.map((t) => t.batchSize)).toEqual([16, 32]);
    expect(r.skipped).toEqual([]);
    expect(r.configHash).toBe('aaaa1111');
  });

  it('skips a torn last line and a foreign JSON line, and says which', () => {
    const text = `${jsonl([trial(16)])}{"hello":1}\n${JSON.stringify(trial(32)).slice(0, 40)}`;
    const r = parseResults(text, 'f.jsonl');
    expect(r.trials).toHaveLength(1);
    expect(r.skipped).toEqual(['line 2: JSON but not a bstune trial record (no batchSize/outcome)', 'line 3: not JSON (the last write was cut short?)']);
  });

  it('keeps the newest line for a batch and seed (a resumed re-run) and notes the older one', () => {
    const r = parseResults(jsonl([trial(16, { outcome: 'timeout' }), trial(32), trial(16)]), 'f.jsonl');
    expect(r.trials.map((t) => `${t.batchSize}:${t.outcome}`)).toEqual(['32:ok', '16:ok']);
    expect(r.skipped).toEqual(['line 1: batch 16 seed 42 (timeout) superseded by line 3']);
  });

  it('refuses a file that mixes configs, naming the hashes and what differs', () => {
    const text = jsonl([trial(16), trial(32, { configHash: 'bbbb2222', hashedConfig: { training: { epochs: 1 } } })]);
    const e = thrown(() => parseResults(text, 'f.jsonl'));
    expect(e.exitCode).toBe(2);
    expect(e.line).toMatch(/mixes 2 configs \(aaaa1111: 1 record from line 1, bbbb2222: 1 record from line 2\); they differ in training\.epochs: 3 → 1; choose one with --config-hash HASH \(f\.jsonl\)$/);
  });

  it('--config-hash picks one config by prefix and reports the others as skipped', () => {
    const text = jsonl([trial(16), trial(32, { configHash: 'bbbb2222' })]);
    const r = parseResults(text, 'f.jsonl', 'bbb');
    expect(r.trials.map((t) => t.batchSize)).toEqual([32]);
    expect(r.skipped[0]).toMatch(/^1 record of config aaaa1111 \(lines 1\)/);
    expect(thrown(() => parseResults(text, 'f.jsonl', 'cc')).line).toMatch(/no config in the file matches --config-hash cc/);
  });

  it('an empty file and a file of garbage are errors', () => {
    expect(thrown(() => parseResults('', 'f.jsonl')).line).toBe('results file is empty (f.jsonl)');
    expect(thrown(() => parseResults('\n\n', 'f.jsonl')).line).toBe('results file is empty (f.jsonl)');
    expect(thrown(() => parseResults('not json\n', 'f.jsonl')).line).toMatch(/^results file holds no trial records \(1 line skipped: line 1: not JSON/);
  });
});

describe('chart rows', () => {
  it('fits M(b) = M0 + b·m exactly on linear data, and predicts the largest batch under a limit', () => {
    const fit = fitMemory([trial(16), trial(32), trial(64)])!;
    expect(fit.baseBytes).toBeCloseTo(MiB, 3);
    expect(fit.bytesPerSample).toBeCloseTo(0.25 * MiB, 3);
    expect(fit.r2).toBeCloseTo(1, 9);
    expect(predictedMax(fit, 33 * MiB)).toBe(128);
    // The line is stretched to the limit's crossing when that is within twice the largest size.
    expect(fitLine(fit, [16, 64], 33 * MiB).map((p) => p.batchSize)).toEqual([16, 128]);
    expect(fitLine(fit, [16, 64], 1000 * MiB).map((p) => p.batchSize)).toEqual([16, 64]);
  });

  it('a memory model carried by the records wins over a fit; repeats of a size are averaged before fitting', () => {
    const t = [trial(16), trial(32, { memoryModel: { fixedBytes: 5, bytesPerSample: 7, r2: 0.99 } } as Partial<ReportTrial>)];
    expect(recordedModel(t)).toEqual({ baseBytes: 5, bytesPerSample: 7, r2: 0.99, source: 'the memory model recorded with the runs' });
    expect(recordedModel([trial(16)])).toBeNull();
    // Three runs at 16 (two high) and one at 32: the mean at 16 is what the line goes through.
    const f = fitMemory([trial(16, { peakMemoryBytes: 10 }), trial(16, { seed: 43, peakMemoryBytes: 30 }), trial(32, { peakMemoryBytes: 36 })])!;
    expect(f.baseBytes + 16 * f.bytesPerSample).toBeCloseTo(20, 9);
    expect(f.source).toBe('least squares over 2 batch sizes, repeats averaged');
  });

  it('no line from one batch size; crashed runs measured no peak', () => {
    expect(fitMemory([trial(16), trial(16, { seed: 43 })])).toBeNull();
    const pts = memoryPoints([trial(16), trial(32, { outcome: 'error', peakMemoryBytes: null })]);
    expect(pts).toEqual([{ batchSize: 16, peakMiB: 5, outcome: 'ok' }]);
  });

  it('speed: mean ± std over repeats, only ok runs', () => {
    const { rows, points } = throughput([trial(16, { samplesPerSecond: 100 }), trial(16, { seed: 43, samplesPerSecond: 300 }), trial(32, { outcome: 'diverged' })]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ batchSize: 16, mean: 200, runs: 2 });
    expect(rows[0]!.std).toBeCloseTo(141.42, 2);
    expect(rows[0]!.lo).toBeCloseTo(200 - 141.42, 2);
    expect(points).toHaveLength(2);
  });

  it('runs with gradient accumulation are their own group, labelled micro×N, at their effective batch', () => {
    const rows = epochRows([trial(32), trial(32, { accumulate: 4, effectiveBatchSize: 128 }), trial(64)]);
    expect([...new Set(rows.map((r) => `${r.batch}@${r.batchSize}`))]).toEqual(['32@32', '64@64', '32×4@128']);
    const tp = throughput([trial(32), trial(32, { accumulate: 4 })]);
    expect(tp.rows.map((r) => [r.batch, r.batchSize, r.runs])).toEqual([['32', 32, 1], ['32×4', 128, 1]]);
    // Memory stays at the micro-batch: that is what one step holds.
    expect(memoryPoints([trial(32, { accumulate: 4 })])[0]!.batchSize).toBe(32);
  });

  it('epochs: one line per batch size, averaged over its repeats', () => {
    const a = trial(16);
    const b = trial(16, { seed: 43, history: a.history.map((h) => ({ ...h, valAccuracy: h.valAccuracy + 0.1 })) });
    const rows = epochRows([a, b, trial(32)]);
    expect(rows.filter((r) => r.batchSize === 16).map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(rows[0]!.valAccuracy).toBeCloseTo(a.history[0]!.valAccuracy + 0.05, 9);
    expect(rows[0]!.runs).toBe(2);
  });

  it('time to target: summed epoch seconds until the target, and who never reached it', () => {
    const t = [trial(16), trial(64)];
    expect(defaultTarget(t)).toBeCloseTo((0.8 + 0.0064) * 0.99, 9);
    const rows = timeToTarget(t, 0.8040);
    expect(rows).toEqual([
      { batch: '16', batchSize: 16, seconds: null, epochs: null, reached: 0, runs: 1 },
      { batch: '64', batchSize: 64, seconds: 6, epochs: 3, reached: 1, runs: 1 },
    ]);
    expect(timeToTarget(t, 0.7)[0]).toMatchObject({ seconds: 4, epochs: 2 });
  });

  it('noise scale: numbers or estimate objects, absent or non-positive ones left out', () => {
    const rows = noiseRows([
      trial(16, { gradientNoiseScale: { initial: 40, final: { bSimple: 900, bSimpleStdError: 50 } } }),
      trial(32, { gradientNoiseScale: { initial: { bSimple: null }, final: -3 } }),
      trial(64),
    ]);
    expect(rows).toEqual([{ batchSize: 16, when: 'initial', bSimple: 40 }, { batchSize: 16, when: 'final', bSimple: 900 }]);
  });

  it('noise per epoch: one line per size, mean over repeats, unmeasured points left out', () => {
    const gns = (pts: [number, number | null][]) => ({ gradientNoiseScale: { initial: pts[0]![1], final: pts[pts.length - 1]![1], points: pts.map(([epoch, bSimple]) => ({ epoch, bSimple })) } });
    const rows = noiseEpochRows([trial(16, gns([[0, 40], [1, 80]])), trial(16, { seed: 43, ...gns([[0, 60], [1, null]]) }), trial(32, gns([[0, 50]])), trial(64)]);
    expect(rows).toEqual([
      { batch: '16', batchSize: 16, epoch: 0, bSimple: 50, runs: 2 },
      { batch: '16', batchSize: 16, epoch: 1, bSimple: 80, runs: 1 },
      { batch: '32', batchSize: 32, epoch: 0, bSimple: 50, runs: 1 },
    ]);
    expect(noiseEpochRows([trial(16, { gradientNoiseScale: { initial: 40, final: 80 } })])).toEqual([]);
  });
});

describe('Vega-Lite specs', () => {
  it('memory: points by outcome, the fitted line, the limit as a rule with its label, in a readable unit', () => {
    const spec = memorySpec([{ batchSize: 16, peakMiB: 0.25, outcome: 'ok' }], [{ batchSize: 16, peakMiB: 0.25 }, { batchSize: 64, peakMiB: 0.75 }], 0.5, 'M(b)') as { layer: { mark: { type: string }; data: { values: { peak?: number; limit?: number }[] }; encoding: { y: { title?: string } } }[] };
    expect(spec.layer.map((l) => l.mark.type)).toEqual(['point', 'line', 'rule', 'text']);
    expect(spec.layer[0]!.encoding.y.title).toBe('peak memory (KiB)');
    expect(spec.layer[0]!.data.values[0]!.peak).toBe(256);
    expect(spec.layer[2]!.data.values[0]!.limit).toBe(512);
    expect(memoryUnit(0.5).name).toBe('KiB');
    expect(memoryUnit(300).name).toBe('MiB');
    expect(memoryUnit(8192).name).toBe('GiB');
    const bare = memorySpec([{ batchSize: 16, peakMiB: 2, outcome: 'oom' }], [], null, null) as { layer: unknown[] };
    expect(bare.layer).toHaveLength(1);
  });

  it('speed: a log2 x-axis ticked at the measured sizes; the ± band only with repeats', () => {
    const rows = [{ batch: '16', batchSize: 16, mean: 10, std: 0, lo: 10, hi: 10, runs: 1 }, { batch: '64', batchSize: 64, mean: 30, std: 0, lo: 30, hi: 30, runs: 1 }];
    const one = throughputSpec(rows, []) as { layer: { mark: { type: string }; encoding: { x: { scale: { type: string; base: number }; axis: { values: number[] } } } }[] };
    expect(one.layer.map((l) => l.mark.type)).toEqual(['line', 'point']);
    expect(one.layer[0]!.encoding.x.scale).toMatchObject({ type: 'log', base: 2 });
    expect(one.layer[0]!.encoding.x.axis.values).toEqual([16, 64]);
    const rep = throughputSpec([{ ...rows[0]!, runs: 3, std: 2, lo: 8, hi: 12 }], []) as { layer: { mark: { type: string }; encoding: { x: { scale: { domain: number[] } } } }[] };
    expect(rep.layer[0]!.mark.type).toBe('errorband');
    // One size: the log domain is padded so it has an extent.
    expect(rep.layer[0]!.encoding.x.scale.domain).toEqual([8, 32]);
  });

  it('epochs: one coloured line per batch size in size order', () => {
    const spec = epochSpec([{ batch: '16', batchSize: 16, epoch: 1, valAccuracy: 0.6, valLoss: 1, runs: 1 }, { batch: '32×4', batchSize: 128, epoch: 1, valAccuracy: 0.5, valLoss: 1, runs: 1 }], 'valAccuracy') as { encoding: { color: { sort: string[] }; y: { field: string } } };
    expect(spec.encoding.color.sort).toEqual(['16', '32×4']);
    expect(spec.encoding.y.field).toBe('valAccuracy');
  });

  it('accuracy axis: as many decimals as its range needs, so neighbouring ticks differ', () => {
    const fmt = (accs: number[]) => (epochSpec(accs.map((valAccuracy, i) => ({ batch: '16', batchSize: 16, epoch: i + 1, valAccuracy, valLoss: 1, runs: 1 })), 'valAccuracy') as { encoding: { y: { axis: { format: string } } } }).encoding.y.axis.format;
    expect(fmt([0.1, 0.8])).toBe('.0%');
    expect(fmt([0.183, 0.2145])).toBe('.1%');
    expect(fmt([0.8375])).toBe('.2%');
  });

  it('time to target: a bar per size that reached it; noise: log2 both ways', () => {
    const t = targetSpec([{ batch: '16', batchSize: 16, seconds: null, epochs: null, reached: 0, runs: 1 }, { batch: '32', batchSize: 32, seconds: 2.5, epochs: 2, reached: 1, runs: 1 }], 0.9) as { data: { values: { label: string }[] } };
    expect(t.data.values.map((v) => v.label)).toEqual(['2.50 s, epoch 2']);
    // The seconds are whole epochs (validation included), as the caption says: the titles must not call them training seconds.
    expect(JSON.stringify((t as unknown as { title: unknown }).title)).toMatch(/epoch seconds \(with validation\) until val acc ≥ 90\.00%/);
    expect(JSON.stringify(t)).not.toMatch(/training seconds|seconds of training/);
    const n = noiseSpec([{ batchSize: 16, when: 'initial', bSimple: 40 }]) as { encoding: { y: { scale: { type: string } } } };
    expect(n.encoding.y.scale.type).toBe('log');
  });

  it('a spec renders to SVG with its marks, in Node', async () => {
    const { svg, warnings } = await renderSvg(memorySpec([{ batchSize: 16, peakMiB: 1, outcome: 'ok' }, { batchSize: 32, peakMiB: 2, outcome: 'ok' }], [{ batchSize: 16, peakMiB: 1 }, { batchSize: 32, peakMiB: 2 }], 3, 'fit'), 'x');
    expect(svg).toMatch(/^<svg /);
    expect(svg).toMatch(/class="mark-symbol role-mark/);
    expect(svg).toMatch(/class="mark-line role-mark/);
    expect(svg).toMatch(/memory limit 3 MiB/);
    expect(warnings).toEqual([]);
  });
});

describe('the page', () => {
  const input = (trials: ReportTrial[], over: Partial<ReportInput> = {}): ReportInput => ({ title: 'T <b>', source: 'f.jsonl', trials, bstuneVersion: '9.9.9', generatedAt: '2026-01-01T00:00:00.000Z', ...over });

  it('plans every chart the data allows and names what is absent', () => {
    const full = planCharts(input([trial(16, { gradientNoiseScale: { initial: 30 } }), trial(32)], { memoryLimitBytes: 20 * MiB, recommendation: { batchSize: 32 } }));
    expect(full.charts.map((c) => c.id)).toEqual(['memory', 'throughput', 'accuracy', 'loss', 'time-to-target', 'noise']);
    expect((full.charts[5]!.spec as { title: { text: string } }).title.text).toBe('Gradient noise scale');
    expect(full.absent).toEqual([]);
    expect(full.charts[0]!.caption).toMatch(/the line predicts batches up to 76 fit under it/);
    const bare = planCharts(input([trial(16, { outcome: 'error', peakMemoryBytes: null, samplesPerSecond: null, history: [] })]));
    expect(bare.charts).toEqual([]);
    expect(bare.absent).toHaveLength(6);
    expect(bare.absent.join(' ')).toMatch(/no run measured a peak.*no ok run measured samples\/s.*gradientNoiseScale/);
  });

  // recommend's page said "Validation accuracy per epoch" and "0.55 s, epoch 3" of runs that trained 4 rounds of equal steps.
  it('runs in rounds (recommend, sweep --budget steps|time) are charted per round, not per epoch', () => {
    const ts = [trial(16, { gradientNoiseScale: { points: [{ epoch: 0, bSimple: 60 }, { epoch: 3, bSimple: 300 }] } }), trial(32)];
    const titles = (p: ReturnType<typeof planCharts>) => p.charts.map((c) => JSON.stringify(c.spec)).join(' ');
    for (const over of [{ command: 'recommend' }, { command: 'sweep', config: { sweep: { budget: 'steps' } } }, { config: { budget: 'time' } }] as Partial<ReportInput>[]) {
      const plans = planCharts(input(ts, over));
      const text = titles(plans);
      expect(text, JSON.stringify(over)).toContain('Validation accuracy per round');
      expect(text).toContain('"title":"round"');
      expect(text).toContain('Gradient noise scale per round');
      expect(text).not.toMatch(/per epoch|"title":"epoch"|, epoch \d/);
      expect(plans.charts.find((c) => c.id === 'accuracy')!.caption).toMatch(/after each round.*A round is a share of the run's budget/);
      expect(plans.charts.find((c) => c.id === 'time-to-target')!.caption).toMatch(/^Summed round seconds/);
    }
    const epochs = titles(planCharts(input(ts, { command: 'sweep', config: { sweep: { budget: 'epochs' } } })));
    expect(epochs).toContain('Validation accuracy per epoch');
    expect(epochs).not.toContain('per round');
  });

  it('escapes what it prints, says what was skipped, and shows the recorded version, backend and dates', () => {
    const t = trial(16, { reason: '<script>x</script>', outcome: 'oom', timestamp: '2026-02-03T04:05:06Z', bstuneVersion: '0.2.0', backend: { name: 'wasm', device: '2-core CPU' } });
    const html = reportPage(input([t], { skipped: ['line 3: not JSON'] }), planCharts(input([t])), []);
    expect(html).not.toMatch(/<script/);
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).toContain('<title>T &lt;b&gt;</title>');
    expect(html).toContain('<li>line 3: not JSON</li>');
    expect(html).toContain('measured with 0.2.0');
    expect(html).toContain('wasm — 2-core CPU');
    expect(html).toContain('2026-02-03T04:05:06Z');
    // Self-contained: nothing is fetched.
    expect(html).not.toMatch(/<link|<script|src=|@import|url\(http/);
    expect(esc('"&')).toBe('&quot;&amp;');
    // Results files write backend and device as two strings.
    const flat = trial(16, { backend: 'cpu', device: '1-core test CPU' });
    expect(reportPage(input([flat]), planCharts(input([flat])), [])).toContain('cpu — 1-core test CPU');
  });
});
