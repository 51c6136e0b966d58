/**
 * Conv2D + bias + relu fused for training on wasm (src/backend/kernels/conv-bias-relu.ts,
 * fuse-conv-layers.ts): the fused kernel's output and every gradient (input, filter,
 * bias) have the exact bits of the unfused Conv2D -> Add -> Relu that tfjs runs while
 * recording gradients, NaN/Inf cases included; layers that don't fit, other backends and
 * inference run tfjs-layers' own call; training on one thread keeps its exact history,
 * and two threads still match one up to summation order. Real wasm backend, small shapes.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend } from '../src/backend/kernels/index.js';
import { CONV_BIAS_RELU, MAX_POOL_RELU_GRAD, RELU_GRAD_BIAS, pooledForwardCount, setPoolForwardFusion, setPoolReluFusion } from '../src/backend/kernels/conv-bias-relu.js';
import { fuseConvBiasRelu, setConvBiasReluFusion } from '../src/backend/kernels/fuse-conv-layers.js';
import { setSimdKernelsEnabled } from '../src/backend/kernels/simd/index.js';
import { setDirectConv2D } from '../src/backend/kernels/conv2d.js';
import { setupBackend } from '../src/backend/setup.js';
import { setDirectStep } from '../src/train/direct/runner.js';
import { buildModel } from '../src/model/build.js';
import { loadDataset } from '../src/data/index.js';
import { optimizerSchema, type ModelConfig } from '../src/config/schema.js';
import { train, type TrainOptions } from '../src/train/loop.js';
import type { Tf } from '../src/tf.js';

beforeAll(async () => {
  await initWasmBackend();
});

afterEach(async () => {
  setConvBiasReluFusion(true);
  setPoolReluFusion(true);
  setPoolForwardFusion(true);
  setSimdKernelsEnabled(true);
  setDirectConv2D(true);
  await tf.setBackend('wasm');
});

let seed = 7;
/** Deterministic values in [-1, 1) (a small LCG), so failures reproduce. */
function values(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = (seed / 2 ** 32) * 2 - 1;
  }
  return out;
}

const bits = (t: tf.Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);

function expectSameBits(got: tf.Tensor, want: tf.Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const g = bits(got);
  const w = bits(want);
  let diff = 0;
  for (let i = 0; i < w.length; i++) if (g[i] !== w[i]) diff++;
  expect(diff, `${what}: ${diff} of ${w.length} values differ in bits`).toBe(0);
}

/** Kernel names run by f. */
function kernelsOf(f: () => void): string[] {
  const names: string[] = [];
  const engine = tf.engine() as unknown as { runKernelFunc: (c: { kernelName?: string }) => unknown };
  const orig = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (c) => { if (c.kernelName) names.push(c.kernelName); return orig(c); };
  try { f(); } finally { engine.runKernelFunc = orig; }
  return names;
}

async function kernelsOfAsync<T>(f: () => Promise<T>): Promise<[T, string[]]> {
  const names: string[] = [];
  const engine = tf.engine() as unknown as { runKernelFunc: (c: { kernelName?: string }) => unknown };
  const orig = engine.runKernelFunc.bind(engine);
  engine.runKernelFunc = (c) => { if (c.kernelName) names.push(c.kernelName); return orig(c); };
  try { return [await f(), names]; } finally { engine.runKernelFunc = orig; }
}

interface Case { name: string; x: number[]; f: number[]; strides: [number, number] }
const cases: Case[] = [
  { name: 'MNIST layer 1 (1 -> 8, 5x5)', x: [3, 28, 28, 1], f: [5, 5, 1, 8], strides: [1, 1] },
  { name: 'MNIST layer 2 (8 -> 16, 5x5)', x: [3, 12, 12, 8], f: [5, 5, 8, 16], strides: [1, 1] },
  { name: 'odd width, leftover pixels, stride 2 (3 -> 8, 3x3)', x: [2, 11, 13, 3], f: [3, 3, 3, 8], strides: [2, 2] },
  { name: 'wide (2 -> 24): the bias sum outside the one-pass kernel', x: [2, 9, 10, 2], f: [3, 2, 2, 24], strides: [1, 1] },
  { name: 'more than 256 pixels per bias block (1 -> 16, 1x1)', x: [3, 20, 20, 1], f: [1, 1, 1, 16], strides: [1, 1] },
];

type Tail = 'none' | 'pool' | 'pool + second user';

/**
 * y (then its 2x2 max pool when tail says) and the gradients of sum(out * dy) with
 * respect to x, filter and bias, fused or unfused; 'pool + second user' also adds y's sum.
 */
function convBiasRelu(fused: boolean, x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: [number, number], tail: Tail) {
  const f = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor => {
    const y = fused
      ? (tf.engine().runKernel(CONV_BIAS_RELU, { x: a, filter: w, bias: b }, { strides } as unknown as tf.NamedAttrMap) as tf.Tensor[])[0]!
      : tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, strides, 'valid'), b));
    if (tail === 'none') return y;
    const pooled = tf.maxPool(y as tf.Tensor4D, 2, 2, 'valid');
    return tail === 'pool' ? pooled : tf.add(pooled, tf.sum(y));
  };
  const shape = tf.tidy(() => f(x, filter, bias).shape);
  const saved = seed;
  seed = 99; // the same dy for the fused and the unfused run
  const dy = tf.tensor(values(shape.reduce((p, q) => p * q, 1)), shape);
  seed = saved;
  const { value, grads } = tf.engine().gradients(() => f(x, filter, bias), [x, filter, bias], dy);
  return { y: value, dx: grads[0]!, dw: grads[1]!, db: grads[2]! };
}

/** Equal values where +0 and -0 count as equal (and NaN as NaN). */
function expectSameValues(got: tf.Tensor, want: tf.Tensor, what: string): void {
  const g = got.dataSync();
  const w = want.dataSync();
  let diff = 0;
  for (let i = 0; i < w.length; i++) if (!(g[i] === w[i] || (Number.isNaN(g[i]) && Number.isNaN(w[i])))) diff++;
  expect(diff, `${what}: ${diff} of ${w.length} values differ`).toBe(0);
}

describe.each(cases)('fused Conv2D + bias + relu = Conv2D -> Add -> Relu, bit for bit: $name', ({ x: xs, f: fs, strides }) => {
  const make = (special: boolean) => {
    const x = values(xs.reduce((a, b) => a * b));
    const w = values(fs.reduce((a, b) => a * b));
    if (special) {
      // Inf inputs against zero weights make NaN pre-activations (x86's default NaN has
      // its sign bit set, which relu turns into +0 while its gradient keeps the NaN).
      x[5] = Infinity; x[x.length - 9] = -Infinity; x[17] = NaN;
      for (let i = 0; i < w.length; i += 7) w[i] = 0;
    }
    const b = values(fs[3]!);
    b[0] = 0; b[1] = -0;
    return {
      x: tf.tensor4d(x, xs as [number, number, number, number]),
      filter: tf.tensor4d(w, fs as [number, number, number, number]),
      bias: tf.tensor1d(b),
    };
  };
  const outH = Math.floor((xs[1]! - fs[0]!) / strides[0]) + 1;
  const outW = Math.floor((xs[2]! - fs[1]!) / strides[1]) + 1;
  // The pool's gradient takes the mask and bias sum when 2x2 windows cover y exactly.
  const poolFuses = outH % 2 === 0 && outW % 2 === 0 && fs[3]! <= 16;

  it.each([
    ['finite values', false, 'none'], ['with Inf and NaN inputs', true, 'none'],
    ['then a 2x2 max pool', false, 'pool'], ['then a 2x2 max pool, Inf and NaN inputs', true, 'pool'],
  ] as const)('%s', (_label, special, tail) => {
    tf.tidy(() => {
      const { x, filter, bias } = make(special);
      let fused!: ReturnType<typeof convBiasRelu>;
      const names = kernelsOf(() => { fused = convBiasRelu(true, x, filter, bias, strides, tail); });
      const unfused = convBiasRelu(false, x, filter, bias, strides, tail);
      expect(names).toContain(CONV_BIAS_RELU);
      expect(names).not.toContain('Relu');
      const pooled = tail === 'pool' && poolFuses;
      expect(names.includes(MAX_POOL_RELU_GRAD)).toBe(pooled);
      // The one-pass gradient runs unless a pre-activation was NaN (then the unfused
      // ops run) or the pool's gradient did its work.
      expect(names.includes(RELU_GRAD_BIAS)).toBe(!special && !pooled);
      expectSameBits(fused.y, unfused.y, 'y');
      expectSameBits(fused.dx, unfused.dx, 'dx');
      expectSameBits(fused.dw, unfused.dw, 'dfilter');
      // Same blocks and order as the Sum kernel, so the bias gradient's bits match too.
      expectSameBits(fused.db, unfused.db, 'dbias');
      if (special) expect(Array.from(fused.dw.dataSync()).some(Number.isNaN)).toBe(true);
      else expect(Array.from(fused.dw.dataSync()).some((v) => v !== 0)).toBe(true);
    });
  });

  it('a pool that is not y\'s only user: equal values (the mask applied twice can only flip the sign of a zero)', () => {
    tf.tidy(() => {
      const { x, filter, bias } = make(false);
      const fused = convBiasRelu(true, x, filter, bias, strides, 'pool + second user');
      const unfused = convBiasRelu(false, x, filter, bias, strides, 'pool + second user');
      expectSameBits(fused.y, unfused.y, 'y');
      expectSameValues(fused.dx, unfused.dx, 'dx');
      expectSameValues(fused.dw, unfused.dw, 'dfilter');
      expectSameValues(fused.db, unfused.db, 'dbias');
    });
  });
});

function convModel(layer: Parameters<typeof tf.layers.conv2d>[0], inputShape: number[]): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }), ...layer }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }));
  return m;
}
/** Kernels of one gradient step, its loss and gradients. */
function step(m: tf.LayersModel, x: tf.Tensor) {
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  let out!: { value: tf.Scalar; grads: tf.NamedTensorMap };
  const names = kernelsOf(() => { out = tf.variableGrads(() => tf.mean(tf.square(m.apply(x, { training: true }) as tf.Tensor)), vars); });
  return { names, loss: out.value, grads: vars.map((v) => out.grads[v.name]!) };
}

describe('which layers take the fused op', () => {
  const base = { filters: 8, kernelSize: 3, activation: 'relu' as const };

  it('a fitting layer: fused while training, same loss and gradient bits, serialization unchanged', () => {
    const m = convModel(base, [10, 10, 1]);
    const x = tf.tensor4d(values(2 * 100), [2, 10, 10, 1]);
    const json = JSON.stringify(m.toJSON(null, false));
    setConvBiasReluFusion(false);
    const plain = step(m, x);
    setConvBiasReluFusion(true);
    expect(fuseConvBiasRelu(m)).toBe(1);
    expect(fuseConvBiasRelu(m)).toBe(1); // idempotent
    const fused = step(m, x);
    expect(plain.names).toContain('Relu');
    expect(fused.names).toContain(CONV_BIAS_RELU);
    expect(fused.names).not.toContain('Relu');
    expect(fused.names).not.toContain('Conv2DBackpropInput'); // the first layer's input needs no gradient
    expectSameBits(fused.loss, plain.loss, 'loss');
    fused.grads.forEach((g, i) => expectSameBits(g, plain.grads[i]!, m.trainableWeights[i]!.name));
    expect(JSON.stringify(m.toJSON(null, false))).toBe(json);
    // Inference keeps tfjs's own FusedConv2D.
    const names = kernelsOf(() => { (m.predict(x) as tf.Tensor).dispose(); });
    expect(names).toContain('FusedConv2D');
    expect(names).not.toContain(CONV_BIAS_RELU);
  });

  it.each([
    ['same padding', { padding: 'same' as const }],
    ['no bias', { useBias: false }],
    ['linear activation', { activation: 'linear' as const }],
    ['dilation 2', { dilationRate: 2 }],
  ])('not fused: %s', (label, extra) => {
    const m = convModel({ ...base, ...extra }, [10, 10, 1]);
    expect(fuseConvBiasRelu(m)).toBe(0);
    if (label === 'dilation 2') return; // tfjs has no gradient for a dilated conv
    const x = tf.tensor4d(values(2 * 100), [2, 10, 10, 1]);
    expect(step(m, x).names).not.toContain(CONV_BIAS_RELU);
  });

  it('a Conv2D whose call is not tfjs-layers\' own (a model module\'s subclass, or an instance\'s override) keeps that call', () => {
    // What a createModel() module can write: a subclass of tfjs-layers' Conv2D (getClassName still says 'Conv2D').
    const Conv2D = tf.layers.conv2d(base).constructor as new (a: typeof base & { inputShape: number[] }) => tf.layers.Layer;
    class Doubled extends Conv2D {
      override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
        return tf.mul(super.call(inputs, kwargs) as tf.Tensor, 2);
      }
    }
    const sub = tf.sequential();
    sub.add(new Doubled({ ...base, inputShape: [10, 10, 1] }));
    sub.add(tf.layers.flatten());
    const inst = convModel(base, [10, 10, 1]);
    const layer = inst.layers[0] as unknown as { call: (i: tf.Tensor | tf.Tensor[], k: Record<string, unknown>) => tf.Tensor | tf.Tensor[] };
    const own = layer.call.bind(layer);
    layer.call = (i, k) => tf.mul(own(i, k) as tf.Tensor, 2);
    for (const [label, m] of [['subclass', sub], ['instance', inst]] as const) {
      expect(m.layers[0]!.getClassName(), label).toBe('Conv2D');
      const x = tf.tensor4d(values(2 * 100), [2, 10, 10, 1]);
      setConvBiasReluFusion(false);
      const plain = step(m, x);
      setConvBiasReluFusion(true);
      expect(fuseConvBiasRelu(m), label).toBe(0);
      const fused = step(m, x);
      expect(fused.names, label).toContain('Multiply');
      expect(fused.names, label).not.toContain(CONV_BIAS_RELU);
      expectSameBits(fused.loss, plain.loss, label);
    }
  });

  it('shapes, backends and switches the kernel does not take run tfjs-layers\' call with its bits', async () => {
    const cases: Array<[string, () => tf.Sequential, () => void | Promise<void>]> = [
      ['32 input channels', () => convModel(base, [8, 8, 32]), () => {}],
      ['4 filters', () => convModel({ ...base, filters: 4 }, [10, 10, 1]), () => {}],
      ['no SIMD', () => convModel(base, [10, 10, 1]), () => setSimdKernelsEnabled(false)],
      ['direct conv off', () => convModel(base, [10, 10, 1]), () => setDirectConv2D(false)],
      ['cpu backend', () => convModel(base, [10, 10, 1]), async () => { await tf.setBackend('cpu'); }],
    ];
    for (const [label, build, setup] of cases) {
      await setup();
      const m = build();
      const [h, w, c] = m.inputs[0]!.shape.slice(1) as number[];
      const x = tf.tensor4d(values(2 * h! * w! * c!), [2, h!, w!, c!]);
      expect(fuseConvBiasRelu(m), label).toBe(1);
      const fused = step(m, x);
      setConvBiasReluFusion(false);
      const plain = step(m, x);
      setConvBiasReluFusion(true);
      expect(fused.names, label).not.toContain(CONV_BIAS_RELU);
      expect(fused.names, label).toEqual(plain.names);
      expectSameBits(fused.loss, plain.loss, label);
      setSimdKernelsEnabled(true);
      setDirectConv2D(true);
      await tf.setBackend('wasm');
    }
  });
});

describe('the 2x2 max pool computed with the fused conv (chunks of images pooled while in cache)', () => {
  function poolModel(filters: number, kernelSize: number, inputShape: number[], pool: { poolSize: number; strides: number }): tf.Sequential {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape, filters, kernelSize, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }) }));
    m.add(tf.layers.maxPooling2d(pool));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }));
    return m;
  }
  /** Pool output, loss and gradients of one step (pool output taken inside the same tape). */
  function poolStep(m: tf.LayersModel, x: tf.Tensor) {
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    let pooled!: tf.Tensor;
    let out!: { value: tf.Scalar; grads: tf.NamedTensorMap };
    out = tf.variableGrads(() => {
      const p = m.layers[1]!.apply(m.layers[0]!.apply(x)) as tf.Tensor;
      pooled = tf.keep(p.clone());
      return tf.mean(tf.square(m.layers[3]!.apply(m.layers[2]!.apply(p)) as tf.Tensor));
    }, vars);
    return { pooled, loss: out.value, grads: vars.map((v) => out.grads[v.name]!) };
  }

  it.each([
    ['MNIST layer 1 shape, batch 7 (chunks of 3 images, a short last chunk)', 8, 5, [28, 28, 1], 7],
    ['odd conv output 11x11 (last row and column not pooled), 16 filters', 16, 3, [13, 13, 2], 5],
    ['many images per chunk, batch 40', 8, 3, [6, 6, 1], 40],
  ])('%s: pool, loss and gradients bit-equal to the separate MaxPool', (_label, filters, k, shape, batch) => {
    const m = poolModel(filters as number, k as number, shape as number[], { poolSize: 2, strides: 2 });
    const s = shape as number[];
    const n = (batch as number) * s[0]! * s[1]! * s[2]!;
    const v = values(n);
    v[5] = NaN; v[n - 9] = -0; v[17] = Infinity;
    const x = tf.tensor4d(v, [batch as number, s[0]!, s[1]!, s[2]!]);
    expect(fuseConvBiasRelu(m)).toBe(1);
    setPoolForwardFusion(false);
    const before0 = pooledForwardCount();
    const plain = poolStep(m, x);
    expect(pooledForwardCount()).toBe(before0);
    setPoolForwardFusion(true);
    const fused = poolStep(m, x);
    expect(pooledForwardCount()).toBe(before0 + 1);
    expectSameBits(fused.pooled, plain.pooled, 'pooled');
    expectSameBits(fused.loss, plain.loss, 'loss');
    fused.grads.forEach((g, i) => expectSameBits(g, plain.grads[i]!, m.trainableWeights[i]!.name));
    setConvBiasReluFusion(false);
    const unfused = poolStep(m, x);
    expectSameBits(fused.pooled, unfused.pooled, 'pooled vs unfused conv');
    fused.grads.forEach((g, i) => expectSameBits(g, unfused.grads[i]!, `${m.trainableWeights[i]!.name} vs unfused conv`));
  });

  it('a pool of a reshape of the conv output (same data, other shape, same pooled shape) pools that reshape, not the stash', () => {
    const m = poolModel(8, 2, [6, 5, 1], { poolSize: 2, strides: 2 });
    const x = tf.tensor4d(values(3 * 30), [3, 6, 5, 1]);
    expect(fuseConvBiasRelu(m)).toBe(1);
    // Conv output [3, 5, 4, 8] pools to [3, 2, 2, 8]; its reshape to [3, 4, 5, 8] pools to the same shape, other values.
    const pooledOfReshape = () => {
      let p!: tf.Tensor;
      tf.variableGrads(() => {
        const y = m.layers[0]!.apply(x) as tf.Tensor;
        p = tf.keep(tf.maxPool(tf.reshape(y, [3, 4, 5, 8]) as tf.Tensor4D, 2, 2, 'valid'));
        return tf.sum(p) as tf.Scalar;
      }, m.trainableWeights.map((w) => w.read() as tf.Variable));
      return p;
    };
    const before = pooledForwardCount();
    const fused = pooledOfReshape();
    expect(pooledForwardCount()).toBe(before);
    setPoolForwardFusion(false);
    expectSameBits(fused, pooledOfReshape(), 'pooled reshape');
  });

  it('a pool that is not 2x2 stride 2: no pool with the conv, same bits', () => {
    const m = poolModel(8, 3, [10, 10, 1], { poolSize: 3, strides: 2 });
    const x = tf.tensor4d(values(3 * 100), [3, 10, 10, 1]);
    expect(fuseConvBiasRelu(m)).toBe(1);
    const before = pooledForwardCount();
    const fused = poolStep(m, x);
    expect(pooledForwardCount()).toBe(before);
    setConvBiasReluFusion(false);
    const plain = poolStep(m, x);
    expectSameBits(fused.pooled, plain.pooled, 'pooled');
    fused.grads.forEach((g, i) => expectSameBits(g, plain.grads[i]!, m.trainableWeights[i]!.name));
  });
});

describe('training with the fused op (wasm, the CNN with 8 and 16 filters)', () => {
  const data = loadDataset({ source: 'embedded', validationSplit: 0.02, trainLimit: 300 }, { seed: 3 });
  const cnn: ModelConfig = { kind: 'cnn', filters: [8, 16], kernelSize: 5, poolSize: 2, dense: [] };
  const optimizer = optimizerSchema.parse({ name: 'adam', learningRate: 0.002, baseBatchSize: 32, scaling: 'none', warmup: { steps: 0 } });

  async function run(fused: boolean, threads: number) {
    setConvBiasReluFusion(fused);
    // The tape's kernels, counted through the engine (the direct step, which replays them
    // past the engine, has its own test: direct-step.test.ts).
    setDirectStep(false);
    const tf2 = (await setupBackend('wasm')) as Tf;
    const d = await data;
    const m = buildModel(tf2, cnn, 11);
    const losses: number[] = [];
    const opts: TrainOptions = {
      batchSize: 32, epochs: 1, maxSteps: 4, optimizer, seed: 5, memoryLimit: null, onStep: (e) => losses.push(e.loss),
      ...(threads > 1 ? { threads: { count: threads, recipe: { backend: 'wasm', model: cnn, seed: 11, data: { sampleShape: d.sampleShape, labelShape: d.labelShape, numClasses: d.numClasses, origin: d.origin } } } } : {}),
    };
    try {
      const [r, names] = await kernelsOfAsync(() => train(tf2, m, d, opts));
      return { losses, history: r.history, weights: m.getWeights().map((w) => Float32Array.from(w.dataSync())), names };
    } finally {
      m.dispose();
      setConvBiasReluFusion(true);
      setDirectStep(true);
    }
  }

  it('one thread: the same losses, history and weights, bit for bit, as unfused', async () => {
    const plain = await run(false, 1);
    const pooledBefore = pooledForwardCount();
    const fused = await run(true, 1);
    expect(plain.names).not.toContain(CONV_BIAS_RELU);
    expect(fused.names.filter((n) => n === CONV_BIAS_RELU)).toHaveLength(2 * 4);
    expect(fused.names.filter((n) => n === MAX_POOL_RELU_GRAD)).toHaveLength(2 * 4);
    expect(pooledForwardCount() - pooledBefore).toBe(2 * 4);
    expect(fused.losses).toEqual(plain.losses);
    expect(fused.history).toEqual(plain.history.map((h) => ({ ...h, seconds: expect.any(Number) })));
    fused.weights.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(plain.weights[i]!.buffer)), `weight ${i}`).toBe(true));
  }, 60_000);

  it('two threads (each replica fused) = one thread up to summation order', async () => {
    const one = await run(true, 1);
    const two = await run(true, 2);
    let abs = 0;
    let scale = 0;
    one.weights.forEach((w, i) => w.forEach((v, j) => { abs = Math.max(abs, Math.abs(v - two.weights[i]![j]!)); scale = Math.max(scale, Math.abs(v)); }));
    expect(abs / scale).toBeLessThan(1e-4);
    two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(one.losses[i]!))));
  }, 60_000);
});
