import { parseSize } from '../report/stats.js';
import { checkModelFits } from '../model/build.js';
import { MAX_SEED } from '../data/seed.js';
import type { ParsedConfig } from './schema.js';

export interface Problem {
  path: string[];
  message: string;
}

/** Rules that relate two values or need parsing beyond the schema; each is a small pure check. */
export function semanticProblems(c: ParsedConfig): Problem[] {
  return [searchRange, uniqueSizes, warmupExclusive, memoryLimit, idxDirNeedsFull, dataKeysMatchSource, modelFits, repeatSeeds]
    .map((rule) => rule(c))
    .filter((p): p is Problem => p !== null);
}

function searchRange(c: ParsedConfig): Problem | null {
  const { min, start } = c.search;
  return min > start ? { path: ['search', 'min'], message: `search.min (${min}) is larger than search.start (${start})` } : null;
}

function uniqueSizes(c: ParsedConfig): Problem | null {
  const seen = new Set<number>();
  for (const [i, s] of c.sweep.sizes.entries()) {
    if (seen.has(s)) return { path: ['sweep', 'sizes', String(i)], message: `sweep.sizes lists ${s} twice` };
    seen.add(s);
  }
  return null;
}

function warmupExclusive(c: ParsedConfig): Problem | null {
  const w = c.optimizer.warmup;
  return w.epochs !== undefined && w.steps !== undefined
    ? { path: ['optimizer', 'warmup'], message: 'optimizer.warmup takes epochs or steps, not both' }
    : null;
}

function memoryLimit(c: ParsedConfig): Problem | null {
  const v = c.device.memoryLimit;
  if (v === null) return null;
  try {
    parseSize(v);
    return null;
  } catch (e) {
    return { path: ['device', 'memoryLimit'], message: `device.memoryLimit: ${(e as Error).message}` };
  }
}

function idxDirNeedsFull(c: ParsedConfig): Problem | null {
  const { source, idxDir } = c.data;
  if (idxDir !== undefined && source !== 'mnist-full' && source !== 'idx') {
    return { path: ['data', 'idxDir'], message: `data.idxDir is set but data.source is "${source}"; set source: idx (any IDX set) or mnist-full, or leave source out` };
  }
  return source === 'idx' && idxDir === undefined ? { path: ['data', 'source'], message: 'data.source idx needs data.idxDir, the folder holding the IDX files' } : null;
}

/** Each source takes its own keys; a key for another source is a mistake that would be silently ignored. */
function dataKeysMatchSource(c: ParsedConfig): Problem | null {
  const d = c.data;
  const npyKeys = (['x', 'y', 'validationX', 'validationY'] as const).filter((k) => d[k] !== undefined);
  if (d.source !== 'npy' && npyKeys.length > 0) return { path: ['data', npyKeys[0]!], message: `data.${npyKeys[0]} is a NumPy file but data.source is "${d.source}"; leave source out or set source: npy` };
  if (d.source !== 'module' && d.module !== undefined) return { path: ['data', 'module'], message: `data.module is set but data.source is "${d.source}"; leave source out or set source: module` };
  if (d.source === 'npy') {
    if (d.x === undefined || d.y === undefined) return { path: ['data', d.x === undefined ? 'x' : 'y'], message: 'NumPy data needs both data.x and data.y (.npy files)' };
    if ((d.validationX === undefined) !== (d.validationY === undefined)) {
      return { path: ['data', d.validationX === undefined ? 'validationY' : 'validationX'], message: 'a validation set needs both data.validationX and data.validationY' };
    }
  }
  if (d.source === 'module' && d.module === undefined) return { path: ['data', 'source'], message: 'data.source module needs data.module, the JS file exporting loadData()' };
  return null;
}

/** A CNN whose kernels or pools shrink the 28x28 digits to nothing fails at model build, long after the file was read. */
function modelFits(c: ParsedConfig): Problem | null {
  // Other data sets' image sizes are known once they are read: the model build checks those.
  if (c.data.source !== 'embedded' && c.data.source !== 'mnist-full') return null;
  const why = checkModelFits(c.model);
  if (why === null) return null;
  return { path: ['model', why.startsWith('model.poolSize') ? 'poolSize' : 'kernelSize'], message: why };
}

/** sweep.repeats runs seeds seed … seed + repeats − 1: each must be a seed (data/seed.ts). */
function repeatSeeds(c: ParsedConfig): Problem | null {
  const last = c.training.seed + c.sweep.repeats - 1;
  return last > MAX_SEED
    ? { path: ['sweep', 'repeats'], message: `sweep.repeats ${c.sweep.repeats} from training.seed ${c.training.seed} runs seeds up to ${last}, above ${MAX_SEED}; start from a smaller seed` }
    : null;
}
