/**
 * A large .npy input file that is never read whole: the loader checks its header, its size
 * and (for float data) that every value is finite, through one small reused buffer; training
 * then reads each batch's rows from the file with positional reads (row-read.ts), converted
 * to float32 per batch. The operating system's page cache holds the file, once for every
 * trial process on the machine (what a memory map would give; Node has none).
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

import { BstuneError } from '../errors.js';
import { errMessage, errnoCode } from './fs-util.js';
import { checkDataSize, npyDataOffset, parseNpyHeader } from './npy.js';
import { firstNonFinite, firstNonFiniteAsFloat32, nonFiniteInput } from './finite.js';
import { readRowsInto, ShortReadError, stagingFor, type RowDtype, type RowGeometry } from './row-read.js';
import { rowReader } from './row-reader.js';

/** What a later open must still find: the file the checks were made on. */
interface Identity {
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

const identityOf = (s: Stats): Identity => ({ size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, dev: s.dev });
const sameFile = (a: Identity, b: Identity) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
const bad = (message: string, file: string, cause?: unknown) => new BstuneError('BSTUNE_DATA_INVALID', message, file, cause === undefined ? undefined : { cause });

/** Bytes the finite check reads at a time (one reused buffer; a multiple of 8). */
export const SCAN_CHUNK_BYTES = 1 << 20;

let opened = 0;
/** File descriptors held by NpyRows in this process (tests: every one is closed after a trial). */
export const openRowFiles = (): number => opened;

/** The rows (samples) of a .npy input file, read per batch. Stands where a typed array of the inputs would. */
export class NpyRows implements RowGeometry {
  /** rows × rowValues, as a typed array's length would be. */
  readonly length: number;
  private fd: number | null = null;
  private staging: Uint8Array | null = null;
  constructor(
    readonly file: string,
    readonly dtype: RowDtype,
    readonly dataOffset: number,
    readonly rowValues: number,
    readonly rows: number,
    private readonly identity: Identity,
  ) {
    this.length = rows * rowValues;
  }

  /** Opened on first use; a file changed since it was checked is refused (its checks would not hold). */
  private descriptor(): number {
    if (this.fd !== null) return this.fd;
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (e) {
      throw bad(`cannot open the .npy file again to read batches (${errnoCode(e) ?? errMessage(e)})`, this.file, e);
    }
    const now = identityOf(fstatSync(fd));
    if (!sameFile(now, this.identity)) {
      closeSync(fd);
      throw bad(`the .npy file changed after it was loaded and checked (${this.identity.size} → ${now.size} bytes, or a newer modification time); run again`, this.file);
    }
    this.fd = fd;
    opened++;
    return fd;
  }

  /**
   * Fills dst with rows[0 .. count) as float32, in order. `next` names the rows the
   * following call will most likely ask for: a reader thread reads them meanwhile.
   */
  read(rows: Uint32Array, count: number, dst: Float32Array, next?: { rows: Uint32Array; count: number }): void {
    const fd = this.descriptor();
    const reader = rowReader();
    try {
      if (!reader?.take(fd, this, rows, count, dst)) {
        if (this.dtype !== 'float32') this.staging = stagingFor(this.dtype, count * this.rowValues, this.staging ?? undefined);
        readRowsInto(fd, this, rows, count, dst, 0, this.staging);
      }
    } catch (e) {
      throw this.readFailure(e);
    }
    if (next && next.count > 0) reader?.request(fd, this, next.rows, next.count);
  }

  readFailure(e: unknown): Error {
    if (e instanceof ShortReadError) return bad(`.npy data ended early at sample ${e.row}: the file was cut short after it was loaded`, this.file, e);
    if (e instanceof BstuneError) return e;
    return bad(`cannot read sample rows from the .npy file (${errnoCode(e) ?? errMessage(e)})`, this.file, e);
  }

  /** Closes the file (after any read the reader thread still does from it). Reading again reopens it. */
  close(): void {
    if (this.fd === null) return;
    rowReader()?.forget(this.fd);
    closeSync(this.fd);
    this.fd = null;
    this.staging = null;
    opened--;
  }
}

async function readAt(fh: FileHandle, into: Uint8Array, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(into, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Opens a .npy input file without reading its data into memory: header and size checked
 * (the same errors as a whole read), float32 and float64 values checked finite (float64
 * within float32's range) a chunk at a time. `shape` includes the sample count first.
 */
export async function openNpyRows(file: string): Promise<{ rows: NpyRows; shape: number[] }> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = errnoCode(e);
    throw new BstuneError(code === 'ENOENT' ? 'BSTUNE_DATA_UNAVAILABLE' : 'BSTUNE_DATA_INVALID', code === 'ENOENT' ? '.npy file not found' : `cannot read .npy file (${code ?? errMessage(e)})`, file, { cause: e });
  }
  try {
    const stat = await fh.stat();
    const size = stat.size;
    let head = new Uint8Array(Math.min(size, 4096));
    head = head.subarray(0, await readAt(fh, head, head.length, 0));
    const need = npyDataOffset(head);
    if (need !== null && need > head.length) {
      // A header longer than the file is read whole, so the error below names the file's real size.
      head = new Uint8Array(Math.min(need, size));
      head = head.subarray(0, await readAt(fh, head, head.length, 0));
    }
    const h = parseNpyHeader(head, file);
    checkDataSize(h, size, file);
    if (h.shape.length === 0) throw bad('holds a single value (shape ()), not one row per sample', file);
    const count = h.shape[0]!;
    const rowValues = h.shape.slice(1).reduce((a, b) => a * b, 1);
    if (h.dtype === 'float32' || h.dtype === 'float64') checkFinite(fh, file, h.dtype, h.dataOffset, count, rowValues);
    return { rows: new NpyRows(file, h.dtype, h.dataOffset, rowValues, count, identityOf(stat)), shape: h.shape };
  } finally {
    await fh.close();
  }
}

function readAtSync(fd: number, into: Uint8Array, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * The whole-array check (arrays.ts toInputs), a chunk at a time through one buffer. Plain
 * blocking reads: 180 asynchronous 1 MiB reads of a 188 MB file took ~65 ms here, blocking
 * ones ~10 ms (the file is in the page cache; the check itself ~35 ms).
 */
function checkFinite(fh: FileHandle, file: string, dtype: 'float32' | 'float64', dataOffset: number, count: number, rowValues: number): void {
  const bpe = dtype === 'float32' ? 4 : 8;
  const total = count * rowValues * bpe;
  const chunk = new Uint8Array(new ArrayBuffer(SCAN_CHUNK_BYTES));
  for (let pos = 0; pos < total; pos += SCAN_CHUNK_BYTES) {
    const len = Math.min(SCAN_CHUNK_BYTES, total - pos);
    const got = readAtSync(fh.fd, chunk, len, dataOffset + pos);
    if (got < len) throw bad(`.npy data ended early while it was checked (${got} of ${len} bytes at offset ${dataOffset + pos})`, file);
    const values = dtype === 'float32' ? new Float32Array(chunk.buffer, 0, len / 4) : new Float64Array(chunk.buffer, 0, len / 8);
    const i = values instanceof Float32Array ? firstNonFinite(values) : firstNonFiniteAsFloat32(values);
    if (i >= 0) {
      throw bad(nonFiniteInput(values[i]!, Math.floor((pos / bpe + i) / rowValues), dtype === 'float64'), file);
    }
  }
}
