/**
 * Writing report files (the one part of src/report/html that touches the disk): to a temp
 * file beside the target, then renamed, so a reader never sees half a report.
 */
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { BstuneError } from '../../errors.js';
import { makeDirs } from '../../mkdirs.js';

export function writeOutput(path: string, text: string, flag: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // absent: fine
  }
  if (isDir) throw new BstuneError('BSTUNE_USAGE', 'output path is a directory', `${flag} ${path}`);
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
