import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import fc from 'fast-check';
import { planAccumulation } from '../src/search/target.js';

describe('planAccumulation (find-max --target-batch)', () => {
  it('fits as is: no accumulation', () => {
    expect(planAccumulation(256, 368)).toEqual({ targetBatch: 256, microBatch: 256, accumulate: 1, effectiveBatchSize: 256 });
  });
  it('the fewest micro-batches that split the target exactly', () => {
    expect(planAccumulation(1024, 368)).toEqual({ targetBatch: 1024, microBatch: 256, accumulate: 4, effectiveBatchSize: 1024 });
    expect(planAccumulation(1000, 368)).toEqual({ targetBatch: 1000, microBatch: 250, accumulate: 4, effectiveBatchSize: 1000 });
    expect(planAccumulation(4096, 368)).toEqual({ targetBatch: 4096, microBatch: 256, accumulate: 16, effectiveBatchSize: 4096 });
  });
  it('a prime target: the fewest micro-batches, a slightly smaller effective batch', () => {
    expect(planAccumulation(1009, 368)).toEqual({ targetBatch: 1009, microBatch: 336, accumulate: 3, effectiveBatchSize: 1008 });
  });
  it('property: the micro-batch fits, the effective batch is at most the target and close to it', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 5000 }), (b, m) => {
      const p = planAccumulation(b, m);
      expect(p.microBatch).toBeLessThanOrEqual(m);
      expect(p.microBatch).toBeGreaterThanOrEqual(1);
      expect(p.effectiveBatchSize).toBe(p.microBatch * p.accumulate);
      expect(p.effectiveBatchSize).toBeLessThanOrEqual(b);
      expect(p.accumulate).toBeLessThanOrEqual(2 * Math.ceil(b / m));
      expect(b - p.effectiveBatchSize).toBeLessThan(p.accumulate);
    }));
  });
});

// The note gave the check trial's peak rate (a few steps inside warmup: 0.0187 for batch 1024)
// as "learning rate", where the rate to train that effective batch with is the scaled one.
describe('find-max --target-batch through the CLI', () => {
  it('the plan names the scaled learning rate of the effective batch, and the check trial\'s own rate as such', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bstune-target-'));
    const r = await runCli(['find-max', '--start', '128', '--target-batch', '512', '--json', '--out', join(dir, 'r.jsonl')], { timeoutMs: 120_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { targetPlan: { microBatch: number; accumulate: number; verified: boolean; note: string } };
    expect(doc.targetPlan).toMatchObject({ microBatch: 128, accumulate: 4, verified: true });
    // linear from 0.001 at batch 32: 0.016 at 512
    expect(doc.targetPlan.note).toMatch(/; scaled learning rate for 512: 0\.016 \(the check's \d+ steps reached 0\.0\d+ in warmup\)$/);
  }, 120_000);
});
