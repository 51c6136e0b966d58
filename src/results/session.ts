import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BstuneError } from '../errors.js';
import { appendResult, claimResultsPath, defaultResultsPath, ensureWritable, loadResults, tornLineWarning } from './file.js';
import { configHash, hashedConfig, makeRecord, type ResultsCommand, type StoredTrial } from './record.js';
import type { Config } from '../config/schema.js';
import type { TrialResult } from '../trial/protocol.js';

export interface ResultsOptions {
  cwd: string;
  command: ResultsCommand;
  /** --out FILE */
  out?: string;
  /** --resume FILE */
  resume?: string;
}

/** Before any data is loaded: a --resume file that is not there is a usage error at once. */
export function checkResumeFile(o: ResultsOptions): void {
  if (o.resume !== undefined && !existsSync(resolve(o.cwd, o.resume))) {
    throw new BstuneError('BSTUNE_USAGE', 'results file to resume not found', resolve(o.cwd, o.resume));
  }
}

export interface ResultsSession {
  path: string;
  resuming: boolean;
  /** The lines already in the file (oldest first), when resuming. */
  stored: StoredTrial[];
  /** Appends a finished trial (fsync'd) and returns the line written. */
  append(t: TrialResult): StoredTrial;
}

/**
 * The JSONL results file of a sweep or a find-max: `--out FILE`, else a new file under
 * `.bstune/`; `--resume FILE` continues one made with the same config (same hash). A
 * torn last line is dropped, and `warn` gets one line saying what.
 */
export function openResults(o: ResultsOptions & {
  config: Config; backend: { name: string; device: string }; warn: (line: string) => void; now?: () => Date;
  /** Content hashes of the model and data files (sweep/input-files.ts): part of what a resume must match. */
  files?: Record<string, string>;
}): ResultsSession {
  const hash = configHash(o.config, o.backend.name, o.files, o.command);
  const hashed = hashedConfig(o.config, o.backend.name, o.files, o.command);
  const resumeFrom = o.resume !== undefined ? resolve(o.cwd, o.resume) : undefined;
  const path = resumeFrom ?? (o.out !== undefined ? resolve(o.cwd, o.out) : claimResultsPath(defaultResultsPath(o.cwd, o.config.name, new Date(), o.command)));
  if (resumeFrom && o.out !== undefined && resolve(o.cwd, o.out) !== resumeFrom) {
    throw new BstuneError('BSTUNE_USAGE', '--resume continues the given file; leave out --out', '--out');
  }
  if (!resumeFrom && existsSync(path) && statSync(path).isFile() && statSync(path).size > 0) {
    // Appending a new run to an old one would mix their trials in one file.
    throw new BstuneError('BSTUNE_USAGE', `results file already holds ${o.command === 'sweep' ? 'runs' : 'trials'}; continue it with --resume ${path} or choose another --out`, path);
  }
  let stored: StoredTrial[] = [];
  if (resumeFrom) {
    const loaded = loadResults(resumeFrom, hash, hashed);
    stored = loaded.trials;
    if (loaded.torn) o.warn(tornLineWarning(resumeFrom, loaded.torn));
  }
  ensureWritable(path);
  const now = o.now ?? (() => new Date());
  return {
    path, resuming: resumeFrom !== undefined, stored,
    append: (t) => {
      const line = makeRecord(t, { hash, hashed, backend: o.backend, now: now() });
      appendResult(path, line);
      return line;
    },
  };
}
