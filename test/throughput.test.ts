/**
 * The one definition of samples/s (src/train/throughput.ts), on step-time traces shaped
 * like the real ones: a slow first step (kernel set-up), a profiled second step, and on
 * wasm/cpu tens of steps slowed by V8 compiling the JavaScript around the kernels.
 */
import { describe, expect, it } from 'vitest';
import { mserTruncation, speedMeasured, steadyThroughput, PROBE_SPEED_BUDGET } from '../src/train/throughput.js';

/** A seeded LCG, so the "noise" is the same on every run. */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Steps of `steady` seconds, ±10% noise, after a set-up step, a profiled step and a transient of `jit` steps decaying from 5x. */
function trace(n: number, steady: number, jit: number, seed = 1): number[] {
  const r = noise(seed);
  return Array.from({ length: n }, (_, i) => {
    if (i === 0) return steady * 60;
    if (i === 1) return steady * 8;
    const slow = i < jit ? 1 + 4 * (1 - i / jit) : 1;
    return steady * slow * (0.9 + 0.2 * r());
  });
}

describe('steadyThroughput', () => {
  it('finds the end of a 40-step JIT warm-up and measures the steady rate within 3%', () => {
    const t = steadyThroughput(trace(400, 0.002, 40), 64, 125);
    expect(t.samplesPerSecond!).toBeGreaterThan((64 / 0.002) * 0.97);
    expect(t.samplesPerSecond!).toBeLessThan((64 / 0.002) * 1.03);
    expect(t.warmupSteps).toBeGreaterThanOrEqual(25);
    expect(t.warmupSteps).toBeLessThanOrEqual(60);
    // The old definition (only the first two steps dropped) read this trace ~20% low.
    const old = trace(400, 0.002, 40).slice(2);
    expect((old.length * 64) / old.reduce((a, b) => a + b)).toBeLessThan((64 / 0.002) * 0.85);
  });

  it('s/epoch is samples per epoch at the steady rate: s/epoch × samples/s = steps per epoch × batch', () => {
    const t = steadyThroughput(trace(300, 0.01, 20, 7), 32, 250);
    expect(t.secondsPerEpoch! * t.samplesPerSecond!).toBeCloseTo(250 * 32, 6);
  });

  it('reports the warm-up apart: its wall seconds, and the extra over the steady rate', () => {
    const steps = trace(200, 0.004, 30, 3);
    const t = steadyThroughput(steps, 16, 10);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    expect(t.warmupSeconds).toBeCloseTo(sum(steps.slice(0, t.warmupSteps)), 12);
    expect(t.steadySeconds).toBeCloseTo(sum(steps.slice(t.warmupSteps)), 12);
    expect(t.warmupSteps + t.steadySteps).toBe(200);
    expect(t.warmupExtraSeconds).toBeCloseTo(t.warmupSeconds - t.warmupSteps * (16 / t.samplesPerSecond!), 12);
    expect(t.warmupExtraSeconds).toBeGreaterThan(0.004 * 60);
  });

  it('always drops the set-up and profiled steps, even when they are not slow', () => {
    const t = steadyThroughput(Array(50).fill(0.01), 10, 5);
    expect(t.warmupSteps).toBe(2);
    expect(t.samplesPerSecond).toBeCloseTo(1000, 9);
    expect(t.warmupExtraSeconds).toBeCloseTo(0, 12);
  });

  it('never drops more than half the steps, so a late slow-down is measured, not cut', () => {
    const steps = [...Array(50).fill(0.01), ...Array(50).fill(0.03)];
    const t = steadyThroughput(steps, 1, 1);
    expect(t.warmupSteps).toBeLessThanOrEqual(50);
    expect(t.steadySteps).toBeGreaterThanOrEqual(50);
  });

  it('few steps: only the fixed warm-up is dropped; none left gives null, not 0 or Infinity', () => {
    const few = steadyThroughput([0.5, 0.2, 0.1, 0.1, 0.1], 8, 4);
    expect(few).toMatchObject({ warmupSteps: 2, steadySteps: 3 });
    expect(few.samplesPerSecond).toBeCloseTo(80, 9);
    for (const steps of [[], [0.3], [0.3, 0.2]]) {
      const t = steadyThroughput(steps, 8, 4);
      expect(t.samplesPerSecond).toBeNull();
      expect(t.secondsPerEpoch).toBeNull();
      expect(t.steadySteps).toBe(0);
    }
  });
});

describe('mserTruncation', () => {
  it('cuts exactly at a clean level shift, and keeps everything when there is none', () => {
    expect(mserTruncation([9, 9, 9, 1, 1, 1, 1, 1, 1, 1], 0, 5)).toBe(3);
    expect(mserTruncation([2, 2, 2, 2, 2, 2], 0, 3)).toBe(0);
    expect(mserTruncation([2, 2, 2, 2, 2, 2], 2, 3)).toBe(2);
  });
});

describe('speedMeasured (how long a find-max trial keeps stepping)', () => {
  it('not after 5 steps of a fast model: that is all warm-up', () => {
    expect(speedMeasured(trace(5, 0.002, 40), PROBE_SPEED_BUDGET)).toBe(false);
  });
  it('once the steady steps reach the budget', () => {
    const steps = trace(2000, 0.002, 40);
    let k = 5;
    while (!speedMeasured(steps.slice(0, k), PROBE_SPEED_BUDGET)) k++;
    const t = steadyThroughput(steps.slice(0, k), 64, 1);
    expect(t.steadySeconds).toBeGreaterThanOrEqual(PROBE_SPEED_BUDGET.steadySeconds);
    expect(t.steadySteps).toBeGreaterThanOrEqual(PROBE_SPEED_BUDGET.steadySteps);
    expect(t.samplesPerSecond!).toBeGreaterThan((64 / 0.002) * 0.95);
  });
  it('a slow model stops at the time cap, with few long steps', () => {
    expect(speedMeasured([30, 20, 20], PROBE_SPEED_BUDGET)).toBe(true);
  });
});
