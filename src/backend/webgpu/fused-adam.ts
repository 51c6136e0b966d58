// Adam on WebGPU in 3 dispatches per variable instead of ~14.
//
// tf.train.adam issues a kernel per elementwise op (mul, mul, add, square, div, sqrt,
// ...), about 14 per variable plus 2 for the bias-correction powers: 60 of the MLP's 93
// dispatches per step. On a GPU each dispatch costs a fixed launch/bind overhead that
// dwarfs a small model's math (on Mesa's software device ~0.2 ms each), so here the
// first moment, the second moment and the new value are one shader each, computing the
// same float32 operations in the same order as AdamOptimizer.applyGradients:
//   m' = m·β1 + g·(1−β1)            v' = v·β2 + (g·g)·(1−β2)
//   x' = (m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε) · (−lr) + x
// The powers β1ᵗ, β2ᵗ are float32 products kept in JavaScript (Math.fround after each
// multiplication is the device's correctly rounded float32 multiply), so the update
// reads nothing back from the device. Results equal the stock optimizer's within float
// rounding (a shader compiler may fuse a multiply-add): tested against the cpu backend.
// On any other backend it defers to the stock implementation.
import type * as tfc from '@tensorflow/tfjs-core';
import { tfCore as tf } from '../tfjs-require.js';
import type { AdamGradients, AdamInternals } from '../adam-internals.js';

/** The part of tfjs-backend-webgpu's program interface these shaders use. */
interface Program {
  variableNames: string[]; outputShape: number[]; shaderKey: string; size: boolean; uniforms: string;
  workgroupSize: [number, number, number]; dispatchLayout: { x: number[] }; dispatch: [number, number, number];
  getUserCode(): string;
}
interface WebgpuBackendLike {
  runWebGPUProgram(p: Program, inputs: tfc.TensorInfo[], dtype: 'float32', uniforms: { type: 'float32'; data: number[] }[]): tfc.TensorInfo;
}

const WORKGROUP = 64;

function program(name: string, inputs: string[], shape: number[], uniforms: string[], body: string): Program {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    variableNames: inputs,
    outputShape: shape,
    shaderKey: `bstune_adam_${name}`,
    size: true,
    uniforms: uniforms.map((u) => `${u} : f32,`).join(' '),
    workgroupSize: [WORKGROUP, 1, 1],
    dispatchLayout: { x: shape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    // A flat program: main(index) is called with the global invocation index.
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
}

const MOMENT = 'BstuneAdamMoment';
const VALUE = 'BstuneAdamValue';
let registered = false;

function registerKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: MOMENT, backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, g } = inputs as { x: tfc.TensorInfo; g: tfc.TensorInfo };
      const { beta, oneMinusBeta, square } = attrs as unknown as { beta: number; oneMinusBeta: number; square: boolean };
      const grad = square ? 'let g = G[index] * G[index];' : 'let g = G[index];';
      const p = program(square ? 'second_moment' : 'first_moment', ['X', 'G'], x.shape, ['beta', 'oneMinusBeta'],
        `${grad}\n          result[index] = X[index] * uniforms.beta + g * uniforms.oneMinusBeta;`);
      return (backend as unknown as WebgpuBackendLike).runWebGPUProgram(p, [x, g], 'float32',
        [{ type: 'float32', data: [beta] }, { type: 'float32', data: [oneMinusBeta] }]);
    },
  });
  tf.registerKernel({
    kernelName: VALUE, backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, m, v } = inputs as { x: tfc.TensorInfo; m: tfc.TensorInfo; v: tfc.TensorInfo };
      const { c1, c2, eps, negLr } = attrs as unknown as { c1: number; c2: number; eps: number; negLr: number };
      const p = program('value', ['X', 'M', 'V'], x.shape, ['c1', 'c2', 'eps', 'negLr'], `
          let mHat = M[index] / uniforms.c1;
          let vHat = V[index] / uniforms.c2;
          result[index] = (mHat / (sqrt(vHat) + uniforms.eps)) * uniforms.negLr + X[index];`);
      return (backend as unknown as WebgpuBackendLike).runWebGPUProgram(p, [x, m, v], 'float32',
        [c1, c2, eps, negLr].map((d) => ({ type: 'float32' as const, data: [d] })));
    },
  });
}

export class WebgpuFusedAdamOptimizer extends tf.AdamOptimizer {
  /** β1ᵗ and β2ᵗ as the float32 values accBeta1/accBeta2 hold on the device. */
  private acc: [number, number];

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
    // The stock constructor starts them at scalar(β): float32(β).
    this.acc = [Math.fround(beta1), Math.fround(beta2)];
    registerKernels();
  }

  override applyGradients(variableGradients: AdamGradients): void {
    if (tf.getBackend() !== 'webgpu') {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const f = Math.fround;
    const [accB1, accB2] = this.acc;
    // The scalars tfjs would build from these numbers are float32.
    const k = {
      b1: f(self.beta1), omb1: f(1 - self.beta1), b2: f(self.beta2), omb2: f(1 - self.beta2),
      c1: f(1 - accB1), c2: f(1 - accB2), eps: f(self.epsilon), negLr: f(-self.learningRate),
    };
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name] as tfc.Tensor | undefined;
        if (gradient == null) return;
        if (gradient.dtype !== 'float32' || value.dtype !== 'float32') throw new Error(`fused Adam: ${name} is not float32`);
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        if (m.size !== value.size || v.size !== value.size || gradient.size !== value.size) {
          throw new Error(`fused Adam: variable ${name} has ${value.size} values but its slots hold ${m.size}/${v.size}`);
        }
        const run = (kernel: string, inputs: Record<string, tfc.Tensor>, attrs: Record<string, number | boolean>) =>
          tf.engine().runKernel(kernel, inputs as unknown as tfc.NamedTensorMap, attrs as unknown as tfc.NamedAttrMap) as tfc.Tensor;
        const m2 = run(MOMENT, { x: m, g: gradient }, { beta: k.b1, oneMinusBeta: k.omb1, square: false });
        const v2 = run(MOMENT, { x: v, g: gradient }, { beta: k.b2, oneMinusBeta: k.omb2, square: true });
        const x2 = run(VALUE, { x: value, m: m2, v: v2 }, { c1: k.c1, c2: k.c2, eps: k.eps, negLr: k.negLr });
        m.assign(m2);
        v.assign(v2);
        value.assign(x2);
      });
      // What accBeta.assign(mul(accBeta, β)) computes on the device, without a dispatch.
      this.acc = [f(accB1 * k.b1), f(accB2 * k.b2)];
      self.accBeta1.assign(tf.scalar(this.acc[0]));
      self.accBeta2.assign(tf.scalar(this.acc[1]));
    });
    self.incrementIterations();
  }

  override async setWeights(weightValues: Parameters<tfc.AdamOptimizer['setWeights']>[0]): Promise<void> {
    await super.setWeights(weightValues);
    const self = this as unknown as AdamInternals;
    this.acc = [(await self.accBeta1.data())[0]!, (await self.accBeta2.data())[0]!];
  }
}
