/**
 * The direct training step (src/train/direct): the tape's kernels called without the tape
 * must train to the same bits as the tape, for the built-in CNN and MLP and the other
 * layer orders it plans (a hidden relu Dense after the convs, a conv without a pool),
 * with one thread, two threads, accumulation and the noise measurement; the loss and
 * accuracy each step reports must be the same numbers; nothing may stay allocated; the
 * profiled step's peak memory is the tape's; a model with a layer it does not know, a
 * NaN in a conv, or BSTUNE_DIRECT_STEP=0 train on the tape. Real wasm backend, real digits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setupBackend } from '../src/backend/setup.js';
import { train, type TrainOptions } from '../src/train/loop.js';
import { buildModel } from '../src/model/build.js';
import { loadDataset } from '../src/data/index.js';
import { optimizerSchema, type ModelConfig } from '../src/config/schema.js';
import { DirectStep, directStepCount, directStepRefusal, setDirectStep } from '../src/train/direct/runner.js';
import { directPlan, type LayerFacts } from '../src/train/direct/plan.js';
import { measureGradientNoise } from '../src/train/noise.js';
import { fuseConvBiasRelu } from '../src/backend/kernels/fuse-conv-layers.js';
import type { IoPlan } from '../src/model/shapes.js';
import type { LayersModel, Tf } from '../src/tf.js';

const data = loadDataset({ source: 'embedded', validationSplit: 0.05, trainLimit: 512 }, { seed: 3 });
const adam = optimizerSchema.parse({ name: 'adam', learningRate: 0.003, baseBatchSize: 32, scaling: 'none', warmup: { steps: 0 } });
const sgd = optimizerSchema.parse({ name: 'sgd', momentum: 0.9, learningRate: 0.05, baseBatchSize: 32, scaling: 'none', warmup: { steps: 0 } });
const MNIST: IoPlan = { xShape: [784], outputSize: 10, loss: 'sparseCategoricalCrossentropy', fromLogits: true, labels: 'sparse', accuracy: 'argmax' };
const IMAGES: IoPlan = { ...MNIST, xShape: [28, 28, 1] };

const cnn: ModelConfig = { kind: 'cnn', filters: [8, 16], kernelSize: 5, poolSize: 2, dense: [] };
const cnnHidden: ModelConfig = { kind: 'cnn', filters: [8, 8], kernelSize: 5, poolSize: 2, dense: [12] };
const mlp: ModelConfig = { kind: 'mlp', hidden: [16, 12] };

afterEach(() => {
  setDirectStep(true);
  delete process.env.BSTUNE_DIRECT_STEP;
});

/** conv (no pool) -> flatten -> dense: the conv's gradient takes BstuneReluGradBias, not the pool's. */
function convNoPool(tf: Tf): LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 9, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }));
  return m;
}

const bitsOf = (m: LayersModel): string[] => m.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer).toString('base64'));

async function trainBoth(make: (tf: Tf) => LayersModel, opts: Partial<TrainOptions> = {}, env = false) {
  const tf = await setupBackend('wasm');
  const d = await data;
  const once = async (direct: boolean) => {
    setDirectStep(direct);
    // Workers (threads) read the switch from the environment they start with.
    if (env) process.env.BSTUNE_DIRECT_STEP = direct ? '1' : '0';
    const m = make(tf);
    const losses: number[] = [];
    const live: string[] = [];
    const count = directStepCount();
    try {
      const r = await train(tf, m, d, {
        batchSize: 32, epochs: 1, maxSteps: 8, optimizer: adam, seed: 5, memoryLimit: null, ...opts,
        onStep: (e) => {
          losses.push(e.loss);
          live.push(`${tf.memory().numTensors} ${tf.memory().numBytes} ${(tf.backend() as unknown as { numDataIds(): number }).numDataIds()}`);
        },
      });
      return { r, losses, live, bits: bitsOf(m), direct: directStepCount() - count, history: r.history.map((h) => ({ ...h, seconds: 0 })) };
    } finally {
      m.dispose();
    }
  };
  const tape = await once(false);
  const direct = await once(true);
  return { tape, direct };
}

function expectSame(t: Awaited<ReturnType<typeof trainBoth>>): void {
  expect(t.tape.direct).toBe(0);
  expect(t.direct.bits).toEqual(t.tape.bits);
  expect(t.direct.losses).toEqual(t.tape.losses);
  expect(t.direct.history).toEqual(t.tape.history);
  // Above the baseline: tfjs's momentum optimizer leaves its rate scalar behind when disposed,
  // so the second run's baseline can hold the first run's 4 bytes.
  expect(t.direct.r.peakMemoryBytes - t.direct.r.memoryBaselineBytes).toBe(t.tape.r.peakMemoryBytes - t.tape.r.memoryBaselineBytes);
  expect(t.direct.r.peakMemoryBytes - t.direct.r.memoryBaselineBytes).toBeGreaterThan(0);
  expect(t.direct.r.initialLoss).toBe(t.tape.r.initialLoss);
}

describe('the direct step trains to the tape\'s bits (wasm, one thread)', () => {
  it.each([
    ['built-in CNN, Adam', (tf: Tf) => buildModel(tf, cnn, 11), {}],
    ['built-in CNN, SGD with momentum, 2 epochs with validation', (tf: Tf) => buildModel(tf, cnn, 11), { optimizer: sgd, maxSteps: undefined, epochs: 2, batchSize: 64 }],
    ['CNN with a hidden relu Dense', (tf: Tf) => buildModel(tf, cnnHidden, 12), {}],
    ['MLP with two hidden layers', (tf: Tf) => buildModel(tf, mlp, 13), {}],
    ['built-in MLP, batch 1', (tf: Tf) => buildModel(tf, { kind: 'mlp', hidden: [10] }, 14), { batchSize: 1, maxSteps: 12 }],
    ['conv without a pool', convNoPool, {}],
  ] as const)('%s', async (_name, make, opts) => {
    const t = await trainBoth(make, opts as Partial<TrainOptions>);
    // Every step but the memory-profiled one (on the tape: tf.profile counts engine tensors).
    expect(t.direct.direct).toBe(t.direct.r.steps - 1);
    expect(t.direct.bits).not.toEqual(bitsOf(make(await setupBackend('wasm'))));
    expectSame(t);
    // Nothing left allocated: the engine's counts and the backend's buffers stay flat step to step.
    expect(new Set(t.direct.live).size).toBe(1);
    expect(new Set(t.tape.live).size).toBe(1);
  }, 120_000);

  it('with accumulation (3 micro-batches per step)', async () => {
    const t = await trainBoth((tf) => buildModel(tf, cnn, 11), { accumulate: 3, batchSize: 16, maxSteps: 4 });
    expect(t.direct.direct).toBe(3 * 3);
    expectSame(t);
  }, 120_000);

  it('the gradient noise scale measures the same bits', async () => {
    const tf = await setupBackend('wasm');
    const d = await data;
    const m = buildModel(tf, cnn, 11);
    try {
      const plan = { smallBatch: 16, bigBatch: 64, batches: 2 };
      setDirectStep(false);
      const tape = await measureGradientNoise(tf, m, d.train, plan as never, 9, { io: IMAGES });
      setDirectStep(true);
      const count = directStepCount();
      const direct = await measureGradientNoise(tf, m, d.train, plan as never, 9, { io: IMAGES });
      expect(directStepCount() - count).toBe(8);
      expect({ ...direct, seconds: 0 }).toEqual({ ...tape, seconds: 0 });
    } finally {
      m.dispose();
    }
  }, 120_000);
});

describe('two threads', () => {
  it('the direct step in every replica: the same bits as two threads on the tape', async () => {
    const d = await data;
    const recipe = { backend: 'wasm' as const, model: cnn, seed: 11, data: { sampleShape: d.sampleShape, labelShape: d.labelShape, numClasses: d.numClasses, origin: d.origin } };
    let replicas: Float32Array[] = [];
    const t = await trainBoth((tf) => buildModel(tf, cnn, 11), { batchSize: 37, maxSteps: 5, threads: { count: 2, recipe, onReplicaWeights: (w) => { replicas = w; } } }, true);
    expect(t.direct.r.threads).toBe(2);
    // The main thread's replica ran direct on every step but the profiled one.
    expect(t.direct.direct).toBe(4);
    expectSame(t);
    expect(Buffer.from(replicas[1]!.buffer).equals(Buffer.from(replicas[0]!.buffer))).toBe(true);
  }, 120_000);
});

describe('falls back to the tape', () => {
  it('a model with a layer it does not know: no direct step, the same training', async () => {
    const tf = await setupBackend('wasm');
    const withDropout = (t: Tf): LayersModel => {
      const s = t.sequential();
      s.add(t.layers.dense({ inputShape: [784], units: 16, activation: 'relu', kernelInitializer: t.initializers.glorotUniform({ seed: 1 }) }));
      s.add(t.layers.dropout({ rate: 0.5, seed: 1 }));
      s.add(t.layers.dense({ units: 10, kernelInitializer: t.initializers.glorotUniform({ seed: 2 }) }));
      return s;
    };
    const probe = withDropout(tf);
    expect(directStepRefusal(probe, MNIST)).toMatch(/layer 2 \(Dropout\)/);
    expect(DirectStep.of(probe, MNIST)).toBeNull();
    probe.dispose();
    const t = await trainBoth(withDropout);
    expect(t.direct.direct).toBe(0);
  }, 120_000);

  it('refusals: softmax output, unfused conv, frozen layer, other losses', async () => {
    const tf = await setupBackend('wasm');
    const softmax = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 10, activation: 'softmax' })] });
    expect(directStepRefusal(softmax, MNIST)).toMatch(/activation softmax/);
    const conv = buildModel(tf, cnn, 1);
    // Not through fuseConvBiasRelu: the tape would run tfjs-layers' own conv call.
    expect(directStepRefusal(conv, IMAGES)).toMatch(/not a fused conv/);
    fuseConvBiasRelu(conv);
    expect(directStepRefusal(conv, IMAGES)).toBeNull();
    expect(directStepRefusal(conv, { ...IMAGES, loss: 'meanSquaredError' })).toMatch(/loss/);
    expect(directStepRefusal(conv, { ...IMAGES, labels: 'oneHot' })).toMatch(/sparse/);
    expect(directStepRefusal(conv, { ...IMAGES, xShape: [14, 56, 1] })).toMatch(/not the model's input \[28, 28, 1\]/);
    conv.layers[0]!.trainable = false;
    expect(directStepRefusal(conv, IMAGES)).toMatch(/frozen/);
    softmax.dispose();
    conv.dispose();
  });

  it('a NaN in a conv: that step runs on the tape (which recomputes the pre-activation), the same bits', async () => {
    const poisoned = (tf: Tf): LayersModel => {
      const m = buildModel(tf, cnn, 11);
      const [k, b] = m.layers[2]!.getWeights();
      const values = b!.dataSync().slice();
      values[3] = NaN;
      m.layers[2]!.setWeights([k!, tf.tensor1d(values)]);
      return m;
    };
    const t = await trainBoth(poisoned, { maxSteps: 4 });
    expect(t.direct.direct).toBe(0);
    expect(t.direct.bits).toEqual(t.tape.bits);
  }, 120_000);

  it('BSTUNE_DIRECT_STEP=0 (setDirectStep(false)): no direct step', async () => {
    const tf = await setupBackend('wasm');
    const m = buildModel(tf, cnn, 1);
    fuseConvBiasRelu(m);
    setDirectStep(false);
    expect(DirectStep.of(m, IMAGES)).toBeNull();
    m.dispose();
  });
});

describe('memory when a kernel throws mid-step', () => {
  it('a failure in the backward pass (e.g. the wasm heap exhausted) leaves nothing allocated, gradients already taken included', async () => {
    const tf = await setupBackend('wasm');
    const m = buildModel(tf, cnn, 11);
    fuseConvBiasRelu(m);
    const step = DirectStep.of(m, IMAGES)!;
    expect(step).not.toBeNull();
    const n = 8;
    const x = Float32Array.from({ length: n * 784 }, (_, i) => ((i * 37) % 256) / 255);
    const y = Int32Array.from({ length: n }, (_, i) => i % 10);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    // A clean step first: every gradient out, then freed.
    const ok = step.gradients(x, y, n)!;
    step.free(ok.grads);
    const before = backend.numDataIds();
    // The first conv's filter gradient is the last kernel of the step: the Dense's and the
    // second conv's gradients were already computed when it fails.
    const kernel = tf.getKernel('Conv2DBackpropFilter', 'wasm')! as { kernelFunc: (...a: unknown[]) => unknown };
    const stock = kernel.kernelFunc;
    let calls = 0;
    kernel.kernelFunc = (...a: unknown[]) => {
      if (++calls === 2) throw new RangeError('wasm heap exhausted: cannot allocate 1.0 MiB (heap at 3.90 GiB of its 4 GiB cap)');
      return stock(...a);
    };
    try {
      expect(() => step.gradients(x, y, n)).toThrow(/wasm heap exhausted/);
    } finally {
      kernel.kernelFunc = stock;
    }
    expect(calls).toBe(2);
    expect(backend.numDataIds()).toBe(before);
    m.dispose();
  }, 60_000);
});

describe('directPlan (pure)', () => {
  const layer = (className: string, extra: Partial<LayerFacts> = {}): LayerFacts => ({
    className, stock: true, trainable: true, weights: className === 'Dense' || className === 'Conv2D' ? ['k', 'b'] : [], nonTrainable: 0, ...extra,
  });
  const conv = layer('Conv2D', { fusedConv: true, strides: [1, 1] });
  const pool = layer('MaxPooling2D', { poolSize: [2, 2], strides: [2, 2], padding: 'valid', dataFormat: 'channelsLast' });
  const dense = (activation: string, units = 10) => layer('Dense', { activation, useBias: true, units });

  it('plans the built-in CNN and MLP', () => {
    expect(directPlan([conv, pool, conv, pool, layer('Flatten'), dense('linear')], IMAGES, 3)).toEqual({
      layers: [{ kind: 'conv', strides: [1, 1], pool: true }, { kind: 'conv', strides: [1, 1], pool: true }, { kind: 'flatten' }, { kind: 'dense', activation: 'linear' }],
      weightCounts: [2, 2, 0, 2],
    });
    expect(directPlan([dense('relu', 32), dense('linear')], MNIST, 1)).toEqual({
      layers: [{ kind: 'dense', activation: 'relu' }, { kind: 'dense', activation: 'linear' }], weightCounts: [2, 2],
    });
  });

  it.each([
    ['a 3x3 pool', [conv, { ...pool, poolSize: [3, 3] }, layer('Flatten'), dense('linear')], IMAGES, 3, /not 2x2/],
    ['a pool with no conv before it', [pool, layer('Flatten'), dense('linear')], IMAGES, 3, /MaxPooling2D\) is not one/],
    ['a Dense on images', [dense('linear')], IMAGES, 3, /rank-4/],
    ['a subclass', [{ ...dense('relu'), stock: false }, dense('linear')], MNIST, 1, /not tfjs-layers' own/],
    ['a relu output', [dense('relu')], MNIST, 1, /last layer/],
    ['the wrong width', [dense('linear', 7)], MNIST, 1, /last layer/],
    ['no bias', [{ ...dense('linear'), useBias: false, weights: ['k'] }], MNIST, 1, /no bias/],
    ['channels-first flatten', [conv, layer('Flatten', { dataFormat: 'channelsFirst' }), dense('linear')], IMAGES, 3, /channels-first/],
  ] as const)('refuses %s', (_name, layers, io, rank, why) => {
    expect(directPlan(layers as unknown as LayerFacts[], io, rank)).toMatch(why);
  });
});
