import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` that fails instead of hanging. Node 20's `mkdirSync(dir, { recursive: true })`
 * never returns (a core at 100%) when the file system answers ENOENT under a parent that
 * exists, as /proc and /sys do (`BSTUNE_CACHE_DIR=/proc/x` hung a run). So this walks up to
 * the deepest folder that exists and creates each missing one below it with a plain mkdir,
 * whose error (ENOENT, EACCES, ENOTDIR, ...) then reaches the caller.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (isDir(d)) break;
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      // Another process may have made it meanwhile: fine if it is a folder now.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !isDir(d)) throw e;
    }
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
