import { parseSize } from '../report/stats.js';
import { checkModelFits } from '../model/build.js';
import type { ParsedConfig } from './schema.js';

export interface Problem {
  path: string[];
  message: string;
}

/** Rules that relate two values or need parsing beyond the schema; each is a small pure check. */
export function semanticProblems(c: ParsedConfig): Problem[] {
  return [searchRange, uniqueSizes, warmupExclusive, memoryLimit, idxDirNeedsFull, modelFits]
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
  return c.data.idxDir !== undefined && c.data.source !== 'mnist-full'
    ? { path: ['data', 'idxDir'], message: 'data.idxDir is set but data.source is "embedded"; set source: mnist-full' }
    : null;
}

/** A CNN whose kernels or pools shrink the 28x28 digits to nothing fails at model build, long after the file was read. */
function modelFits(c: ParsedConfig): Problem | null {
  const why = checkModelFits(c.model);
  if (why === null) return null;
  return { path: ['model', why.startsWith('model.poolSize') ? 'poolSize' : 'kernelSize'], message: why };
}
