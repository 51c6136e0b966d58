/**
 * Turns loaded arrays (from .npy files or a user's loadData()) into a training pool:
 * inputs as uint8 (scaled to [0,1] per batch) or float32, labels as class indices or
 * float targets. Pure: arrays in, a pool or one clear error out.
 */
import { BstuneError } from '../errors.js';
import { inputDtype, type InputRows, type Split } from './types.js';
import type { NpyRows } from './npy-rows.js';
import { firstNonFinite, firstNonFiniteAsFloat32, nonFiniteInput } from './finite.js';

export { firstNonFinite, firstNonFiniteAsFloat32 } from './finite.js';

export type NumericArray = Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

export interface ArrayIn {
  data: NumericArray;
  /** Including the sample dimension first, e.g. [60000, 28, 28]. */
  shape: number[];
  /** A file, or `module.js loadData().x`: named in every error. */
  name: string;
}

/** A large .npy input read per batch (npy-rows.ts): its values were checked when it was opened. */
export interface RowsIn {
  data: NpyRows;
  shape: number[];
  name: string;
}

export interface Pool {
  split: Split;
  sampleShape: number[];
  labelShape: number[];
  numClasses: number | null;
}

const bad = (message: string, where: string) => new BstuneError('BSTUNE_DATA_INVALID', message, where);
const shapeText = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
const fmt = (n: number) => n.toLocaleString('en-US');

function checkShape(a: ArrayIn | RowsIn): void {
  if (a.shape.length === 0) throw bad(`holds a single value (shape ()), not one row per sample`, a.name);
  const n = a.shape.reduce((p, d) => p * d, 1);
  if (a.data.length !== n) throw bad(`shape ${shapeText(a.shape)} needs ${fmt(n)} values but the array holds ${fmt(a.data.length)}`, a.name);
  if (a.shape[0] === 0) throw bad(`holds no samples (shape ${shapeText(a.shape)})`, a.name);
}

/**
 * Inputs are never converted as a whole: uint8, float32 and float64 arrays stay as they
 * are (views, no copy), and so do int32 and int64 ones (float32 per batch, as uint8 is
 * scaled per batch); a large .npy file stays on disk (NpyRows, checked when opened).
 * Float arrays are checked finite as float32 will hold them.
 */
export function toInputs(a: ArrayIn | RowsIn): { images: InputRows; sampleShape: number[]; count: number } {
  checkShape(a);
  const sampleShape = a.shape.length > 1 ? a.shape.slice(1) : [1];
  const count = a.shape[0]!;
  const per = a.data.length / count;
  if (a.data instanceof Float64Array) {
    const i = firstNonFiniteAsFloat32(a.data);
    if (i >= 0) throw bad(nonFiniteInput(a.data[i]!, Math.floor(i / per), true), a.name);
  } else if (a.data instanceof Float32Array) {
    const i = firstNonFinite(a.data);
    if (i >= 0) throw bad(nonFiniteInput(a.data[i]!, Math.floor(i / per), false), a.name);
  }
  return { images: a.data, sampleShape, count };
}

/**
 * One whole number per sample ((N,) or (N, 1)) is a class index; anything else (one-hot
 * rows, regression targets) is a float target of the shape after the first dimension.
 */
export function toLabels(a: ArrayIn): { labels: Uint8Array | Int32Array | Float32Array; labelShape: number[]; numClasses: number | null } {
  checkShape(a);
  const perSample = a.data.length / a.shape[0]!;
  const labelShape = a.shape.slice(1);
  const oneEach = perSample === 1;
  if (oneEach) {
    let max = 0;
    let whole = true;
    for (let i = 0; i < a.data.length; i++) {
      const v = Number(a.data[i]!);
      if (!Number.isFinite(v)) throw bad(`label ${v} at index ${i} (labels must be finite numbers)`, a.name);
      if (!Number.isInteger(v)) {
        whole = false;
        break;
      }
      if (v < 0) throw bad(`label ${v} at index ${i} is out of range: class labels must be 0 or more`, a.name);
      if (v > max) max = v;
    }
    if (whole) {
      if (max >= 2 ** 31) throw bad(`label ${max} is too large for a class index`, a.name);
      const labels = max < 256 ? new Uint8Array(a.data.length) : new Int32Array(a.data.length);
      if (a.data instanceof Uint8Array) return { labels: a.data, labelShape: [], numClasses: max + 1 };
      for (let i = 0; i < labels.length; i++) labels[i] = Number(a.data[i]!);
      return { labels, labelShape: [], numClasses: max + 1 };
    }
  }
  const labels = a.data instanceof Float32Array ? a.data : a.data instanceof BigInt64Array ? Float32Array.from(a.data, (v) => Number(v)) : Float32Array.from(a.data);
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isFinite(labels[i]!)) throw bad(`label value ${labels[i]} at index ${i} (targets must be finite numbers)`, a.name);
  }
  return { labels, labelShape: oneEach ? [] : labelShape, numClasses: null };
}

/** A pool from an x/y pair; the first dimensions must agree. */
export function poolFrom(x: ArrayIn | RowsIn, y: ArrayIn): Pool {
  checkShape(x);
  checkShape(y);
  if (x.shape[0] !== y.shape[0]) {
    throw bad(`x has ${fmt(x.shape[0]!)} samples (shape ${shapeText(x.shape)}) but y has ${fmt(y.shape[0]!)} (shape ${shapeText(y.shape)}, ${y.name})`, x.name);
  }
  const inputs = toInputs(x);
  const labels = toLabels(y);
  return { split: { images: inputs.images, labels: labels.labels, count: inputs.count }, sampleShape: inputs.sampleShape, labelShape: labels.labelShape, numClasses: labels.numClasses };
}

/** The validation pool must look like the training pool. */
export function checkSameKind(train: Pool, val: Pool, valName: string, trainName: string): void {
  if (train.sampleShape.join('x') !== val.sampleShape.join('x')) {
    throw bad(`validation samples have shape [${val.sampleShape.join(', ')}] but training samples [${train.sampleShape.join(', ')}] (${trainName})`, valName);
  }
  if (train.labelShape.join('x') !== val.labelShape.join('x') || (train.numClasses === null) !== (val.numClasses === null)) {
    throw bad(`validation labels have shape [${val.labelShape.join(', ')}] but training labels [${train.labelShape.join(', ')}] (${trainName})`, valName);
  }
  const bytes = (p: Pool) => inputDtype(p.split.images) === 'uint8';
  if (bytes(train) !== bytes(val)) {
    throw bad(`validation inputs are ${bytes(val) ? 'uint8' : 'float'} but training inputs are ${bytes(train) ? 'uint8' : 'float'} (${trainName}); use one dtype, as uint8 is scaled to [0,1] and float is not`, valName);
  }
}
