// The decoded binary cache of the full MNIST set. Gunzipping and parsing the four
// IDX files costs ~0.4 s per trial process (the gzip dominates), and shuffling 60,000
// images into train and validation copies 47 MB in random order. The cache holds the
// decoded bytes (55 MB) with the training pool stored already shuffled for the last
// (seed, validationSplit) used, so a trial reads one file, checks it, and takes its
// splits as views. Like the embedded cache it is checksummed and rebuilt when anything
// is off; another seed re-orders it from the cache (no gunzip) and rewrites it.
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

import { ensureDir, errMessage, errnoCode, writeFileAtomic } from './fs-util.js';
import { gather, permutation, splitSizes } from './split.js';
import type { Split } from './types.js';
import { NUM_CLASSES, PIXELS } from './types.js';

const MAGIC = Buffer.from('BSTUNEMF', 'latin1');
const FORMAT_VERSION = 1;
const FIXED_HEADER = 8 + 4 * 5 + 8 + 8;
const DIGEST_BYTES = 32;

/**
 * CRC-32 (zlib's, native: ~1 GB/s) catches torn or flipped bytes; nothing here guards
 * against tampering, and sha256 over 55 MB alone would cost 0.2 s. Node < 20.15 has no
 * zlib.crc32: sha256 there (slower, still no gunzip).
 */
const crc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const CHECKSUM: 'crc32' | 'sha256' = typeof crc32 === 'function' ? 'crc32' : 'sha256';

function checksum(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(DIGEST_BYTES);
  if (CHECKSUM === 'crc32') out.writeUInt32LE(crc32!(payload) >>> 0, 0);
  else createHash('sha256').update(payload).digest().copy(out);
  return out;
}

export interface FullPools {
  train: Split;
  test: Split;
}

/** What the cache was built from: the official md5s, or the user's files (path, size, mtime). */
export type SourceFingerprint = string;

export const officialFingerprint = (md5s: readonly string[]): SourceFingerprint => `official:${md5s.join(',')}`;

/** Stat-only, so checking that a user's IDX files did not change costs microseconds, not a gunzip. */
export async function filesFingerprint(paths: readonly string[]): Promise<SourceFingerprint> {
  const parts = await Promise.all(paths.map(async (p) => {
    const s = await stat(p);
    return `${p}|${s.size}|${Math.round(s.mtimeMs)}`;
  }));
  return `files:${parts.join(';')}`;
}

export function fullCachePath(cacheDirPath: string, fingerprint: SourceFingerprint): string {
  const key = createHash('sha256').update(fingerprint).digest('hex').slice(0, 16);
  return join(cacheDirPath, `mnist-full-${key}.v${FORMAT_VERSION}.bin`);
}

/** The training pool in the order splitPool(seed, validationSplit) takes it. */
export interface OrderedPools extends FullPools {
  seed: number;
  validationSplit: number;
}

export function encodeFullCache(pools: OrderedPools, fingerprint: SourceFingerprint): Buffer[] {
  const fp = Buffer.from(fingerprint, 'utf8');
  const header = Buffer.alloc(FIXED_HEADER + fp.length + DIGEST_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(pools.train.count, 12);
  header.writeUInt32LE(pools.test.count, 16);
  header.writeUInt32LE(CHECKSUM === 'crc32' ? 1 : 2, 20);
  header.writeUInt32LE(fp.length, 24);
  header.writeDoubleLE(pools.seed, 28);
  header.writeDoubleLE(pools.validationSplit, 36);
  fp.copy(header, FIXED_HEADER);
  const parts = [pools.train.images, pools.train.labels, pools.test.images, pools.test.labels];
  const payload = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  checksum(payload).copy(header, FIXED_HEADER + fp.length);
  return [header, payload];
}

/**
 * Reads the file in chunks and runs the CRC over each chunk while the next one is read
 * (the read runs on libuv's thread pool), so checking costs little on top of reading.
 * Returns the bytes and the CRC of everything after `payloadStart(header)`.
 */
async function readWithCrc(file: string, payloadStart: (head: Buffer) => number | null): Promise<{ buf: Buffer; crc: number | null }> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(size);
    const CHUNK = 4 << 20;
    const readAt = async (from: number): Promise<number> => {
      let off = from;
      const end = Math.min(size, from + CHUNK);
      while (off < end) {
        const { bytesRead } = await fh.read(buf, off, end - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return off;
    };
    let got = await readAt(0);
    const start = CHECKSUM === 'crc32' ? payloadStart(buf.subarray(0, got)) : null;
    let crc = 0;
    let done = start ?? size;
    while (got < size) {
      const next = readAt(got);
      if (start !== null && got > done) crc = crc32!(buf.subarray(done, got), crc);
      done = Math.max(done, got);
      const reached = await next;
      if (reached === got) break; // shrank while reading: the size check reports it
      got = reached;
    }
    if (start !== null && got > done) crc = crc32!(buf.subarray(done, got), crc);
    return { buf: got === size ? buf : buf.subarray(0, got), crc: start !== null && got >= start ? crc >>> 0 : null };
  } finally {
    await fh.close();
  }
}

const headerPayloadStart = (head: Buffer): number | null =>
  head.length >= FIXED_HEADER ? FIXED_HEADER + head.readUInt32LE(24) + DIGEST_BYTES : null;

/** The stored pools, or the reason the bytes are not a valid cache for this source. */
export function decodeFullCache(buf: Buffer, fingerprint: SourceFingerprint, payloadCrc: number | null = null): OrderedPools | string {
  if (buf.length < FIXED_HEADER) return `${buf.length} bytes is shorter than the header`;
  if (!buf.subarray(0, 8).equals(MAGIC)) return 'bad magic';
  const version = buf.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return `format version ${version}, expected ${FORMAT_VERSION}`;
  const trainCount = buf.readUInt32LE(12);
  const testCount = buf.readUInt32LE(16);
  const kind = buf.readUInt32LE(20);
  if (kind !== (CHECKSUM === 'crc32' ? 1 : 2)) return 'written with another checksum';
  const fpLength = buf.readUInt32LE(24);
  const seed = buf.readDoubleLE(28);
  const validationSplit = buf.readDoubleLE(36);
  if (FIXED_HEADER + fpLength > buf.length) return 'truncated header';
  if (buf.toString('utf8', FIXED_HEADER, FIXED_HEADER + fpLength) !== fingerprint) return 'built from other source files';
  const start = FIXED_HEADER + fpLength + DIGEST_BYTES;
  const expected = start + (trainCount + testCount) * (PIXELS + 1);
  if (buf.length !== expected) return `size ${buf.length} bytes, expected ${expected}`;
  const payload = buf.subarray(start);
  const stored = buf.subarray(FIXED_HEADER + fpLength, start);
  const ok = payloadCrc !== null && CHECKSUM === 'crc32'
    ? stored.readUInt32LE(0) === payloadCrc && stored.subarray(4).every((b) => b === 0)
    : checksum(payload).equals(stored);
  if (!ok) return 'checksum mismatch';
  let at = 0;
  const take = (n: number) => payload.subarray(at, (at += n));
  const train = { images: take(trainCount * PIXELS), labels: take(trainCount), count: trainCount };
  const test = { images: take(testCount * PIXELS), labels: take(testCount), count: testCount };
  for (const labels of [train.labels, test.labels]) {
    for (let i = 0; i < labels.length; i++) if (labels[i]! >= NUM_CLASSES) return `label ${labels[i]} out of range`;
  }
  return { train, test, seed, validationSplit };
}

/** The training pool shuffled for (seed, validationSplit), as splitPool would take it. */
export function orderPools(pools: FullPools, seed: number, validationSplit: number): OrderedPools {
  const order = permutation(pools.train.count, seed);
  return { train: gather(pools.train, order, 0, pools.train.count), test: pools.test, seed, validationSplit };
}

/** Undoes orderPools: the training pool in file order again. */
export function unorderPools(o: OrderedPools): FullPools {
  const { count } = o.train;
  const order = permutation(count, o.seed);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let k = 0; k < count; k++) {
    const dst = order[k]!;
    images.set(o.train.images.subarray(k * PIXELS, (k + 1) * PIXELS), dst * PIXELS);
    labels[dst] = o.train.labels[k]!;
  }
  return { train: { images, labels, count }, test: o.test };
}

export interface SplitPools {
  train: Split;
  validation: Split;
  test: Split;
}

/** Views, no copies: identical to splitPool(pool, validationSplit, seed, trainLimit). */
function viewSplit(o: OrderedPools, trainLimit: number | undefined): SplitPools {
  const { nVal, nTrain } = splitSizes(o.train.count, o.validationSplit, o.seed, trainLimit);
  const view = (from: number, to: number): Split => ({
    images: o.train.images.subarray(from * PIXELS, to * PIXELS), labels: o.train.labels.subarray(from, to), count: to - from,
  });
  return { validation: view(0, nVal), train: view(nVal, nVal + nTrain), test: o.test };
}

/**
 * Reads the cache for `fingerprint`; on a miss or a bad cache, decodes the IDX files with
 * `build` and writes the cache for next time. A cache that cannot be written only costs
 * speed, so that is reported, not thrown.
 */
export async function loadFullPoolsCached(
  cacheDirPath: string,
  fingerprint: SourceFingerprint,
  split: { seed: number; validationSplit: number; trainLimit?: number },
  build: () => Promise<FullPools>,
  onProgress: (msg: string) => void,
): Promise<SplitPools & { cached: boolean }> {
  // Fail on bad options before reading 55 MB.
  splitSizes(2, split.validationSplit, split.seed, split.trainLimit);
  const file = fullCachePath(cacheDirPath, fingerprint);
  let existing: Buffer | undefined;
  let crc: number | null = null;
  try {
    ({ buf: existing, crc } = await readWithCrc(file, headerPayloadStart));
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') onProgress(`cannot read the decoded MNIST cache ${file} (${errnoCode(e) ?? errMessage(e)}); rebuilding it`);
  }
  let pools: FullPools | null = null;
  if (existing) {
    const decoded = decodeFullCache(existing, fingerprint, crc);
    if (typeof decoded !== 'string') {
      if (decoded.seed === split.seed && decoded.validationSplit === split.validationSplit) {
        return { ...viewSplit(decoded, split.trainLimit), cached: true };
      }
      pools = unorderPools(decoded);
    } else {
      onProgress(`decoded MNIST cache ${file} is invalid (${decoded}); rebuilding it`);
    }
  }
  const ordered = orderPools(pools ?? await build(), split.seed, split.validationSplit);
  try {
    await ensureDir(cacheDirPath, 'cache');
    await writeFileAtomic(file, encodeFullCache(ordered, fingerprint));
  } catch (e) {
    onProgress(`could not write the decoded MNIST cache (${errnoCode(e) ?? errMessage(e)}); continuing without it`);
  }
  return { ...viewSplit(ordered, split.trainLimit), cached: pools !== null };
}
