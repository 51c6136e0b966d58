import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

import { BstuneError } from '../errors.js';
import { commitTemp, errMessage, errnoCode, tempPathFor } from './fs-util.js';
import type { OnProgress } from './types.js';

export interface OfficialFile {
  /** File name as published, gzip'd. */
  name: string;
  md5: string;
  unzippedBytes: number;
}

/** The four official files and their published md5 sums (of the .gz bytes). */
export const MNIST_FILES = {
  trainImages: { name: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', unzippedBytes: 47_040_016 },
  trainLabels: { name: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432', unzippedBytes: 60_008 },
  testImages: { name: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3', unzippedBytes: 7_840_016 },
  testLabels: { name: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c', unzippedBytes: 10_008 },
} as const satisfies Record<string, OfficialFile>;

/** Pinned mirrors, tried in order; yann.lecun.com itself now refuses anonymous downloads. */
export const MNIST_MIRRORS: readonly string[] = [
  'https://storage.googleapis.com/cvdf-datasets/mnist/',
  'https://ossci-datasets.s3.amazonaws.com/mnist/',
];

/** A download that receives no bytes for this long is treated as a network failure. */
const STALL_MS = 30_000;
const PROGRESS_EVERY_MS = 2_000;

export interface DownloadOptions {
  fetchImpl?: typeof fetch;
  onProgress?: OnProgress;
}

/** `network`: no response at all (likely offline); `stream`: the connection broke mid-body. */
type Failure = { url: string; kind: 'network' | 'stream' | 'http' | 'md5' | 'io'; detail: string };

export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** One line that tells the user how to get the files in without us. */
export function manualHint(dir: string): string {
  const names = Object.values(MNIST_FILES).map((f) => f.name).join(', ');
  return `download the four files ${names} from ${MNIST_MIRRORS[0]} into ${dir}, or set data.idxDir / --data-dir to a directory that holds them`;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

async function downloadOnce(
  url: string,
  file: OfficialFile,
  tmp: string,
  fetchImpl: typeof fetch,
  onProgress: (msg: string) => void,
): Promise<Failure | undefined> {
  const ac = new AbortController();
  const arm = () => setTimeout(() => ac.abort(new Error(`no data for ${STALL_MS / 1000} s`)), STALL_MS);
  let stall = arm();
  const kick = () => {
    clearTimeout(stall);
    stall = arm();
  };
  try {
    let res: Response;
    try {
      res = await fetchImpl(url, { signal: ac.signal, redirect: 'follow' });
    } catch (e) {
      return { url, kind: 'network', detail: describeNetworkError(e) };
    }
    // Only https bytes are used, even after redirects (the md5 check guards the bytes; this
    // guards the channel). fetch has followed the redirect by now; nothing from it is kept.
    if (res.url && !res.url.startsWith('https://')) {
      await res.body?.cancel().catch(() => {});
      return { url, kind: 'http', detail: `redirected to a non-https address (${new URL(res.url).protocol})` };
    }
    if (!res.ok || !res.body) {
      // Discard the error page so undici can release the connection.
      await res.body?.cancel().catch(() => {});
      return { url, kind: 'http', detail: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}` };
    }
    const total = Number(res.headers.get('content-length')) || 0;
    onProgress(`downloading ${file.name}${total ? ` (${mb(total)})` : ''} from ${new URL(url).host}`);
    const hash = createHash('md5');
    let received = 0;
    let lastReport = Date.now();
    const meter = async function* (src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of src) {
        kick();
        hash.update(chunk);
        received += chunk.length;
        if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = Date.now();
          onProgress(`downloading ${file.name}: ${total ? `${Math.floor((100 * received) / total)}%` : mb(received)}`);
        }
        yield chunk;
      }
    };
    // The temp file is opened before the copy and closed before this returns: a write
    // stream opened by path opens it later, so a body that fails at once could create the
    // file after the caller had removed it.
    let out: FileHandle | undefined;
    try {
      out = await open(tmp, 'wx');
      // Made after the open: a body that failed while nothing read it would be an unhandled 'error'.
      const body = Readable.fromWeb(res.body as unknown as NodeReadableStream<Uint8Array>);
      await pipeline(body, meter, out.createWriteStream());
    } catch (e) {
      // A temp file that could not be opened leaves the body unread: release the connection.
      if (!out) await res.body.cancel().catch(() => {});
      const code = errnoCode(e);
      // Local file-system codes mean our side failed; anything else is the connection.
      if (code && /^E(NOSPC|ACCES|PERM|ROFS|EXIST|NOENT|DQUOT|IO)$/.test(code)) return { url, kind: 'io', detail: code };
      return { url, kind: 'stream', detail: describeNetworkError(e) };
    } finally {
      await out?.close().catch(() => {});
    }
    const md5 = hash.digest('hex');
    if (md5 !== file.md5) return { url, kind: 'md5', detail: `md5 ${md5}, expected ${file.md5}` };
    return undefined;
  } finally {
    clearTimeout(stall);
  }
}

function describeNetworkError(e: unknown): string {
  // undici hides the useful part ("getaddrinfo ENOTFOUND host") in `cause`.
  const cause = (e as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error && cause.message) return cause.message;
  const code = errnoCode(e);
  return code && !errMessage(e).includes(code) ? `${errMessage(e)} (${code})` : errMessage(e);
}

/** Groups identical failures so two mirrors failing the same way read as one clause. */
function describeFailures(failures: Failure[]): string {
  const byDetail = new Map<string, string[]>();
  for (const f of failures) byDetail.set(f.detail, [...(byDetail.get(f.detail) ?? []), f.url]);
  return [...byDetail].map(([detail, urls]) => `${detail} from ${urls.join(' and ')}`).join('; ');
}

function failureError(file: OfficialFile, dir: string, failures: Failure[]): BstuneError {
  const tried = describeFailures(failures);
  const hint = manualHint(dir);
  if (failures.some((f) => f.kind === 'md5')) {
    return new BstuneError(
      'BSTUNE_DATA_INVALID',
      `downloaded ${file.name} does not match its official checksum (${tried}); the mirror may be serving a corrupt file: ${hint}`,
      dir,
    );
  }
  const io = failures.find((f) => f.kind === 'io');
  if (io) {
    return new BstuneError(
      'BSTUNE_DATA_UNAVAILABLE',
      `cannot write ${file.name} into the cache (${io.detail}); free space or set BSTUNE_CACHE_DIR to a writable directory, or ${hint}`,
      dir,
    );
  }
  const offline = failures.every((f) => f.kind === 'network');
  return new BstuneError(
    'BSTUNE_DATA_UNAVAILABLE',
    `cannot download ${file.name}${offline ? ' (offline?)' : ''}: ${tried}; ${hint}`,
    dir,
  );
}

/**
 * Makes sure `dir/<file.name>` holds the official bytes: a cached copy is md5-checked
 * (and replaced if corrupt); otherwise each mirror is tried, streaming into a temp
 * file that is renamed into place only after its md5 matches.
 */
export async function ensureOfficialFile(file: OfficialFile, dir: string, opts: DownloadOptions = {}): Promise<string> {
  const onProgress = opts.onProgress ?? (() => {});
  const target = join(dir, file.name);
  const cachedMd5 = await md5File(target).catch((e: unknown) => {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw new BstuneError('BSTUNE_DATA_UNAVAILABLE', `cannot read cached ${file.name} (${errnoCode(e) ?? errMessage(e)})`, target, {
      cause: e,
    });
  });
  if (cachedMd5 === file.md5) return target;
  if (cachedMd5 !== undefined) {
    onProgress(`cached ${file.name} is corrupt (md5 ${cachedMd5}, expected ${file.md5}); downloading it again`);
    await rm(target, { force: true });
  }
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch;
  const failures: Failure[] = [];
  for (const mirror of MNIST_MIRRORS) {
    const url = mirror + file.name;
    const tmp = tempPathFor(target);
    try {
      const failure = await downloadOnce(url, file, tmp, fetchImpl, onProgress);
      if (failure) {
        failures.push(failure);
        continue;
      }
      try {
        await commitTemp(tmp, target);
      } catch (e) {
        failures.push({ url, kind: 'io', detail: errnoCode(e) ?? errMessage(e) });
        continue;
      }
      onProgress(`downloaded ${file.name} (md5 verified)`);
      return target;
    } finally {
      // After a successful rename this is a no-op; otherwise it removes partial or unverified bytes.
      await rm(tmp, { force: true });
    }
  }
  throw failureError(file, dir, failures);
}
