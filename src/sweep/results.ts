import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, ftruncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { BstuneError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { TrialResult } from '../trial/protocol.js';

export type StoredTrial = TrialResult & { configHash: string };

/** What decides a run's numbers: a results file made under another hash cannot be resumed. */
export function configHash(c: Config, backend: string): string {
  // The backend actually used, not `auto`: installing tfjs-node between two runs must not mix backends in one file.
  const relevant = { data: c.data, model: c.model, optimizer: c.optimizer, training: c.training, device: { ...c.device, backend }, trialTimeout: c.search.trialTimeout };
  return createHash('sha256').update(JSON.stringify(relevant)).digest('hex').slice(0, 16);
}

/**
 * Reads a results file. A last line cut short (the process was killed mid-write) is
 * dropped and cut off the file, so the next append starts on a clean line.
 */
export function readResults(path: string, hash: string): StoredTrial[] {
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
      throw new BstuneError('BSTUNE_USAGE', `results file was made with a different config (hash ${t.configHash}, now ${hash}); resume with the same config and flags`, `${path}:${i + 1}`);
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
