import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, ftruncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { BstuneError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { TrialResult } from '../trial/protocol.js';

/** `hashedConfig` (what the hash was taken of) lets a refused resume say what changed. */
export type StoredTrial = TrialResult & { configHash: string; hashedConfig?: unknown };

/** What decides a run's numbers. The backend actually used, not `auto`: installing tfjs-node between two runs must not mix backends in one file. */
/**
 * `files` (path -> content hash of the model and data files, see input-files.ts) is added
 * only when there are any, so the hash of a built-in model on built-in data is unchanged.
 */
export function hashedConfig(c: Config, backend: string, files: Record<string, string> = {}): Record<string, unknown> {
  return {
    data: c.data, model: c.model, optimizer: c.optimizer, training: c.training, device: { ...c.device, backend }, trialTimeout: c.search.trialTimeout,
    ...(c.sweep.budget !== 'epochs' ? { budget: c.sweep.budget } : {}),
    ...(Object.keys(files).length > 0 ? { files } : {}),
  };
}

/** A results file made under another hash cannot be resumed. */
export function configHash(c: Config, backend: string, files: Record<string, string> = {}): string {
  return createHash('sha256').update(JSON.stringify(hashedConfig(c, backend, files))).digest('hex').slice(0, 16);
}

/** Leaf-by-leaf differences, e.g. ["training.epochs: 3 → 1"]. */
export function configDiff(before: unknown, after: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => configDiff(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [`${path}: ${JSON.stringify(before) ?? 'unset'} → ${JSON.stringify(after) ?? 'unset'}`];
}

/**
 * Reads a results file. A last line cut short (the process was killed mid-write) is
 * dropped and cut off the file, so the next append starts on a clean line.
 */
export function readResults(path: string, hash: string, current?: unknown): StoredTrial[] {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new BstuneError('BSTUNE_USAGE', 'results file is a directory', path);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof BstuneError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new BstuneError('BSTUNE_USAGE', code === 'ENOENT' ? 'results file to resume not found' : `cannot read results file (${code})`, path);
  }
  const out: StoredTrial[] = [];
  const lines = text.split('\n');
  let validBytes = 0;
  for (const [i, line] of lines.entries()) {
    const last = i === lines.length - 1;
    if (line.trim() === '') {
      if (!last) validBytes += Buffer.byteLength(line) + 1;
      continue;
    }
    let t: StoredTrial;
    try {
      t = JSON.parse(line) as StoredTrial;
      if (typeof t !== 'object' || t === null || typeof t.batchSize !== 'number' || typeof t.configHash !== 'string') throw new Error('shape');
    } catch {
      if (last) break;
      throw new BstuneError('BSTUNE_USAGE', `results file line ${i + 1} is not a bstune trial record`, `${path}:${i + 1}`);
    }
    if (t.configHash !== hash) {
      const diff = t.hashedConfig !== undefined && current !== undefined ? configDiff(t.hashedConfig, current) : [];
      const what = diff.length > 0 ? `: ${diff.slice(0, 3).join('; ')}${diff.length > 3 ? `; and ${diff.length - 3} more` : ''}` : ` (hash ${t.configHash}, now ${hash})`;
      throw new BstuneError('BSTUNE_USAGE', `results file was made with a different config${what}; resume with the same config and flags`, `${path}:${i + 1}`);
    }
    if (last) break; // no newline after it: the write was cut short
    out.push(t);
    validBytes += Buffer.byteLength(line) + 1;
  }
  if (validBytes < Buffer.byteLength(text)) {
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, validBytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/** Appends one line and fsyncs it before returning: a finished run survives a crash a moment later. */
export function appendResult(path: string, t: StoredTrial): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, `${JSON.stringify(t)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function defaultResultsPath(cwd: string, name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  return `${cwd}/.bstune/${safe}-${stamp}.jsonl`;
}

export function ensureWritable(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new BstuneError('BSTUNE_USAGE', 'results file is a directory', path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a'));
  } catch (e) {
    throw new BstuneError('BSTUNE_USAGE', `cannot write results file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
}
