import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, statSync, ftruncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { BstuneError } from '../errors.js';
import { makeDirs } from '../mkdirs.js';
import { configDiff, type StoredTrial } from './record.js';

/** The end of a results file cut off because its write never finished (a crash or kill mid-append). */
export interface TornLine {
  /** 1-based line number in the file. */
  line: number;
  bytes: number;
  /** The batch size and seed the cut line was about, when they can still be read from it. */
  batchSize: number | null;
  seed: number | null;
}

/**
 * Reads a results file. A last line cut short (the process was killed mid-write) is
 * dropped and cut off the file, so the next append starts on a clean line; `torn` says
 * what was dropped so the caller can tell the user.
 */
export function loadResults(path: string, hash: string, current?: unknown): { trials: StoredTrial[]; torn: TornLine | null } {
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
  let torn: TornLine | null = null;
  for (const [i, line] of lines.entries()) {
    const last = i === lines.length - 1;
    if (line.trim() === '') {
      if (!last) validBytes += Buffer.byteLength(line) + 1;
      continue;
    }
    const tornHere = (): TornLine => {
      const num = (key: string) => {
        const m = new RegExp(`"${key}":(\\d+)[,}]`).exec(line);
        return m ? Number(m[1]) : null;
      };
      return { line: i + 1, bytes: Buffer.byteLength(line), batchSize: num('batchSize'), seed: num('seed') };
    };
    let t: StoredTrial;
    try {
      t = JSON.parse(line) as StoredTrial;
      if (typeof t !== 'object' || t === null || typeof t.batchSize !== 'number' || typeof t.configHash !== 'string') throw new Error('shape');
    } catch {
      if (last) {
        torn = tornHere();
        break;
      }
      throw new BstuneError('BSTUNE_USAGE', `results file line ${i + 1} is not a bstune trial record`, `${path}:${i + 1}`);
    }
    if (t.configHash !== hash) {
      // find-max's records hash `command: 'find-max'`, a sweep's hash no command: a file of the other command differs everywhere.
      const made = commandOf(t.hashedConfig);
      const now = commandOf(current);
      if (made !== null && now !== null && made !== now) {
        throw new BstuneError('BSTUNE_USAGE', `results file was written by bstune ${made}, not ${now}: --resume takes the file the interrupted ${now} wrote`, `${path}:${i + 1}`);
      }
      const diff = t.hashedConfig !== undefined && current !== undefined ? configDiff(t.hashedConfig, current) : [];
      const what = diff.length > 0 ? `: ${diff.slice(0, 3).join('; ')}${diff.length > 3 ? `; and ${diff.length - 3} more` : ''}` : ` (hash ${t.configHash}, now ${hash})`;
      throw new BstuneError('BSTUNE_USAGE', `results file was made with a different config${what}; resume with the same config and flags`, `${path}:${i + 1}`);
    }
    if (last) {
      torn = tornHere(); // no newline after it: the write was cut short
      break;
    }
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
  return { trials: out, torn };
}

/** Which command a hashed config is from (see record.ts hashedConfig), or null when it cannot tell. */
function commandOf(hashed: unknown): 'sweep' | 'find-max' | null {
  if (hashed === null || typeof hashed !== 'object' || Array.isArray(hashed)) return null;
  return (hashed as { command?: unknown }).command === 'find-max' ? 'find-max' : 'sweep';
}

/** The trials of a results file (see loadResults). */
export function readResults(path: string, hash: string, current?: unknown): StoredTrial[] {
  return loadResults(path, hash, current).trials;
}

/** The stderr line for a dropped torn line. */
export function tornLineWarning(path: string, t: TornLine): string {
  const what = t.batchSize !== null ? `the record of batch ${t.batchSize}${t.seed !== null ? ` seed ${t.seed}` : ''}` : 'a record';
  return `results file ${path}: dropped its last line (line ${t.line}, ${t.bytes} bytes), ${what} cut short while being written (the process was killed mid-write); that trial runs again`;
}

/**
 * Appends one line and fsyncs it before returning: a finished run survives a crash a moment later.
 * A device (`--out /dev/null`) cannot be synced (EINVAL) and needs no syncing: the line went where it was sent.
 */
export function appendResult(path: string, t: StoredTrial): void {
  makeDirs(dirname(path));
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, `${JSON.stringify(t)}\n`);
    try {
      fsyncSync(fd);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL' || fstatSync(fd).isFile()) throw e;
    }
  } finally {
    closeSync(fd);
  }
}

/** `.bstune/<name>-<time>.jsonl` for a sweep, `.bstune/<name>-find-max-<time>.jsonl` for find-max. */
export function defaultResultsPath(cwd: string, name: string, now = new Date(), command: 'sweep' | 'find-max' = 'sweep'): string {
  const stamp = now.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  return `${cwd}/.bstune/${safe}${command === 'find-max' ? '-find-max' : ''}-${stamp}.jsonl`;
}

/**
 * The default path made this run's own: `base` when no other run has it, else `-2`, `-3`, …
 * before `.jsonl` (two runs of one config started within the same second would otherwise
 * share a name, and the second refuse the first's trials). Created empty and exclusively,
 * so two processes never claim the same name; on any other error `base` comes back and
 * ensureWritable says what is wrong with it.
 */
export function claimResultsPath(base: string): string {
  try {
    makeDirs(dirname(base));
  } catch {
    return base;
  }
  for (let k = 1; ; k++) {
    const path = k === 1 ? base : base.replace(/\.jsonl$/, `-${k}.jsonl`);
    try {
      closeSync(openSync(path, 'wx'));
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return base;
    }
  }
}

export function ensureWritable(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new BstuneError('BSTUNE_USAGE', 'results file is a directory', path);
  // A named pipe would block the open until something reads it; a device (/dev/null) takes the lines.
  if (existsSync(path) && !statSync(path).isFile() && !statSync(path).isCharacterDevice()) throw new BstuneError('BSTUNE_USAGE', 'results file is neither a file nor a device (a pipe or socket)', path);
  try {
    makeDirs(dirname(path));
    closeSync(openSync(path, 'a'));
  } catch (e) {
    throw new BstuneError('BSTUNE_USAGE', `cannot write results file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
}
