import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { BstuneError } from '../errors.js';
import { npyStreamMiB, NPY_STREAM_DEFAULT_MIB } from '../env.js';
import { errMessage, errnoCode } from './fs-util.js';
import { parseNpy } from './npy.js';
import { checkSameKind, poolFrom, type ArrayIn, type Pool, type RowsIn } from './arrays.js';
import { openNpyRows } from './npy-rows.js';

/** Reads a whole .npy file once; the array is a view on that one buffer. */
export async function readNpyFile(file: string): Promise<ReturnType<typeof parseNpy>> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const code = errnoCode(e);
    throw new BstuneError(code === 'ENOENT' ? 'BSTUNE_DATA_UNAVAILABLE' : 'BSTUNE_DATA_INVALID', code === 'ENOENT' ? '.npy file not found' : `cannot read .npy file (${code ?? errMessage(e)})`, file, { cause: e });
  }
  return parseNpy(buf, file);
}

/**
 * Input files of at least this many bytes are read per batch from the file (npy-rows.ts),
 * smaller ones whole. BSTUNE_NPY_STREAM_MIB sets it in MiB (0: every input file).
 */
export const STREAM_DEFAULT_MIB = NPY_STREAM_DEFAULT_MIB;

export function streamThresholdBytes(env: NodeJS.ProcessEnv = process.env): number {
  return npyStreamMiB(env) * 2 ** 20;
}

async function readInput(file: string): Promise<ArrayIn | RowsIn> {
  let size: number | null = null;
  try {
    size = (await stat(file)).size;
  } catch {
    // readNpyFile reports the missing or unreadable file.
  }
  if (size !== null && size >= streamThresholdBytes()) {
    const { rows, shape } = await openNpyRows(file);
    return { data: rows, shape, name: file };
  }
  const x = await readNpyFile(file);
  return { data: x.data, shape: x.shape, name: file };
}

async function pair(xFile: string, yFile: string): Promise<Pool> {
  const [x, y] = await Promise.all([readInput(xFile), readNpyFile(yFile)]);
  return poolFrom(x, { data: y.data, shape: y.shape, name: yFile });
}

export interface NpyPools {
  train: Pool;
  validation: Pool | null;
  files: string[];
}

export async function loadNpyPools(cfg: { x?: string; y?: string; validationX?: string; validationY?: string }): Promise<NpyPools> {
  if (cfg.x === undefined || cfg.y === undefined) {
    throw new BstuneError('BSTUNE_CONFIG_INVALID', 'NumPy data needs both data.x and data.y (.npy files)', cfg.x === undefined ? 'data.x' : 'data.y');
  }
  const x = resolve(cfg.x);
  const y = resolve(cfg.y);
  const train = await pair(x, y);
  if ((cfg.validationX === undefined) !== (cfg.validationY === undefined)) {
    throw new BstuneError('BSTUNE_CONFIG_INVALID', 'a validation set needs both data.validationX and data.validationY', cfg.validationX === undefined ? 'data.validationX' : 'data.validationY');
  }
  if (cfg.validationX === undefined || cfg.validationY === undefined) return { train, validation: null, files: [x, y] };
  const vx = resolve(cfg.validationX);
  const vy = resolve(cfg.validationY);
  const validation = await pair(vx, vy);
  checkSameKind(train, validation, vx, x);
  return { train, validation, files: [x, y, vx, vy] };
}
