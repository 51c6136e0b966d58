import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { BstuneError } from '../errors.js';
import { errMessage, errnoCode } from './fs-util.js';
import { parseNpy } from './npy.js';
import { checkSameKind, poolFrom, type Pool } from './arrays.js';

/** Reads a .npy file once; the arrays are views on that one buffer (float64 and int64 are converted). */
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

async function pair(xFile: string, yFile: string): Promise<Pool> {
  const [x, y] = await Promise.all([readNpyFile(xFile), readNpyFile(yFile)]);
  return poolFrom({ data: x.data, shape: x.shape, name: xFile }, { data: y.data, shape: y.shape, name: yFile });
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
