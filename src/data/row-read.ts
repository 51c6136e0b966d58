/**
 * Reading samples (rows) of a .npy input file straight from disk: positional reads of the
 * rows a batch needs, consecutive rows coalesced into one read, converted to float32 as
 * the batch buffer holds them. Shared by the training thread and the prefetching reader
 * thread (row-reader.ts), so both give the same bytes and the same float32 values.
 */
import { readSync } from 'node:fs';

export type RowDtype = 'uint8' | 'int32' | 'int64' | 'float32' | 'float64';

/** Where a file's rows are and what they hold. Positions are doubles: exact to 2^53 bytes. */
export interface RowGeometry {
  dataOffset: number;
  /** Values per row (one sample). */
  rowValues: number;
  dtype: RowDtype;
  /** Rows in the file. */
  rows: number;
}

/** Pixel byte v as a float in [0,1]: the same float32 as `v / 255` stored, without a division per pixel. */
export const BYTE_SCALE = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** `n` pixel bytes from src[from] scaled to [0,1] into dst[to], through BYTE_SCALE. */
export function scaleBytes(src: Uint8Array, from: number, n: number, dst: Float32Array, to: number): void {
  const table = BYTE_SCALE;
  for (let p = 0; p < n; p++) dst[to + p] = table[src[from + p]!]!;
}

export const DTYPE_BYTES: Record<RowDtype, number> = { uint8: 1, int32: 4, int64: 8, float32: 4, float64: 8 };

/** A read that came back short: the file shrank after it was checked. */
export class ShortReadError extends Error {
  constructor(readonly row: number, readonly expected: number, readonly got: number) {
    super(`the file ended early: row ${row} needs ${expected} bytes from its start, ${got} were read`);
  }
}

/** Reads `length` bytes at `position` fully (a pread may return less than asked). */
function readFully(fd: number, into: Uint8Array, length: number, position: number, row: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) throw new ShortReadError(row, length, done);
    done += n;
  }
}

/** Raw bytes for up to `values` of `dtype`, 8-byte aligned (a fresh ArrayBuffer, not Buffer's pool). */
export function stagingFor(dtype: RowDtype, values: number, current?: Uint8Array): Uint8Array {
  const bytes = values * DTYPE_BYTES[dtype];
  if (current && current.byteLength >= bytes) return current;
  return new Uint8Array(new ArrayBuffer(Math.max(bytes, 8)));
}

/**
 * Fills dst[dstOffset ..] with rows[0 .. count) of the file, in that order: float32 rows
 * are read into dst's own bytes; other dtypes into `staging` (see stagingFor), then
 * converted as a whole-file conversion would (uint8 / 255; int32, int64 and float64 to the
 * nearest float32). Returns the number of reads made.
 */
export function readRowsInto(
  fd: number, g: RowGeometry, rows: ArrayLike<number>, count: number,
  dst: Float32Array, dstOffset: number, staging: Uint8Array | null,
): number {
  const vals = g.rowValues;
  const rowBytes = vals * DTYPE_BYTES[g.dtype];
  const direct = g.dtype === 'float32';
  const bytesOut = direct ? new Uint8Array(dst.buffer, dst.byteOffset + dstOffset * 4, count * rowBytes) : staging!;
  let reads = 0;
  for (let k = 0; k < count;) {
    const first = rows[k]!;
    if (!(first >= 0 && first < g.rows)) throw new RangeError(`row ${first} is outside the file's ${g.rows} rows`);
    // A run of consecutive rows is one read.
    let run = 1;
    while (k + run < count && rows[k + run] === first + run && first + run < g.rows) run++;
    readFully(fd, bytesOut.subarray(k * rowBytes), run * rowBytes, g.dataOffset + first * rowBytes, first);
    reads++;
    k += run;
  }
  if (direct) return reads;
  const n = count * vals;
  const out = dst.subarray(dstOffset, dstOffset + n);
  const buf = bytesOut.buffer;
  const off = bytesOut.byteOffset;
  switch (g.dtype) {
    case 'uint8': {
      scaleBytes(new Uint8Array(buf, off, n), 0, n, out, 0);
      break;
    }
    case 'int32':
      out.set(new Int32Array(buf, off, n));
      break;
    case 'float64':
      out.set(new Float64Array(buf, off, n));
      break;
    case 'int64': {
      const i64 = new BigInt64Array(buf, off, n);
      for (let i = 0; i < n; i++) out[i] = Number(i64[i]!);
      break;
    }
  }
  return reads;
}
