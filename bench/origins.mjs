// Where each kernel of a training step comes from: wraps the engine's dispatch during a
// few steps of the real loop and groups calls by kernel name, input shapes and the call
// stack's nearest frames outside the engine. A diagnosis tool (bench/step.mjs --profile
// times the kernels); run after `npx tsc -p tsconfig.json`:
//   node bench/origins.mjs [cnn|mlp] [batch]
import { loadDataset } from '../dist/data/index.js';
import { setupBackend } from '../dist/backend/setup.js';
import { buildModel } from '../dist/model/build.js';
import { train } from '../dist/train/loop.js';

const [kind = 'cnn', batchText = '128'] = process.argv.slice(2);
const batchSize = Number(batchText);
const tf = await setupBackend(process.env.BSTUNE_BACKEND ?? 'wasm');
const data = await loadDataset({ source: 'embedded', validationSplit: 0.2 }, { seed: 42 });
const modelCfg = kind === 'cnn' ? { kind: 'cnn', filters: [8, 16], kernelSize: 5, poolSize: 2, dense: [] } : { kind: 'mlp', hidden: [10] };
const optimizer = { name: 'adam', learningRate: 0.001, baseBatchSize: 32, scaling: 'none', momentum: 0.9, warmup: {}, decay: 'none', minLearningRate: 0 };
const model = buildModel(tf, modelCfg, 42);
const engine = tf.engine();
const calls = new Map();
let on = false;
const runKernelFunc = engine.runKernelFunc.bind(engine);
const frames = (stack) => stack.split('\n').slice(2)
  .filter((l) => !/tf-core|node:internal|origins\.mjs/.test(l))
  .slice(0, Number(process.env.DEPTH ?? 3))
  .map((l) => l.trim().replace(/^at /, '').replace(/\(?\/.*node_modules\/@tensorflow\//, '(').replace(/\(?\/work\/wt\/[^/]+\//, '(')).join(' < ');
engine.runKernelFunc = (cfg) => {
  if (on) {
    const shapes = cfg.inputs ? Object.values(cfg.inputs).map((t) => JSON.stringify(t?.shape)).join(',') : '';
    const key = `${cfg.kernelName ?? 'anon'} ${shapes}  ${frames(new Error().stack)}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
  }
  return runKernelFunc(cfg);
};
const steps = 3;
Error.stackTraceLimit = 40;
await train(tf, model, data, {
  batchSize, epochs: 1, maxSteps: 10 + steps, optimizer, seed: 9, memoryLimit: null,
  onStep: (e) => { on = e.globalStep >= 9 && e.globalStep < 9 + steps; },
});
on = false;
const total = [...calls.values()].reduce((a, b) => a + b, 0) / steps;
console.log(`${kind} b${batchSize}: ${total} kernel calls per step`);
for (const [k, n] of [...calls].sort((a, b) => (a[0] < b[0] ? -1 : 1))) console.log(`${(n / steps).toString().padStart(3)}  ${k}`);
