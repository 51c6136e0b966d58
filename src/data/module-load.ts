import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { BstuneError } from '../errors.js';
import { errMessage } from './fs-util.js';
import { checkSameKind, poolFrom, type ArrayIn, type NumericArray, type Pool } from './arrays.js';

/** What loadData() may return (synchronously or as a promise). */
export interface UserData {
  x: NumericArray;
  /** Including the sample count first, e.g. [1000, 28, 28]. */
  xShape: number[];
  y: NumericArray;
  /** Default [count]: one label per sample. */
  yShape?: number[];
  validation?: { x: NumericArray; xShape: number[]; y: NumericArray; yShape?: number[] };
}

const bad = (message: string, where: string) => new BstuneError('BSTUNE_DATA_INVALID', message, where);
const isNumeric = (v: unknown): v is NumericArray =>
  v instanceof Uint8Array || v instanceof Int32Array || v instanceof BigInt64Array || v instanceof Float32Array || v instanceof Float64Array;
const isShape = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);

/** Imports a user module (ESM or CommonJS) and returns its named export, or one clear error. */
export async function importUserFunction(file: string, name: string, what: string): Promise<(...args: never[]) => unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ERR_MODULE_NOT_FOUND' && errMessage(e).includes(file) ? 'file not found' : `it failed to load: ${errMessage(e).split('\n')[0]}`;
    throw new BstuneError(what === 'model' ? 'BSTUNE_MODEL_INVALID' : 'BSTUNE_DATA_INVALID', `cannot import the ${what} module: ${why}`, file, { cause: e });
  }
  const fromDefault = (mod.default as Record<string, unknown> | undefined)?.[name];
  const fn = typeof mod[name] === 'function' ? mod[name] : fromDefault;
  if (typeof fn !== 'function') {
    const exported = Object.keys(mod).filter((k) => k !== 'default' && k !== 'module.exports');
    throw new BstuneError(what === 'model' ? 'BSTUNE_MODEL_INVALID' : 'BSTUNE_DATA_INVALID', `the ${what} module does not export a function ${name}()${exported.length > 0 ? ` (it exports: ${exported.join(', ')})` : ''}`, file);
  }
  return fn as (...args: never[]) => unknown;
}

export async function loadModulePools(moduleFile: string): Promise<{ train: Pool; validation: Pool | null; files: string[] }> {
  const file = resolve(moduleFile);
  const loadData = await importUserFunction(file, 'loadData', 'data');
  let out: unknown;
  try {
    out = await (loadData as () => unknown)();
  } catch (e) {
    throw bad(`loadData() threw: ${errMessage(e).split('\n')[0]}`, file);
  }
  const where = (k: string) => `${file} loadData().${k}`;
  const arr = (o: Record<string, unknown>, k: string, shapeKey: string, prefix: string, defaultShape?: number[]): ArrayIn => {
    const data = o[k];
    if (!isNumeric(data)) throw bad(`loadData() must return ${prefix}${k} as a Uint8Array, Int32Array, BigInt64Array, Float32Array or Float64Array, got ${data === null ? 'null' : Array.isArray(data) ? 'a plain array' : typeof data}`, file);
    const shape = o[shapeKey] ?? defaultShape;
    if (!isShape(shape)) throw bad(`loadData() must return ${prefix}${shapeKey}, a list of whole numbers with the sample count first, e.g. [1000, 28, 28]`, file);
    return { data, shape, name: where(`${prefix}${k}`) };
  };
  if (out === null || typeof out !== 'object') throw bad('loadData() must return an object { x, xShape, y, yShape?, validation? }', file);
  const o = out as Record<string, unknown>;
  const x = arr(o, 'x', 'xShape', '');
  const train = poolFrom(x, arr(o, 'y', 'yShape', '', [x.shape[0] ?? 0]));
  if (o.validation === undefined) return { train, validation: null, files: [file] };
  if (o.validation === null || typeof o.validation !== 'object') throw bad('loadData().validation must be an object { x, xShape, y, yShape? }', file);
  const v = o.validation as Record<string, unknown>;
  const vx = arr(v, 'x', 'xShape', 'validation.');
  const validation = poolFrom(vx, arr(v, 'y', 'yShape', 'validation.', [vx.shape[0] ?? 0]));
  checkSameKind(train, validation, where('validation'), where('x'));
  return { train, validation, files: [file] };
}
