/**
 * A TensorFlow.js Layers model.json from disk (tensorflowjs_converter --output_format
 * tfjs_layers_model, or tfjs's own model.save). @tensorflow/tfjs has no file:// handler
 * in Node (that is in tfjs-node), so this reads model.json and its weight shards itself
 * and hands tfjs an IOHandler over the bytes.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { BstuneError } from '../errors.js';
import type { Tf, LayersModel } from '../tf.js';
import { Keras3Unsupported, matchWeights, normaliseKerasTopology } from './keras3.js';

type ModelArtifacts = import('@tensorflow/tfjs').io.ModelArtifacts;
type WeightsManifestEntry = import('@tensorflow/tfjs').io.WeightsManifestEntry;

export interface LayersFile {
  /** The Keras topology, as tfjs expects it. */
  topology: Record<string, unknown>;
  weightSpecs: WeightsManifestEntry[];
  /** All shards, concatenated in manifest order; null when the file names no weights. */
  weightData: ArrayBuffer | null;
  /** model.json and every shard, for the results-file hash. */
  files: string[];
}

const bad = (message: string, file: string) => new BstuneError('BSTUNE_MODEL_INVALID', message, file);
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes one manifest entry takes in the shards (quantized weights are stored in their quantized dtype). */
export function entryBytes(w: WeightsManifestEntry): number | null {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const dtype = (w.quantization?.dtype as string | undefined) ?? w.dtype;
  const per = DTYPE_BYTES[dtype];
  return per === undefined ? null : n * per;
}

/** Parses model.json's text: Layers format only, with a clear line for everything else. */
export function parseModelJson(text: string, file: string): { topology: Record<string, unknown>; manifest: { paths: string[]; weights: WeightsManifestEntry[] }[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(`model.json is not valid JSON (${(e as Error).message})`, file);
  }
  if (!isObj(json)) throw bad('model.json must hold a JSON object with modelTopology (a TensorFlow.js Layers model)', file);
  const topo = json.modelTopology;
  if (json.format === 'graph-model' || (isObj(topo) && Array.isArray(topo.node))) {
    throw bad('model.json is a TensorFlow.js graph model (from a SavedModel or frozen graph), which cannot be trained; convert a Keras model with tensorflowjs_converter --output_format tfjs_layers_model', file);
  }
  if (json.format !== undefined && json.format !== 'layers-model') throw bad(`model.json has format ${JSON.stringify(json.format)}; bstune trains "layers-model" files`, file);
  if (!isObj(topo)) throw bad('model.json has no modelTopology: not a TensorFlow.js Layers model', file);
  const config = isObj(topo.model_config) ? topo.model_config : topo;
  if (typeof config.class_name !== 'string' || !isObj(config.config)) {
    throw bad('model.json modelTopology has no Keras class_name/config: not a TensorFlow.js Layers model', file);
  }
  const raw = json.weightsManifest ?? [];
  if (!Array.isArray(raw) || !raw.every((g) => isObj(g) && Array.isArray(g.paths) && g.paths.every((p) => typeof p === 'string') && Array.isArray(g.weights))) {
    throw bad('model.json weightsManifest must be a list of { paths: [...], weights: [...] }', file);
  }
  // The converter's training_config (Keras loss, optimizer) is not ours to follow: bstune's config says how to train.
  return { topology: config, manifest: raw as { paths: string[]; weights: WeightsManifestEntry[] }[] };
}

export async function readLayersFile(path: string): Promise<LayersFile> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw bad(code === 'ENOENT' ? 'model file not found' : `cannot read model file (${code ?? String(e)})`, file);
  }
  const { topology, manifest } = parseModelJson(text, file);
  const files = [file];
  const specs = manifest.flatMap((g) => g.weights);
  if (specs.length === 0) return { topology, weightSpecs: [], weightData: null, files };
  const shards: Buffer[] = [];
  for (const g of manifest) {
    for (const p of g.paths) {
      const shard = resolve(dirname(file), p);
      try {
        shards.push(await readFile(shard));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw bad(code === 'ENOENT' ? `weight shard ${p} named in model.json is missing` : `cannot read weight shard ${p} (${code ?? String(e)})`, shard);
      }
      files.push(shard);
    }
  }
  const have = shards.reduce((a, b) => a + b.length, 0);
  const sizes = specs.map(entryBytes);
  if (sizes.every((s) => s !== null)) {
    const need = (sizes as number[]).reduce((a, b) => a + b, 0);
    if (have !== need) {
      throw bad(`weight shards hold ${have.toLocaleString('en-US')} bytes but model.json's ${specs.length} weights need ${need.toLocaleString('en-US')}: a shard is truncated or from another model`, files[1]!);
    }
  }
  const all = Buffer.concat(shards);
  return { topology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer, files };
}

const SEEDED = new Set(['GlorotUniform', 'GlorotNormal', 'HeUniform', 'HeNormal', 'LeCunUniform', 'LeCunNormal', 'LecunUniform', 'LecunNormal',
  'RandomUniform', 'RandomNormal', 'TruncatedNormal', 'VarianceScaling', 'Orthogonal']);

/**
 * tfjs's normal draws (MPRandGauss) read a seed of 0 as none and draw from Math.random; its
 * uniform draw seeds with String(seed) either way. So 0 goes in as '0': the same uniform
 * draw as before, and a seeded normal one.
 */
const seedValue = (n: number): number => (n === 0 ? ('0' as unknown as number) : n);

/** A copy of the topology whose random initializers all carry seeds seed, seed+1, ... in file order. */
export function seedInitializers<T>(topology: T, seed: number): T {
  let next = seed;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isObj(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    if (typeof out.class_name === 'string' && SEEDED.has(out.class_name) && (out.config === undefined || isObj(out.config))) {
      out.config = { ...(out.config as Record<string, unknown> | undefined), seed: seedValue(next++) };
    }
    return out;
  };
  return walk(topology) as T;
}

/** Builds the model: from its weights when the file has them, else initialised from the topology with `seed`. */
export async function loadLayersModelFile(tf: Tf, path: string, seed: number): Promise<{ model: LayersModel; files: string[]; weights: boolean; notes: string[] }> {
  const f = await readLayersFile(path);
  const hasWeights = f.weightData !== null;
  let topology: Record<string, unknown>;
  let notes: string[];
  try {
    const n = normaliseKerasTopology(f.topology);
    topology = n.topology;
    notes = n.changes.length > 0 ? [`Keras 3 topology read as Keras 2 (${n.changes.join('; ')})`] : [];
  } catch (e) {
    if (e instanceof Keras3Unsupported) throw bad(`cannot build the model from model.json: ${e.message}`, f.files[0]!);
    throw e;
  }
  // The layers come from the topology alone (tfjs's loader would match weights by tfjs's names,
  // which Keras 3 files do not use); the shard's tensors are then placed by matchWeights.
  const artifacts: ModelArtifacts = { modelTopology: hasWeights ? topology : seedInitializers(topology, seed), format: 'layers-model' };
  let model: LayersModel;
  try {
    model = await tf.loadLayersModel({ load: async () => artifacts });
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw bad(`cannot build the model from model.json: ${msg}`, f.files[0]!);
  }
  if (hasWeights) {
    try {
      notes.push(...setFileWeights(tf, model, f, topology));
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return { model, files: f.files, weights: hasWeights, notes };
}

/** Puts the shard's tensors into the model's layers (see matchWeights); returns notes on what was skipped. */
function setFileWeights(tf: Tf, model: LayersModel, f: LayersFile, topology: Record<string, unknown>): string[] {
  const layers = model.layers.map((l) => ({
    name: l.name,
    className: l.getClassName(),
    weights: l.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })),
  }));
  const config = isObj(topology.config) ? topology.config : {};
  const m = matchWeights(f.weightSpecs.map((w) => ({ name: w.name, shape: w.shape })), layers, typeof config.name === 'string' ? config.name : undefined);
  if (!m.ok) throw bad(`model.json's weights do not fit its layers: ${m.reason}`, f.files[0]!);
  const named = tf.io.decodeWeights(f.weightData!, f.weightSpecs);
  try {
    for (const [li, layer] of model.layers.entries()) {
      const row = m.order[li]!;
      if (row.length > 0) layer.setWeights(row.map((i) => named[f.weightSpecs[i]!.name]!));
    }
  } finally {
    tf.dispose(Object.values(named));
  }
  return m.skipped.length > 0 ? [`${m.skipped.length} optimizer-state tensors in the shard skipped (bstune's optimizer starts fresh)`] : [];
}
