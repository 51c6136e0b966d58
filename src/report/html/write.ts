/**
 * Writing report files (the one part of src/report/html that touches the disk): to a temp
 * file beside the target, then renamed, so a reader never sees half a report.
 */
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { BstuneError } from '../../errors.js';
import { makeDirs } from '../../mkdirs.js';

/** Refuses an output path that is a folder: before a run, so a bad flag costs no training and leaves no results file. */
export function checkOutputPath(path: string, flag: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // absent: fine
  }
  if (isDir) throw new BstuneError('BSTUNE_USAGE', 'output path is a directory', `${flag} ${path}`);
}

/** checkOutputPath for a training command's --html, resolved the way writeRunReport resolves it. */
export function checkHtmlFlag(cwd: string, file: string | undefined): void {
  if (file !== undefined) checkOutputPath(resolve(cwd, file), '--html');
}

export function writeOutput(path: string, text: string, flag: string): void {
  checkOutputPath(path, flag);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    makeDirs(dirname(path));
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new BstuneError('BSTUNE_USAGE', `cannot write ${flag.replace(/^--/, '')} file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
}
