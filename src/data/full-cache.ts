// The decoded binary cache of the full MNIST set. Gunzipping and parsing the four
// IDX files costs ~0.4 s per trial process (the gzip dominates). The cache holds the
// decoded bytes (55 MB, uint8 pixels as in the IDX files, in file order), so a trial
// reads one file with one read, checks it, and takes its pools as views on that one
// buffer; train/validation are then selections by index (splitPool), so another seed
// or validationSplit needs no other cache. Like the embedded cache it is checksummed
// and rebuilt when anything is off.
import { createHash } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

import { ensureDir, errMessage, errnoCode, failureCode, writeFileAtomic } from './fs-util.js';
import { splitPool, splitSizes } from './split.js';
import type { OnProgress, Split } from './types.js';
import { inMemory, NUM_CLASSES, PIXELS } from './types.js';

const MAGIC = Buffer.from('BSTUNEMF', 'latin1');
const FORMAT_VERSION = 2;
const FIXED_HEADER = 8 + 4 * 5;
const DIGEST_BYTES = 32;

/**
 * CRC-32 (zlib's, native: ~15 ms over the 55 MB here) catches torn or flipped bytes;
 * nothing here guards against tampering, and sha256 over 55 MB would cost ~0.2 s.
 * Node < 20.15 has no zlib.crc32: sha256 there (slower, still no gunzip).
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

const cacheName = (cacheDirPath: string, fingerprint: SourceFingerprint, version: number): string =>
  join(cacheDirPath, `mnist-full-${createHash('sha256').update(fingerprint).digest('hex').slice(0, 16)}.v${version}.bin`);

export function fullCachePath(cacheDirPath: string, fingerprint: SourceFingerprint): string {
  return cacheName(cacheDirPath, fingerprint, FORMAT_VERSION);
}

export function encodeFullCache(pools: FullPools, fingerprint: SourceFingerprint): Buffer[] {
  const fp = Buffer.from(fingerprint, 'utf8');
  const header = Buffer.alloc(FIXED_HEADER + fp.length + DIGEST_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(pools.train.count, 12);
  header.writeUInt32LE(pools.test.count, 16);
  header.writeUInt32LE(CHECKSUM === 'crc32' ? 1 : 2, 20);
  header.writeUInt32LE(fp.length, 24);
  fp.copy(header, FIXED_HEADER);
  const parts = [inMemory(pools.train.images), pools.train.labels, inMemory(pools.test.images), pools.test.labels];
  const payload = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  checksum(payload).copy(header, FIXED_HEADER + fp.length);
  return [header, payload];
}

/** The whole file in one buffer, with one read (no chunks, no second copy). */
async function readWhole(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, got);
      if (bytesRead === 0) break; // shrank while reading: the size check reports it
      got += bytesRead;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** The stored pools (views on `buf`, no copies), or the reason the bytes are not a valid cache for this source. */
export function decodeFullCache(buf: Buffer, fingerprint: SourceFingerprint): FullPools | string {
  if (buf.length < FIXED_HEADER) return `${buf.length} bytes is shorter than the header`;
  if (!buf.subarray(0, 8).equals(MAGIC)) return 'bad magic';
  const version = buf.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return `format version ${version}, expected ${FORMAT_VERSION}`;
  const trainCount = buf.readUInt32LE(12);
  const testCount = buf.readUInt32LE(16);
  const kind = buf.readUInt32LE(20);
  if (kind !== (CHECKSUM === 'crc32' ? 1 : 2)) return 'written with another checksum';
  const fpLength = buf.readUInt32LE(24);
  if (FIXED_HEADER + fpLength > buf.length) return 'truncated header';
  if (buf.toString('utf8', FIXED_HEADER, FIXED_HEADER + fpLength) !== fingerprint) return 'built from other source files';
  const start = FIXED_HEADER + fpLength + DIGEST_BYTES;
  const expected = start + (trainCount + testCount) * (PIXELS + 1);
  if (buf.length !== expected) return `size ${buf.length} bytes, expected ${expected}`;
  const payload = buf.subarray(start);
  if (!checksum(payload).equals(buf.subarray(FIXED_HEADER + fpLength, start))) return 'checksum mismatch';
  let at = 0;
  const take = (n: number) => payload.subarray(at, (at += n));
  const train = { images: take(trainCount * PIXELS), labels: take(trainCount), count: trainCount };
  const test = { images: take(testCount * PIXELS), labels: take(testCount), count: testCount };
  for (const labels of [train.labels, test.labels]) {
    for (let i = 0; i < labels.length; i++) if (labels[i]! >= NUM_CLASSES) return `label ${labels[i]} out of range`;
  }
  return { train, test };
}

export interface SplitPools {
  train: Split;
  validation: Split;
  test: Split;
}

/**
 * Reads the cache for `fingerprint`; on a miss or a bad cache, decodes the IDX files with
 * `build` and writes the cache for next time. A cache that cannot be written only costs
 * speed, so that is reported, not thrown. Splits exactly as splitPool does.
 */
export async function loadFullPoolsCached(
  cacheDirPath: string,
  fingerprint: SourceFingerprint,
  split: { seed: number; validationSplit: number; trainLimit?: number },
  build: () => Promise<FullPools>,
  onProgress: OnProgress,
): Promise<SplitPools & { cached: boolean }> {
  // Fail on bad options before reading 55 MB.
  splitSizes(2, split.validationSplit, split.seed, split.trainLimit);
  const file = fullCachePath(cacheDirPath, fingerprint);
  const splitOf = (pools: FullPools, cached: boolean) => ({
    ...splitPool(pools.train, split.validationSplit, split.seed, split.trainLimit), test: pools.test, cached,
  });
  let existing: Buffer | undefined;
  try {
    existing = await readWhole(file);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') onProgress(`cannot read the decoded MNIST cache ${file} (${errnoCode(e) ?? errMessage(e)}); rebuilding it`);
  }
  if (existing) {
    const decoded = decodeFullCache(existing, fingerprint);
    if (typeof decoded !== 'string') return splitOf(decoded, true);
    onProgress(`decoded MNIST cache ${file} is invalid (${decoded}); rebuilding it`);
  }
  const pools = await build();
  try {
    await ensureDir(cacheDirPath, 'cache');
    await writeFileAtomic(file, encodeFullCache(pools, fingerprint));
    // The version-1 cache (stored pre-shuffled for one seed) is 55 MB no reader uses any more.
    await rm(cacheName(cacheDirPath, fingerprint, 1), { force: true });
  } catch (e) {
    onProgress(`could not write the decoded MNIST cache ${file} (${failureCode(e)}); every trial process decodes the IDX files again (set BSTUNE_CACHE_DIR to a writable directory)`, 'warning');
  }
  return splitOf(pools, false);
}
