/**
 * Real Keras 3 exports (configs/examples/cnn-model: Keras 3.15.1 / TF 2.21 through the converter's
 * save_keras_model; configs/examples/keras-mlp: a functional model saved as .keras and converted
 * like --input_format keras_keras; both made by scripts/make-keras-example.py). bstune's forward
 * pass on the samples in keras-reference.json gives Keras's own predictions and loss; without the
 * weights the same topology is initialised from the seed. No Python needed: the files are committed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLayersModelFile, parseModelJson } from '../src/model/layers-file.js';
import { matchWeights, normaliseKerasTopology, snakeCase } from '../src/model/keras3.js';
import { modelShape, unappliedRegularizers } from '../src/model/info.js';
import { planIo } from '../src/model/shapes.js';
import { labelTensor, lossOf } from '../src/train/objective.js';
import type { Tf } from '../src/tf.js';
import { BstuneError } from '../src/errors.js';
import { repoRoot, runCli } from './helpers/cli.js';

const T = tf as unknown as Tf;
const examples = join(repoRoot, 'configs', 'examples');
const dir = mkdtempSync(join(tmpdir(), 'bstune-keras-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Reference { inputShape: number[]; inputs: number[][]; labels: number[]; kerasPredictions: number[][]; kerasLoss: number; kerasParams: number; kerasVersion: string }
const exportsUnderTest = [
  { name: 'cnn-model', how: 'save_keras_model (Sequential)', uint8: true },
  { name: 'keras-mlp', how: '.keras → keras_keras (Functional, optimizer state in the shard)', uint8: false },
];
const reference = (name: string) => JSON.parse(readFileSync(join(examples, name, 'keras-reference.json'), 'utf8')) as Reference;
const modelJson = (name: string) => JSON.parse(readFileSync(join(examples, name, 'model.json'), 'utf8')) as Record<string, unknown>;

/** The samples as bstune feeds them: uint8 pixels scaled to [0, 1], floats as they are; shaped for the model. */
function batch(ref: Reference, uint8: boolean, xShape: number[]) {
  const flat = ref.inputs.flat().map((v) => (uint8 ? v / 255 : v));
  return tf.tensor(flat, [ref.inputs.length, ...xShape], 'float32');
}

describe.each(exportsUnderTest)('real Keras 3 export $name ($how)', ({ name, uint8 }) => {
  const ref = reference(name);
  const file = join(examples, name, 'model.json');

  it('is what Keras 3 and the converter wrote (the fields tfjs 4.22 cannot read are there)', () => {
    const j = modelJson(name);
    expect(j.generatedBy).toBe('keras v3.15.1');
    expect(j.convertedBy).toMatch(/^TensorFlow\.js Converter v4\.22\.0$/);
    const text = JSON.stringify(j.modelTopology);
    expect(text).toContain('"batch_shape"');
    expect(text).not.toContain('"batch_input_shape"');
    expect(text).toContain('"DTypePolicy"');
    expect(ref.kerasVersion).toBe('3.15.1');
  });

  it('tfjs 4.22 alone refuses it (why bstune normalises it)', async () => {
    const { topology } = parseModelJson(readFileSync(file, 'utf8'), file);
    const e = await tf.loadLayersModel({ load: async () => ({ modelTopology: topology, format: 'layers-model' }) }).then(() => null, (err: unknown) => err as Error);
    expect(e?.message).toMatch(/InputLayer should be passed either a `batchInputShape` or an `inputShape`/);
  });

  it("with its weights: bstune's forward pass gives Keras's predictions and loss on the reference samples", async () => {
    const { model, weights } = await loadLayersModelFile(T, file, 1);
    expect(weights).toBe(true);
    expect(model.countParams()).toBe(ref.kerasParams);
    const data = { sampleShape: ref.inputShape, labelShape: [], numClasses: ref.kerasPredictions[0]!.length, origin: 'reference' };
    const plan = planIo(data, modelShape(model, file));
    expect(plan.loss).toBe('sparseCategoricalCrossentropy');
    const x = batch(ref, uint8, plan.xShape);
    const out = model.predict(x) as tf.Tensor;
    const got = out.arraySync() as number[][];
    expect(got).toHaveLength(ref.kerasPredictions.length);
    let worst = 0;
    for (const [i, row] of got.entries()) for (const [k, v] of row.entries()) worst = Math.max(worst, Math.abs(v - ref.kerasPredictions[i]![k]!));
    expect(worst).toBeLessThan(2e-5);
    // And they are confident, mostly right predictions (a trained model, not noise).
    const right = got.filter((row, i) => row.indexOf(Math.max(...row)) === ref.labels[i]).length;
    expect(right).toBeGreaterThanOrEqual(6);
    const y = labelTensor(T, plan, Int32Array.from(ref.labels), ref.labels.length);
    const loss = lossOf(T, plan, y, out).dataSync()[0]!;
    expect(Math.abs(loss - ref.kerasLoss)).toBeLessThan(1e-5 + 1e-4 * ref.kerasLoss);
    tf.dispose([x, out, y]);
    model.dispose();
  });

  it('without weights: the same topology initialised from the seed (same seed, same weights; Glorot bounds; zero biases)', async () => {
    const j = modelJson(name);
    delete j.weightsManifest;
    const topo = join(dir, `${name}-topology.json`);
    writeFileSync(topo, JSON.stringify(j));
    const load = async (seed: number) => {
      const { model, weights } = await loadLayersModelFile(T, topo, seed);
      expect(weights).toBe(false);
      return model;
    };
    const [a, b, c] = [await load(42), await load(42), await load(43)];
    expect(a.countParams()).toBe(ref.kerasParams);
    const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => [...w.dataSync()]);
    expect(flat(a)).toEqual(flat(b));
    expect(flat(a)).not.toEqual(flat(c));
    for (const w of a.getWeights()) {
      const v = w.dataSync();
      if (w.shape.length === 1) {
        expect(Math.max(...v.map(Math.abs))).toBe(0);
      } else {
        const recept = w.shape.slice(0, -2).reduce((p, d) => p * d, 1);
        const limit = Math.sqrt(6 / (recept * (w.shape.at(-2)! + w.shape.at(-1)!)));
        expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(limit);
        expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(limit * 0.8);
      }
    }
    // Untrained: not Keras's trained predictions.
    const x = batch(ref, uint8, a.inputs[0]!.shape.slice(1) as number[]);
    const out = a.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(out, tf.tensor(ref.kerasPredictions)))).dataSync()[0]!;
    expect(diff).toBeGreaterThan(0.05);
    tf.dispose([x, out]);
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('Keras 3 topology and weight names, unit', () => {
  it('normalises the CNN topology: batch_shape, dtype policies, module/registered_name all gone', () => {
    const { topology } = parseModelJson(readFileSync(join(examples, 'cnn-model', 'model.json'), 'utf8'), 'm.json');
    const n = normaliseKerasTopology(topology);
    const text = JSON.stringify(n.topology);
    expect(text).not.toMatch(/"batch_shape"|DTypePolicy|"module"|"registered_name"|"optional"/);
    expect(text).toContain('"batch_input_shape":[null,28,28,1]');
    expect(n.changes).toContain('InputLayer batch_shape → batch_input_shape');
  });

  it('turns Keras 3 functional nodes into Keras 2 node lists', () => {
    const { topology } = parseModelJson(readFileSync(join(examples, 'keras-mlp', 'model.json'), 'utf8'), 'm.json');
    const t = normaliseKerasTopology(topology).topology as { config: { layers: { inbound_nodes: unknown }[]; input_layers: unknown; output_layers: unknown } };
    expect(t.config.layers[1]!.inbound_nodes).toEqual([[['features', 0, 0, {}]]]);
    expect(t.config.input_layers).toEqual([['features', 0, 0]]);
    expect(t.config.output_layers).toEqual([['dense_2', 0, 0]]);
  });

  it('reads Keras\'s L1 and L2 regularizers as tfjs\'s L1L2 (tfjs alone: "Unknown regularizer: L2"), and the trial names them as not applied', async () => {
    const j = modelJson('cnn-model');
    delete j.weightsManifest;
    const layers = ((j.modelTopology as { model_config: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } }).model_config.config.layers);
    const dense = layers.find((l) => l.class_name === 'Dense')!;
    const conv = layers.find((l) => l.class_name === 'Conv2D')!;
    dense.config.kernel_regularizer = { module: 'keras.regularizers', class_name: 'L2', config: { l2: 0.02 }, registered_name: null };
    conv.config.bias_regularizer = { module: 'keras.regularizers', class_name: 'L1', config: { l1: 0.5 }, registered_name: null };
    const sub = join(dir, 'cnn-regularized');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'model.json'), JSON.stringify(j));
    const { model, notes } = await loadLayersModelFile(tf as unknown as Tf, join(sub, 'model.json'), 1);
    expect(notes.join()).toContain('L1/L2 regularizers → L1L2');
    const d = model.layers.find((l) => l.getClassName() === 'Dense')!.getConfig() as { kernelRegularizer: { className: string; config: { l1: number; l2: number } } };
    expect(d.kernelRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: expect.closeTo(0.02, 7) } });
    const c = model.layers.find((l) => l.getClassName() === 'Conv2D')!.getConfig() as { biasRegularizer: { config: { l1: number; l2: number } } };
    expect(c.biasRegularizer.config).toEqual({ l1: 0.5, l2: 0 });
    expect(unappliedRegularizers(model)).toEqual([`${conv.config.name as string} bias`, `${dense.config.name as string} kernel`]);
    model.dispose();
  });

  it('leaves a Keras 2 / tfjs topology as it is', () => {
    const k2 = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, dtype: 'float32', batch_input_shape: [null, 3] } }] } };
    expect(normaliseKerasTopology(k2)).toEqual({ topology: k2, changes: [] });
  });

  it('refuses what tfjs cannot do, with the reason: mixed precision, a tensor keyword argument', () => {
    const layer = (dtype: unknown) => ({ class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'big', units: 2, dtype } }] } });
    expect(() => normaliseKerasTopology(layer({ module: 'keras', class_name: 'DTypePolicy', config: { name: 'mixed_float16' }, registered_name: null })))
      .toThrow(/layer "big" uses the Keras dtype policy "mixed_float16" \(DTypePolicy\); TensorFlow\.js trains plain float32 layers only/);
    const kt = (h: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 4], dtype: 'float32', keras_history: [h, 0, 0] } });
    const fn = { class_name: 'Functional', config: { name: 'f', layers: [{ class_name: 'Attention', name: 'att', config: { name: 'att' }, inbound_nodes: [{ args: [[kt('q'), kt('v')]], kwargs: { mask: [kt('m'), null] } }] }] } };
    expect(() => normaliseKerasTopology(fn)).toThrow(/layer "att" is called with a tensor as keyword argument "mask"/);
  });

  it('matches weights by tfjs name, under the model name, or by position in a layer (Keras 3 names, .keras layout in any manifest order); skips optimizer state', () => {
    const layers = [
      { name: 'in', className: 'InputLayer', weights: [] },
      { name: 'c', className: 'Conv2D', weights: [{ name: 'c/kernel', shape: [3, 3, 1, 2] }, { name: 'c/bias', shape: [2] }] },
      { name: 'd', className: 'Dense', weights: [{ name: 'd/kernel', shape: [8, 2] }, { name: 'd/bias', shape: [2] }] },
      { name: 'e', className: 'Dense', weights: [{ name: 'e/kernel', shape: [2, 2] }, { name: 'e/bias', shape: [2] }] },
    ];
    const all = layers.flatMap((l) => l.weights);
    expect(matchWeights(all, layers, 'm')).toEqual({ ok: true, order: [[], [0, 1], [2, 3], [4, 5]], skipped: [], how: ['by name'] });
    expect(matchWeights(all.map((w) => ({ ...w, name: `m/${w.name}` })), layers, 'm')).toMatchObject({ ok: true, order: [[], [0, 1], [2, 3], [4, 5]], how: ['by name under the model name'] });
    // Keras 3 names a weight otherwise than tfjs (DepthwiseConv2D 'kernel', LSTM 'lstm_cell/...'): position within the layer, in file order.
    const renamed = all.map((w) => ({ ...w, name: `m/${w.name.replace('c/kernel', 'c/cell/w').replace('c/bias', 'c/cell/a')}` }));
    expect(matchWeights(renamed, layers, 'm')).toMatchObject({ ok: true, order: [[], [0, 1], [2, 3], [4, 5]], how: ['by position within the layer', 'by name under the model name'] });
    // .keras: groups named after the class (dense, dense_1), listed alphabetically by h5py; vars/10 after vars/2; optimizer state after.
    const v3 = [
      { name: 'layers/conv2d/vars/0', shape: [3, 3, 1, 2] }, { name: 'layers/conv2d/vars/1', shape: [2] },
      { name: 'layers/dense_1/vars/0', shape: [2, 2] }, { name: 'layers/dense_1/vars/1', shape: [2] },
      { name: 'layers/dense/vars/0', shape: [8, 2] }, { name: 'layers/dense/vars/1', shape: [2] },
      { name: 'optimizer/vars/0', shape: [] },
    ];
    expect(matchWeights(v3, layers, 'm')).toEqual({ ok: true, order: [[], [0, 1], [4, 5], [2, 3]], skipped: ['optimizer/vars/0'], how: ['in .keras order'] });
    const many = { name: 'big', className: 'Thing', weights: Array.from({ length: 11 }, (_, k) => ({ name: `big/w${k}`, shape: [k + 1] })) };
    const manyFile = many.weights.map((_, k) => ({ name: `layers/thing/vars/${k}`, shape: [k + 1] })).sort((a, b) => a.name.localeCompare(b.name));
    expect(matchWeights(manyFile, [many], 'm')).toMatchObject({ ok: true, order: [manyFile.map((_, k) => manyFile.findIndex((w) => w.name === `layers/thing/vars/${k}`))] });
    expect(snakeCase('MaxPooling2D')).toBe('max_pooling2d');
    expect(snakeCase('BatchNormalization')).toBe('batch_normalization');
    // Mismatches say which weight.
    const wrong = v3.map((w) => (w.name === 'layers/dense/vars/0' ? { ...w, shape: [9, 2] } : w));
    expect(matchWeights(wrong, layers, 'm')).toEqual({ ok: false, reason: "model.json weight layers/dense/vars/0 has shape [9, 2] but the model's d/kernel is [8, 2]" });
    expect(matchWeights([...all, { name: 'x/kernel', shape: [1] }], layers, 'm')).toMatchObject({ ok: false, reason: 'model.json has 1 weight(s) the model does not use (x/kernel [1])' });
    expect(matchWeights(all.slice(2), layers, 'm')).toEqual({ ok: false, reason: 'model.json has no weight for c/kernel [3, 3, 1, 2]' });
    expect(matchWeights(all.slice(1), layers, 'm')).toEqual({ ok: false, reason: "model.json has 1 weight(s) for layer c (c/bias [2]) but the model's Conv2D has 2 (c/kernel [3, 3, 1, 2], c/bias [2])" });
    // Weights of one layer in two .keras folders other than a Bidirectional's: refused, the order is unknown.
    const two = [{ name: 'layers/conv2d/a/vars/0', shape: [3, 3, 1, 2] }, { name: 'layers/conv2d/b/vars/0', shape: [2] }];
    expect(matchWeights(two, layers.slice(0, 2), 'm')).toMatchObject({ ok: false, reason: expect.stringMatching(/layer c's weights sit in 2 groups of the \.keras file/) });
  });

  it('a shard whose weights do not fit is one clear error naming model.json', async () => {
    const j = modelJson('keras-mlp') as { weightsManifest: { paths: string[]; weights: { name: string }[] }[] };
    j.weightsManifest[0]!.weights[0]!.name = 'layers/dense_9/vars/0';
    const sub = join(dir, 'mlp-bad');
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(sub);
    writeFileSync(join(sub, 'model.json'), JSON.stringify(j));
    writeFileSync(join(sub, 'group1-shard1of1.bin'), readFileSync(join(examples, 'keras-mlp', 'group1-shard1of1.bin')));
    const e = await loadLayersModelFile(T, join(sub, 'model.json'), 1).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(BstuneError);
    expect((e as BstuneError).message).toMatch(/^model\.json's weights do not fit its layers: model\.json has no weight for dense_1\/kernel \[8, 16\]|model\.json has 1 weight\(s\) for layer dense_1/);
  });
});

describe('Keras 3 layer zoo (test/fixtures/keras3: untrained, each converted by save_keras_model and from .keras)', () => {
  const root = join(repoRoot, 'test', 'fixtures', 'keras3');
  const refused: Record<string, RegExp> = {
    embedding_gru: /GRUCell does not support reset_after parameter set to true/,
    nested_sequential: /layer "inner" is itself a model \(Sequential\); bstune loads Keras 3 models whose layers are plain layers/,
  };
  const dirs = readdirSync(root).sort();
  it('holds every model both ways', () => {
    expect(dirs).toHaveLength(22);
  });
  it.each(dirs)('%s: loads and predicts what Keras predicted, or is refused with one clear line', async (d) => {
    const ref = JSON.parse(readFileSync(join(root, d, 'reference.json'), 'utf8')) as { shape: number[]; x: number[]; y: number[]; params: number };
    const why = refused[d.replace(/-(h5|keras)$/, '')];
    const p = loadLayersModelFile(T, join(root, d, 'model.json'), 1);
    if (why !== undefined) {
      const e = await p.then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(BstuneError);
      expect((e as BstuneError).message).toMatch(why);
      return;
    }
    const { model } = await p;
    expect(model.countParams()).toBe(ref.params);
    const x = tf.tensor(ref.x, ref.shape);
    const out = model.predict(x) as tf.Tensor;
    const got = out.dataSync();
    expect(got).toHaveLength(ref.y.length);
    const worst = Math.max(...ref.y.map((v, i) => Math.abs(v - got[i]!)));
    expect(worst).toBeLessThan(1e-5);
    tf.dispose([x, out]);
    model.dispose();
  });
});

describe('real Keras 3 exports through the bin', () => {
  interface Trial { batchSize: number; outcome: string; valAccuracy: number | null; model?: string }

  // 2,000 samples: the shared divergence rule (loss >10% above its start, 32-sample windows) reads
  // the noise of a few steps near an already low loss as a rise; 400 samples trip it (see README).
  it('train on configs/examples/cnn-model.yaml starts from Keras\'s trained weights (accuracy high from the first epoch)', { timeout: 200_000 }, async () => {
    const r = await runCli(['train', '-c', join(examples, 'cnn-model.yaml'), '--epochs', '1', '--train-limit', '2000', '-b', '32', '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { trials: Trial[] };
    const t = doc.trials[0]!;
    expect(t.outcome).toBe('ok');
    expect(t.model).toMatch(/cnn-model\/model\.json.*5,258 params.*; weights from the file$/);
    // Keras left it at ~94% train accuracy; validation is already there after one short epoch.
    expect(t.valAccuracy).toBeGreaterThan(0.9);
  });

  it('train on the same Keras 3 topology without its weights: initialised from the config\'s seed, so it starts from scratch', { timeout: 200_000 }, async () => {
    const j = modelJson('cnn-model');
    delete j.weightsManifest;
    const sub = join(dir, 'cnn-topology');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'model.json'), JSON.stringify(j));
    writeFileSync(join(sub, 'c.yaml'), 'data: {source: embedded}\nmodel: {path: model.json, loss: sparseCategoricalCrossentropy}\noptimizer: {name: adam, learningRate: 0.001, baseBatchSize: 32}\ntraining: {epochs: 1, seed: 42}\n');
    const run = async () => {
      const r = await runCli(['train', '-c', join(sub, 'c.yaml'), '--train-limit', '2000', '-b', '32', '--json'], { timeoutMs: 180_000 });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { trials: Trial[] }).trials[0]!;
    };
    const [a, b] = [await run(), await run()];
    expect(a.outcome).toBe('ok');
    expect(a.model).toMatch(/; initialised from seed 42$/);
    expect(a.valAccuracy).toBe(b.valAccuracy); // same seed, same initial weights, same run
    expect(a.valAccuracy).toBeGreaterThan(0.3); // it learns...
    expect(a.valAccuracy).toBeLessThan(0.9); // ...from scratch, not from Keras's weights (>0.9 above)
  });

  it('sweep on configs/examples/keras-mlp.yaml (functional, .keras-converted) runs every size', { timeout: 200_000 }, async () => {
    const r = await runCli(['sweep', '-c', join(examples, 'keras-mlp.yaml'), '--sizes', '8,32', '--epochs', '1', '--json'], { timeoutMs: 180_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { trials: Trial[] };
    expect(doc.trials.map((t) => [t.batchSize, t.outcome])).toEqual([[8, 'ok'], [32, 'ok']]);
    for (const t of doc.trials) expect(t.valAccuracy).toBeGreaterThan(0.9);
    expect(doc.trials[0]!.model).toMatch(/; weights from the file \(10 optimizer-state tensors in the shard skipped\)$/);
  });
});
