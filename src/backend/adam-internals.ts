// The parts of tfjs's AdamOptimizer that the fused Adam updates (wasm kernels and webgpu
// shaders) read and write: protected in its typings, so named here once for both.
import type * as tfc from '@tensorflow/tfjs-core';

export type AdamGradients = Parameters<tfc.AdamOptimizer['applyGradients']>[0];

interface Slot { originalName: string; variable: tfc.Variable }

/** AdamOptimizer's fields, protected in its typings. */
export interface AdamInternals {
  learningRate: number; beta1: number; beta2: number; epsilon: number;
  accBeta1: tfc.Variable; accBeta2: tfc.Variable;
  accumulatedFirstMoment: Slot[]; accumulatedSecondMoment: Slot[];
  incrementIterations(): void;
}
