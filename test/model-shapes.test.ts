/** Shape checks between data and model (pure): how a batch is shaped, which loss, and one clear line per mismatch. */
import { describe, expect, it } from 'vitest';
import { inputPlan, planIo, type DataShape, type ModelShape } from '../src/model/shapes.js';
import { seedInitializers, parseModelJson } from '../src/model/layers-file.js';
import { bstuneErrorFrom } from './helpers/thrown.js';

const mnist: DataShape = { sampleShape: [28, 28], labelShape: [], numClasses: 10, origin: '/d/train-images-idx3-ubyte' };
const model = (inputs: (number | null)[], out: number, act = 'linear'): ModelShape => ({ inputs: [inputs], outputs: [[out]], lastActivation: act, origin: '/m/model.json' });

describe('input plan', () => {
  it.each([
    [[28, 28], [28, 28], [28, 28]],
    [[28, 28, 1], [28, 28], [28, 28, 1]],
    [[784], [28, 28], [784]],
    [[null], [28, 28], [784]],
    [[null, null, 3], [32, 32, 3], [32, 32, 3]],
    [[28, 28, 3], [28, 28], null],
    [[100], [28, 28], null],
  ])('model %j, data %j -> %j', (m, d, want) => {
    expect(inputPlan(m as (number | null)[], d as number[])).toEqual(want);
  });
});

describe('loss and labels', () => {
  it('built-in style: logits and class labels -> sparse softmax cross-entropy with argmax accuracy', () => {
    expect(planIo(mnist, model([784], 10))).toEqual({ xShape: [784], outputSize: 10, loss: 'sparseCategoricalCrossentropy', fromLogits: true, labels: 'sparse', accuracy: 'argmax' });
  });
  it('a softmax output is read as probabilities', () => {
    expect(planIo(mnist, model([28, 28, 1], 10, 'softmax'))).toMatchObject({ fromLogits: false, xShape: [28, 28, 1] });
  });
  it('one sigmoid output and 0/1 labels -> binary cross-entropy, thresholded accuracy', () => {
    const d = { ...mnist, numClasses: 2 };
    expect(planIo(d, model([784], 1, 'sigmoid'))).toMatchObject({ loss: 'binaryCrossentropy', fromLogits: false, labels: 'value', accuracy: 'threshold' });
  });
  it('float targets -> mean squared error, no accuracy', () => {
    const d: DataShape = { sampleShape: [5], labelShape: [], numClasses: null, origin: 'x.npy' };
    expect(planIo(d, model([5], 1))).toMatchObject({ loss: 'meanSquaredError', labels: 'target', accuracy: 'none' });
  });
  it('one-hot rows with a softmax -> categorical cross-entropy on the rows', () => {
    const d: DataShape = { sampleShape: [5], labelShape: [3], numClasses: null, origin: 'x.npy' };
    expect(planIo(d, model([5], 3, 'softmax'))).toMatchObject({ loss: 'categoricalCrossentropy', labels: 'target', accuracy: 'argmax' });
  });
  it('a configured loss wins: categorical with class labels one-hots them inside the loss', () => {
    expect(planIo(mnist, model([784], 10, 'softmax'), 'categoricalCrossentropy')).toMatchObject({ loss: 'categoricalCrossentropy', labels: 'sparse' });
    expect(planIo(mnist, model([784], 10), 'meanSquaredError')).toMatchObject({ labels: 'oneHot', accuracy: 'argmax' });
  });
});

describe('mismatches: one line naming both shapes and both files', () => {
  it.each([
    ['input shape', () => planIo({ ...mnist, sampleShape: [32, 32, 3] }, model([28, 28, 1], 10)), /data samples have shape \[32, 32, 3\] but the model takes \[28, 28, 1\] \(\/m\/model\.json\)/],
    ['labels beyond the outputs', () => planIo({ ...mnist, numClasses: 12 }, model([784], 10)), /labels are out of range: they go up to 11 \(12 classes\) but the model outputs 10 values per sample \(\/m\/model\.json\)/],
    ['class labels into one output with a softmax loss', () => planIo(mnist, model([784], 1), 'sparseCategoricalCrossentropy'), /class indices 0\.\.9 but the model outputs 1 value/],
    ['targets of the wrong width', () => planIo({ sampleShape: [5], labelShape: [4], numClasses: null, origin: 'y.npy' }, model([5], 3)), /labels have shape \[4\] per sample but the model outputs \[3\]/],
    ['sparse loss with one-hot labels', () => planIo({ sampleShape: [5], labelShape: [3], numClasses: null, origin: 'y.npy' }, model([5], 3), 'sparseCategoricalCrossentropy'), /needs one class index per sample.*categoricalCrossentropy/],
    ['binary loss with many classes', () => planIo(mnist, model([784], 1, 'sigmoid'), 'binaryCrossentropy'), /binaryCrossentropy needs labels 0 or 1/],
  ])('%s', (_n, f, message) => {
    const e = bstuneErrorFrom(f);
    expect(e.message).toMatch(message);
    expect(e.where).toBeTruthy();
  });
  it('two inputs are refused as a model problem', () => {
    const e = bstuneErrorFrom(() => planIo(mnist, { ...model([784], 10), inputs: [[784], [784]] }));
    expect(e.code).toBe('BSTUNE_MODEL_INVALID');
    expect(e.where).toBe('/m/model.json');
  });
});

describe('model.json', () => {
  it('refuses a graph model, corrupt JSON and a topology-less file', () => {
    expect(bstuneErrorFrom(() => parseModelJson('{"format": "graph-model", "modelTopology": {"node": []}}', 'm.json')).message).toMatch(/graph model/);
    expect(bstuneErrorFrom(() => parseModelJson('{"modelTopology": {"node": [], "library": {}}}', 'm.json')).message).toMatch(/graph model/);
    expect(bstuneErrorFrom(() => parseModelJson('{"modelTopology": ', 'm.json')).message).toMatch(/not valid JSON/);
    expect(bstuneErrorFrom(() => parseModelJson('{"weightsManifest": []}', 'm.json')).message).toMatch(/no modelTopology/);
  });
  it('unwraps the converter\'s model_config and drops its training_config', () => {
    const t = parseModelJson(JSON.stringify({ format: 'layers-model', modelTopology: { keras_version: '2.15.0', model_config: { class_name: 'Sequential', config: { layers: [] } }, training_config: { loss: 'x' } } }), 'm.json');
    expect(t.topology).toEqual({ class_name: 'Sequential', config: { layers: [] } });
    expect(t.manifest).toEqual([]);
  });
  it('seeds every random initializer in file order, and only those', () => {
    const topo = { layers: [
      { class_name: 'Dense', config: { kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} } } },
      { class_name: 'Dense', config: { kernel_initializer: { class_name: 'HeNormal', config: { seed: null } } } },
    ] };
    const seeded = seedInitializers(topo, 7);
    expect(seeded.layers[0]!.config.kernel_initializer.config.seed).toBe(7);
    expect(seeded.layers[1]!.config.kernel_initializer.config.seed).toBe(8);
    expect(seeded.layers[0]!.config.bias_initializer!.config).toEqual({});
    expect(topo.layers[0]!.config.kernel_initializer.config.seed).toBeNull();
  });
});
