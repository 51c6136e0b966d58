import { createHash } from 'node:crypto';
import { bstuneVersion } from '../version.js';
import type { Config } from '../config/schema.js';
import type { TrialResult } from '../trial/protocol.js';

/** The commands that keep a results file; each has its own hash, so one never resumes the other's file. */
export type ResultsCommand = 'sweep' | 'find-max';

/**
 * One line of a results file: the trial plus when, by which bstune, on which backend and
 * device it ran, and the config hash a resume checks. `hashedConfig` (what the hash was
 * taken of) lets a refused resume say what changed.
 */
export type StoredTrial = TrialResult & {
  configHash: string;
  hashedConfig?: unknown;
  /** ISO 8601, when the trial finished. */
  timestamp?: string;
  bstuneVersion?: string;
  backend?: string;
  device?: string;
};

/**
 * What decides a trial's numbers. The backend actually used, not `auto`: installing
 * tfjs-node between two runs must not mix backends in one file. find-max trials are a
 * few steps (stepsPerTrial) whatever training.epochs says, so their hash covers that instead.
 */
/**
 * `files` (path -> content hash of the model and data files, see sweep/input-files.ts) is
 * added only when there are any, so the hash of a built-in model on built-in data is unchanged.
 */
export function hashedConfig(c: Config, backend: string, files: Record<string, string> = {}, command: ResultsCommand = 'sweep'): Record<string, unknown> {
  const device = { ...c.device, backend };
  const withFiles = Object.keys(files).length > 0 ? { files } : {};
  if (command === 'find-max') {
    return { command, data: c.data, model: c.model, optimizer: c.optimizer, training: { seed: c.training.seed }, device, trialTimeout: c.search.trialTimeout, stepsPerTrial: c.search.stepsPerTrial, ...withFiles };
  }
  // Sweep's hash is unchanged from the first results files, so they still resume.
  return {
    data: c.data, model: c.model, optimizer: c.optimizer, training: c.training, device, trialTimeout: c.search.trialTimeout,
    ...(c.sweep.budget !== 'epochs' ? { budget: c.sweep.budget } : {}),
    ...withFiles,
  };
}

/** A results file made under another hash cannot be resumed. */
export function configHash(c: Config, backend: string, files: Record<string, string> = {}, command: ResultsCommand = 'sweep'): string {
  return createHash('sha256').update(JSON.stringify(hashedConfig(c, backend, files, command))).digest('hex').slice(0, 16);
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

/** The line to append for a finished trial. */
export function makeRecord(t: TrialResult, at: { hash: string; hashed: unknown; backend: { name: string; device: string }; now: Date }): StoredTrial {
  return {
    ...t, timestamp: at.now.toISOString(), bstuneVersion, backend: at.backend.name, device: at.backend.device,
    configHash: at.hash, hashedConfig: at.hashed,
  };
}

/** A trial as the JSON document shows it: the file's bookkeeping stays in the file. */
export function documentTrial(s: StoredTrial): TrialResult {
  const { configHash: _h, hashedConfig: _c, timestamp: _t, bstuneVersion: _v, backend: _b, device: _d, ...t } = s;
  return t;
}
