/**
 * The model a trial trains: a built-in, a model.json, or a user's createModel(). Runs in
 * the trial process only, so user code that crashes takes down one trial, not the sweep.
 */
import { resolve } from 'node:path';

import { BstuneError } from '../errors.js';
import { importUserFunction } from '../data/module-load.js';
import type { Dataset } from '../data/types.js';
import type { ModelConfig } from '../config/schema.js';
import type { Tf, LayersModel } from '../tf.js';
import { buildModel } from './build.js';
import { dataShape, modelShape } from './info.js';
import { loadLayersModelFile } from './layers-file.js';
import { planIo, type IoPlan } from './shapes.js';

export interface CreatedModel {
  model: LayersModel;
  /** Batch shape, loss and accuracy, after the shape checks. */
  io: IoPlan;
  /** Named in errors and reports. */
  origin: string;
  /** For a model.json: where its weights came from, e.g. "weights from the file" or "initialised from seed 42". */
  weightsNote?: string;
}

const shapeSize = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A LayersModel by its shape (a model from another copy of tfjs fails instanceof but trains fine). */
function isLayersModel(m: unknown): m is LayersModel {
  const o = m as Record<string, unknown> | null;
  return o !== null && typeof o === 'object' && typeof o.apply === 'function' && typeof o.predict === 'function'
    && Array.isArray(o.inputs) && Array.isArray(o.outputs) && Array.isArray(o.layers) && Array.isArray(o.trainableWeights);
}

async function fromModule(tf: Tf, file: string, data: Dataset, seed: number): Promise<LayersModel> {
  const createModel = (await importUserFunction(file, 'createModel', 'model')) as (tf: Tf, o: { inputShape: number[]; numClasses: number | null; outputs: number; seed: number }) => unknown;
  let out: unknown;
  try {
    const outputs = data.numClasses ?? shapeSize(data.labelShape);
    out = await createModel(tf, { inputShape: [...data.sampleShape], numClasses: data.numClasses, outputs, seed });
  } catch (e) {
    throw new BstuneError('BSTUNE_MODEL_INVALID', `createModel() threw: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`, file);
  }
  if (!isLayersModel(out)) {
    const got = out === null ? 'null' : out === undefined ? 'undefined' : typeof out === 'object' ? `an object (${(out as object).constructor?.name ?? 'Object'})` : typeof out;
    throw new BstuneError('BSTUNE_MODEL_INVALID', `createModel() must return a tf.LayersModel (tf.sequential() or tf.model()), got ${got}`, file);
  }
  return out;
}

export async function createModel(tf: Tf, cfg: ModelConfig, seed: number, data: Dataset): Promise<CreatedModel> {
  if (cfg.kind === 'mlp' || cfg.kind === 'cnn') {
    const outputs = data.numClasses ?? shapeSize(data.labelShape);
    const model = buildModel(tf, cfg, seed, { sampleShape: data.sampleShape, outputs });
    return { model, io: planIo(dataShape(data), modelShape(model, `built-in ${cfg.kind}`)), origin: `built-in ${cfg.kind}` };
  }
  const file = resolve(cfg.kind === 'file' ? cfg.path : cfg.module);
  if (cfg.kind === 'file') {
    const { model, weights, notes } = await loadLayersModelFile(tf, file, seed);
    const skipped = notes.find((n) => n.includes('optimizer-state'));
    const weightsNote = weights ? `weights from the file${skipped ? ` (${skipped.replace(/ \(.*\)$/, '')})` : ''}` : `initialised from seed ${seed}`;
    return { model, io: planIo(dataShape(data), modelShape(model, file), cfg.loss), origin: file, weightsNote };
  }
  const model = await fromModule(tf, file, data, seed);
  return { model, io: planIo(dataShape(data), modelShape(model, file), cfg.loss), origin: file };
}
