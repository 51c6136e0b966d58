import Table from 'cli-table3';
import { dash, fmtBytes, fmtLr, fmtNoise, fmtPct, fmtRate, fmtSec, paint } from './format.js';
import type { AccumulationVerdict, BatchDecision, CandidateCost, RateDecision, RuleProbe } from '../recommend/decide.js';

interface View {
  name: string;
  backend: { name: string; device: string };
  data: string;
  recommendation: { batchSize: number; learningRate: number; scaling: string; accumulate: number; effectiveBatchSize: number; effectiveLearningRate?: number; snippet: string } | null;
  batch: BatchDecision;
  rate: RateDecision;
  accumulation: AccumulationVerdict | null;
  costNote: string;
  parallel: { probes: number; meaning: string };
  noiseScale: { bSimple: number | null; stdError: number | null; fromCandidateBatch: number | null };
  maxBatchSize: number;
  budget: { meaning: string };
  targetAccuracy: number | null;
  costs: CandidateCost[];
  probes: RuleProbe[];
  seconds: number;
  stream: NodeJS.WriteStream;
}

/** The answer first, then its evidence: rate probes, cost per candidate batch, the config lines. */
export function renderRecommendation(v: View): string {
  const out: string[] = [`${v.name} · ${v.backend.name} on ${v.backend.device}`, v.data, ''];
  const r = v.recommendation;
  if (r) {
    out.push(paint(v.stream, 'bold', `batch size     ${r.batchSize}${r.accumulate > 1 ? ` × ${r.accumulate} accumulated = ${r.effectiveBatchSize}` : ''}`));
  } else {
    out.push(paint(v.stream, 'red', `no rate trained at batch ${v.batch.batchSize}: no recommendation`));
  }
  out.push(`               ${v.batch.why}`);
  if (v.accumulation) {
    const a = v.accumulation;
    out.push(`               ${a.why}${a.backed ? `; ${fmtRate(a.samplesPerSecond)} samples/s, peak ${fmtBytes(a.peakMemoryBytes)}` : ''}`);
  }
  if (v.noiseScale.bSimple !== null) out.push(`               (noise scale from the batch-${v.noiseScale.fromCandidateBatch} run's end; largest that fits: ${v.maxBatchSize})`);
  if (r) {
    const eff = r.accumulate > 1 && r.effectiveLearningRate !== undefined ? `; ${fmtLr(r.effectiveLearningRate)} at the effective ${r.effectiveBatchSize}, as the accumulation probe trained` : '';
    out.push(paint(v.stream, 'bold', `learning rate  ${fmtLr(r.learningRate)} at batch ${r.batchSize} (${r.scaling} scaling${eff})`));
  }
  out.push(`               ${v.rate.why}`);
  out.push('');

  const probes = new Table({ head: ['rule', 'lr', 'val acc (mean ± sd)', 'val loss', 'runs', 'verdict'], style: { head: [], border: [] } });
  for (const verdict of v.rate.verdicts) {
    const p = v.probes.find((x) => x.rule === verdict.rule)!;
    const tag = verdict.excluded ?? (v.rate.winner === verdict.rule ? 'best' : v.rate.withinNoise.includes(verdict.rule) ? 'within noise of the best' : 'worse by more than one sd');
    probes.push([
      verdict.rule, fmtLr(verdict.learningRate),
      verdict.meanValAccuracy === null ? dash : p.runs.length < 2 ? `${fmtPct(verdict.meanValAccuracy)} (one run)` : `${fmtPct(verdict.meanValAccuracy)} ± ${((verdict.sdValAccuracy ?? 0) * 100).toFixed(2)} pt`,
      verdict.meanValLoss === null ? dash : verdict.meanValLoss.toFixed(4), p.runs.length, tag,
    ]);
  }
  out.push(`learning-rate probes at batch ${v.batch.batchSize}${v.parallel.probes > 1 ? ` (${v.parallel.probes} at a time: they compare accuracy, not speed)` : ''}:`, probes.toString());
  for (const p of v.probes) if (p.notRepeated) out.push(`${p.rule}: ${p.notRepeated}`);

  // samples/s depends on the training threads a run used: named when they differ from one.
  const threaded = v.costs.some((c) => c.threads !== null && c.threads > 1);
  const cost = new Table({ head: ['batch', 'lr', 'peak memory', 'samples/s', `val acc (end)`, `steps to ${v.targetAccuracy === null ? 'target' : fmtPct(v.targetAccuracy)}`, 'seconds to target', 'noise scale (end)'], style: { head: [], border: [] } });
  for (const c of v.costs) {
    cost.push([
      `${c.batchSize}${c.accumulate > 1 ? ` × ${c.accumulate}` : ''}${r && c.batchSize === r.batchSize && c.accumulate === r.accumulate ? ' ←' : ''}`, fmtLr(c.learningRate),
      c.outcome === 'ok' ? fmtBytes(c.peakMemoryBytes) : c.outcome, `${fmtRate(c.samplesPerSecond)}${threaded && c.threads !== null ? ` (${c.threads} thr)` : ''}`, fmtPct(c.finalValAccuracy),
      c.stepsToTarget === null ? dash : String(c.stepsToTarget), c.secondsToTarget === null ? dash : fmtSec(c.secondsToTarget), fmtNoise(c.noiseFinal),
    ]);
  }
  out.push(`cost per candidate batch (${v.budget.meaning}):`, cost.toString());
  out.push('seconds to target = steps to target × batch ÷ samples/s (training steps only; the target is checked after each round)');
  out.push(`${v.costNote}`);
  if (v.batch.tradeoff.length > 0) {
    out.push(`steps and samples relative to the minimum (McCandlish et al.: 1 + B_noise/B and 1 + B/B_noise): ${v.batch.tradeoff.map((t) => `${t.batchSize}: ${t.stepsFactor.toFixed(2)}× steps, ${t.samplesFactor.toFixed(2)}× samples`).join('; ')}`);
  }
  if (r) out.push('', 'paste into your config:', r.snippet.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  out.push('', `time: ${fmtSec(v.seconds)}`);
  return `${out.join('\n')}\n`;
}
