import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { BstuneError } from '../errors.js';
import { makeDirs } from '../mkdirs.js';

/** A unique sibling of `target`, so the final rename stays on one file system. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The system's error code behind a failure (through ensureDir's BstuneError to its cause), else its message. */
export function failureCode(e: unknown): string {
  return errnoCode((e as { cause?: unknown } | null)?.cause) ?? (e instanceof BstuneError ? e.message : errnoCode(e) ?? errMessage(e));
}

export async function ensureDir(dir: string, purpose: string): Promise<void> {
  try {
    makeDirs(dir);
  } catch (e) {
    throw new BstuneError(
      'BSTUNE_DATA_UNAVAILABLE',
      `cannot create the ${purpose} directory (${errnoCode(e) ?? errMessage(e)}); set BSTUNE_CACHE_DIR to a writable directory`,
      dir,
      { cause: e },
    );
  }
}

/** Flushes a finished file to disk, so a crash after the rename cannot leave a torn file under the final name. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Best effort: makes the rename itself durable; some file systems refuse fsync on directories. */
async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Durability of the directory entry is a nicety; the data itself is already synced.
  }
}

/**
 * Writes via temp file + fsync + rename. Concurrent writers each use their own temp
 * file and rename() is atomic, so readers see either no file or one complete file.
 */
export async function writeFileAtomic(target: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    const fh = await open(tmp, 'wx');
    try {
      for (const c of chunks) {
        // write() may be partial; loop like fs.writeFile does.
        for (let off = 0; off < c.length; ) off += (await fh.write(c, off, c.length - off)).bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(target));
}

export async function commitTemp(tmp: string, target: string): Promise<void> {
  await fsyncFile(tmp);
  await rename(tmp, target);
  await fsyncDir(dirname(target));
}
