/**
 * A fitted memory model: peak memory is close to linear in the batch size (weights and
 * optimizer state are fixed; activations, gradients of activations and the batch grow
 * with it), so M(b) = M0 + b·m fitted by least squares over the trials that ran predicts
 * the largest batch under a memory size. Pure: points in, numbers out.
 */

export interface MemoryPoint {
  batchSize: number;
  bytes: number;
}

export interface MemoryModel {
  /** M0: bytes that do not grow with the batch (weights, optimizer state, fixed buffers). */
  fixedBytes: number;
  /** m: bytes per sample of the batch. */
  bytesPerSample: number;
  /** Coefficient of determination over the points; 1 by construction with two sizes. */
  r2: number;
  /** Distinct batch sizes the fit used. */
  points: number;
}

/** Below this R², memory is not linear enough in the batch to jump on a prediction. */
export const LINEAR_R2 = 0.98;

/** Least squares over the distinct batch sizes (repeats of one size are averaged); null with fewer than two sizes. */
export function fitMemory(points: readonly MemoryPoint[]): MemoryModel | null {
  const bySize = new Map<number, number[]>();
  for (const p of points) {
    if (!(p.batchSize > 0) || !Number.isFinite(p.bytes) || p.bytes <= 0) continue;
    (bySize.get(p.batchSize) ?? bySize.set(p.batchSize, []).get(p.batchSize)!).push(p.bytes);
  }
  const xs = [...bySize.keys()];
  if (xs.length < 2) return null;
  const ys = xs.map((x) => { const v = bySize.get(x)!; return v.reduce((a, b) => a + b, 0) / v.length; });
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let ssRes = 0;
  for (let i = 0; i < n; i++) ssRes += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  // All points at one height: a perfect (flat) fit, not 0/0.
  const r2 = syy === 0 ? 1 : Math.max(0, 1 - ssRes / syy);
  return { fixedBytes: intercept, bytesPerSample: slope, r2, points: n };
}

export function predictBytes(m: MemoryModel, batchSize: number): number {
  return m.fixedBytes + m.bytesPerSample * batchSize;
}

/**
 * The largest batch whose predicted peak stays within `budgetBytes`; null when memory
 * does not grow with the batch (nothing to predict from) or even one sample does not fit.
 */
export function predictMaxBatch(m: MemoryModel, budgetBytes: number): number | null {
  if (!(m.bytesPerSample > 0)) return null;
  const b = Math.floor((budgetBytes - m.fixedBytes) / m.bytesPerSample + 1e-9);
  return b >= 1 ? b : null;
}

export function roundDownToMultiple(b: number, k: number): number {
  return Math.floor(b / k) * k;
}

export function roundDownToPowerOfTwo(b: number): number {
  return b < 1 ? 0 : 2 ** Math.floor(Math.log2(b) + 1e-12);
}

/** The prediction for a device size, with the rounded sizes people use. */
export interface DevicePrediction {
  budgetBytes: number;
  maxBatch: number | null;
  multipleOf8: number | null;
  powerOfTwo: number | null;
}

export function predictForDevice(m: MemoryModel, budgetBytes: number): DevicePrediction {
  const maxBatch = predictMaxBatch(m, budgetBytes);
  return {
    budgetBytes,
    maxBatch,
    multipleOf8: maxBatch === null ? null : roundDownToMultiple(maxBatch, 8) || null,
    powerOfTwo: maxBatch === null ? null : roundDownToPowerOfTwo(maxBatch),
  };
}

/** What find-max reports about the fit (the `memoryModel` field of its JSON). */
export interface MemoryModelReport extends MemoryModel {
  /** r2 ≥ LINEAR_R2 (always true with two sizes, which fit any line exactly). */
  linear: boolean;
  /** The prediction for a device size: --device-memory, else --memory-limit, else the detected device. */
  prediction: (DevicePrediction & { device: string }) | null;
}

export function reportModel(m: MemoryModel | null, device: { bytes: number; label: string } | null): MemoryModelReport | null {
  if (m === null) return null;
  return {
    ...m,
    linear: m.r2 >= LINEAR_R2,
    prediction: device ? { device: device.label, ...predictForDevice(m, device.bytes) } : null,
  };
}
